# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aks_cluster_problems
short_description: Problems of the input of the aks_cluster role, before any request
version_added: 0.1.0
description:
  - Checks the settings of a network-isolated AKS cluster and its GPU node pool the way AKS would, and
    returns the problems, each starting with the name of the role variable at fault (empty when sound).
  - Covers what AKS refuses (an OS upgrade channel or Kubernetes version a network-isolated cluster does
    not support) and bad input (autoscaler bounds, taints that are not C(key=value:Effect), GPU settings
    on a VM size without a GPU, malformed ids and CIDRs, unresolved network or registry ids).
options:
  _input:
    description:
      - The settings, keyed by role variable name - C(aks_cluster_name), C(aks_cluster_kubernetes_version),
        C(aks_cluster_node_os_upgrade_channel), C(aks_cluster_network) (dict), C(aks_cluster_system_pool)
        (dict), C(aks_cluster_gpu_pool) (dict), C(aks_cluster_gpu_pool_enabled), C(aks_cluster_resource_group),
        C(aks_cluster_location), C(aks_cluster_node_subnet_id), C(aks_cluster_apiserver_subnet_id),
        C(aks_cluster_container_registry_id), C(aks_cluster_kubeconfig_path).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad input before any request
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | first | default('') }}"
  vars:
    problems: "{{ {'aks_cluster_gpu_pool': {'vm_size': 'Standard_D4ds_v5', 'gpu_driver': 'Install'}}
                  | airgap.aks_inference.aks_cluster_problems }}"
"""

RETURN = r"""
_value:
  description: Problems, each naming its role variable; empty when the input is sound.
  type: list
  elements: str
"""

import re

from ansible_collections.airgap.aks_inference.plugins.module_utils import aks
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

MANAGED_GPU_MIN_VERSION = (1, 34)
IDENTITY_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
RESOLVED = (
    ("aks_cluster_resource_group", "the isolated_network fact (isolated_network.resource_group)"),
    ("aks_cluster_location", "the isolated_network fact (isolated_network.location)"),
    ("aks_cluster_node_subnet_id", "the isolated_network fact (isolated_network.subnet_ids.nodes)"),
    ("aks_cluster_apiserver_subnet_id", "the isolated_network fact (isolated_network.subnet_ids.apiserver)"),
    ("aks_cluster_container_registry_id", "the container_registry fact (container_registry.id)"),
)


def aks_cluster_problems(settings):
    s = dict(settings or {})
    problems = []
    for var, source in RESOLVED:
        if not s.get(var):
            problems.append("%s: is empty and %s is not set; run the stage that provides it first, or set the "
                            "variable" % (var, source))
        elif var.endswith("_id") and not aks.RESOURCE_ID_RE.match(str(s[var])):
            problems.append("%s: %r is not a resource id" % (var, s[var]))
    name = s.get("aks_cluster_name")
    if name is not None and not aks.CLUSTER_NAME_RE.match(str(name)):
        problems.append("aks_cluster_name: %r is not a cluster name (1-63 letters, digits, - and _)" % (name,))
    for var in ("aks_cluster_control_plane_identity_name", "aks_cluster_kubelet_identity_name"):
        if s.get(var) is not None and not IDENTITY_NAME_RE.match(str(s[var])):
            problems.append("%s: %r is not an identity name (3-128 letters, digits, - and _)" % (var, s[var]))
    version = s.get("aks_cluster_kubernetes_version")
    gpu = dict(s.get("aks_cluster_gpu_pool") or {})
    gpu_enabled = str(s.get("aks_cluster_gpu_pool_enabled", True)).lower() in ("true", "1", "yes", "on")
    if version:
        try:
            aks.parse_version(version)
        except InputError as err:
            problems.append("aks_cluster_kubernetes_version: %s" % err.problem)
            version = None
    for problem in aks.isolation_problems("none", "Cache", s.get("aks_cluster_container_registry_id") or "x",
                                          s.get("aks_cluster_node_os_upgrade_channel"), version):
        problems.append(problem.replace("node_os_upgrade_channel:", "aks_cluster_node_os_upgrade_channel:")
                        .replace("kubernetes_version:", "aks_cluster_kubernetes_version:"))
    if version and gpu_enabled and gpu.get("gpu_management_mode") == "Managed" \
            and not aks.version_at_least(version, MANAGED_GPU_MIN_VERSION):
        problems.append("aks_cluster_kubernetes_version: the managed GPU experience on a network-isolated cluster "
                        "needs Kubernetes %d.%d or later, got %s" % (MANAGED_GPU_MIN_VERSION + (version,)))
    network = dict(s.get("aks_cluster_network") or {})
    for problem in aks.network_problems("azure", "overlay", network.get("pod_cidr"), network.get("service_cidr"),
                                        network.get("dns_service_ip")):
        problems.append("aks_cluster_network." + problem)
    system = dict(s.get("aks_cluster_system_pool") or {}, mode="System")
    if not system.get("vm_size"):
        problems.append("aks_cluster_system_pool.vm_size: is required")
    problems += aks.pool_problems(system, prefix="aks_cluster_system_pool.")
    if gpu_enabled:
        if not gpu.get("vm_size"):
            problems.append("aks_cluster_gpu_pool.vm_size: is required")
        elif not aks.is_gpu_vm_size(gpu["vm_size"]):
            problems.append("aks_cluster_gpu_pool.vm_size: %s has no GPU (GPU sizes are the N-series, for example "
                            "Standard_NC24ads_A100_v4)" % gpu["vm_size"])
        problems += aks.pool_problems(dict(gpu, mode=gpu.get("mode", "User")), prefix="aks_cluster_gpu_pool.")
        if gpu.get("name") and system.get("name") and gpu["name"] == system["name"]:
            problems.append("aks_cluster_gpu_pool.name: %s is the system pool's name" % gpu["name"])
    if "aks_cluster_kubeconfig_path" in s and not s.get("aks_cluster_kubeconfig_path"):
        problems.append("aks_cluster_kubeconfig_path: is required")
    return problems


class FilterModule:
    def filters(self):
        return {"aks_cluster_problems": aks_cluster_problems}
