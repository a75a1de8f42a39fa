# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: jumpbox_vm_subnet_problems
short_description: Refuse a jump-box subnet that Azure shows to be a cluster subnet
version_added: 0.1.0
description:
  - Takes the registered result of the C(airgap.aks_inference.subnet) module run in check mode on the
    jump-box subnet (a read, nothing is written) and returns the problems, each naming C(jumpbox_vm_subnet).
  - A subnet delegated to C(Microsoft.ContainerService/managedClusters) is refused (it is an API server subnet);
    so is a subnet without default outbound access that is one of the node or API server subnets.
options:
  _input:
    description: The registered result of the subnet module.
    type: dict
    required: true
  inputs:
    description: What the P(airgap.aks_inference.jumpbox_vm_inputs#filter) filter returned.
    type: dict
    required: true
  check_mode:
    description: Whether the play runs in check mode (a subnet that does not exist yet is then accepted).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse a cluster subnet
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | first | default('') }}"
  vars:
    problems: "{{ subnet_read | airgap.aks_inference.jumpbox_vm_subnet_problems(inputs, ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: Problems, each naming jumpbox_vm_subnet; empty when the subnet may get the NAT gateway.
  type: list
  elements: str
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.jumpbox_inputs import subnet_problems


def jumpbox_vm_subnet_problems(result, inputs, check_mode=False):
    return subnet_problems(result, inputs, check_mode)


class FilterModule:
    def filters(self):
        return {"jumpbox_vm_subnet_problems": jumpbox_vm_subnet_problems}
