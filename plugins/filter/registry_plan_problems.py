# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: registry_plan_problems
short_description: Problems of a private container registry plan
version_added: 0.1.0
description:
  - Checks the input of the container_registry role before anything is sent to Azure; returns a list of
    problems, each starting with the name of the variable at fault (empty when the plan is sound).
  - "Checks: a Premium SKU when a private endpoint is configured (and for public access disabled, zone
    redundancy, data endpoints); cache rule names, upstreams, wildcards, the exact C(aks-managed-mcr)
    mapping, overlaps (with each other and the mandatory rule), the 1,000-rule limit and credential set
    references; credential set login servers and secrets (names of secrets the role writes, or Key Vault
    secret URIs, sovereign clouds included); image references of imports; the Key Vault and secret names;
    principal ids."
  - Secrets never enter the plan, only their names.
options:
  _input:
    description: The plan; the role's variables without the C(container_registry_) prefix.
    type: dict
    required: true
  prefix:
    description: Prefix of the variable names in the problems.
    type: str
    default: container_registry_
"""

EXAMPLES = r"""
- name: Refuse a bad registry plan before any request
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | first | default('') }}"
  vars:
    problems: >-
      {{ {'name': 'acrllmisolated', 'sku': 'Standard', 'private_endpoint': true}
         | airgap.aks_inference.registry_plan_problems }}
"""

RETURN = r"""
_value:
  description: Problems, each naming its variable; empty when the plan is sound.
  type: list
  elements: str
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.registry_plan import plan_problems


def registry_plan_problems(plan, prefix="container_registry_"):
    return plan_problems(dict(plan or {}), prefix)


class FilterModule:
    def filters(self):
        return {"registry_plan_problems": registry_plan_problems}
