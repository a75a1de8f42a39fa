# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: jumpbox_vm_inputs
short_description: Resolve and check the input of the jumpbox_vm role
version_added: 0.1.0
description:
  - Works out the resource group, region, jump-box subnet and cluster subnets of the GPU jump box from the
    role variables, the C(isolated_network) fact when there is one, and the C(isolated_network_*) variables.
  - Checks everything that needs no request and returns the problems, each starting with the variable at
    fault, for example a jump-box subnet that is a node or API server subnet, a size that is not a GPU size,
    a missing SSH public key, or a private key given instead of the public one (never echoed).
options:
  _input:
    description:
      - The role variables by name (C(jumpbox_vm_*)), plus C(isolated_network) (the fact, or an empty mapping)
        and C(fallback) (C(resource_group), C(location), C(virtual_network), C(jumpbox), C(nodes), C(apiserver)
        taken from the C(isolated_network_*) variables).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad input before any request
  ansible.builtin.assert:
    that: inputs.problems | length == 0
    fail_msg: "{{ inputs.problems | first | default('') }}"
  vars:
    inputs: "{{ {'jumpbox_vm_subnet': 'snet-nodes', 'jumpbox_vm_ssh_public_key': ''} | airgap.aks_inference.jumpbox_vm_inputs }}"
"""

RETURN = r"""
_value:
  description: C(problems) (list of str), C(resource_group), C(location), C(subnet) and C(cluster_subnets).
  type: dict
"""

from ansible_collections.airgap.aks_inference.plugins.module_utils.jumpbox_inputs import resolve


def jumpbox_vm_inputs(variables):
    return resolve(variables)


class FilterModule:
    def filters(self):
        return {"jumpbox_vm_inputs": jumpbox_vm_inputs}
