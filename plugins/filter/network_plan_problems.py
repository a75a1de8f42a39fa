# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: network_plan_problems
short_description: Problems of a virtual network address plan
version_added: 0.1.0
description:
  - Checks an address plan before anything is sent to Azure; returns a list of problems, each
    starting with the name of the variable at fault (empty when the plan is sound).
  - Checks that every prefix is a CIDR without host bits, subnets lie inside the address space,
    do not overlap, and meet their minimum size.
options:
  _input:
    description: Address space as a mapping of variable name to CIDR.
    type: dict
    required: true
  subnets:
    description: Subnets as a mapping of variable name to CIDR.
    type: dict
    required: true
  minimum:
    description: Mapping of variable name to the largest allowed prefix length (28 means at least a /28).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Refuse a bad plan before any request
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | first | default('') }}"
  vars:
    problems: >-
      {{ {'address_space[0]': '10.40.0.0/16'}
         | airgap.aks_inference.network_plan_problems({'nodes.prefix': '10.40.0.0/22'}, {'apiserver.prefix': 28}) }}
"""

RETURN = r"""
_value:
  description: Problems, each naming its variable; empty when the plan is sound.
  type: list
  elements: str
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.cidr import validate_plan


def network_plan_problems(address_space, subnets, minimum=None):
    minimum = dict((k, (int(v), "this subnet")) for k, v in (minimum or {}).items())
    return validate_plan(list((address_space or {}).items()), list((subnets or {}).items()), minimum)


class FilterModule:
    def filters(self):
        return {"network_plan_problems": network_plan_problems}
