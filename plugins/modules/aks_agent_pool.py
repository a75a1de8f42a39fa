#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_agent_pool
short_description: Create, update or delete a node pool of an AKS cluster, GPU pools included
version_added: 0.1.0
description:
  - Ensures a node pool with the given VM size, node count or autoscaler bounds, taints, labels, mode,
    OS SKU, spot priority and GPU settings.
  - For NVIDIA GPU sizes, O(gpu_management_mode=Managed) asks AKS to install and manage the driver,
    device plugin and DCGM exporter (the managed GPU experience). With an O(api_version) that has
    C(gpuProfile.nvidia.managementMode) (stable 2026-08-01 and later) the field is set; with older
    ones the preview tag C(EnableManagedGPUExperience=true) is. Either way the subscription needs the
    preview feature C(Microsoft.ContainerService/ManagedGPUExperiencePreview)
    (M(airgap.aks_inference.feature_registration)).
  - What AKS fixes when a pool is created (VM size, OS SKU, subnet, max pods, OS disk, zones, spot
    priority and eviction policy, GPU driver and management mode) fails with a message naming the
    option, unless O(recreate=true), which deletes the pool and creates it again.
  - With the autoscaler on, O(count) is only used to create the pool; afterwards the autoscaler owns it.
  - Refused before any request - GPU settings on a VM size without a GPU, O(min_count) above
    O(max_count), a taint that is not C(key=value:Effect), spot settings without O(priority=Spot).
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  cluster_name:
    description: Name of the cluster.
    type: str
    required: true
  name:
    description: Name of the pool (a lowercase letter, then up to 11 lowercase letters or digits).
    type: str
    required: true
  vm_size:
    description: VM size of the nodes, for example V(Standard_NC24ads_A100_v4). Required to create the pool.
    type: str
  count:
    description: Number of nodes; with the autoscaler, the number to start with.
    type: int
  enable_auto_scaling:
    description: Run the cluster autoscaler on the pool between O(min_count) and O(max_count).
    type: bool
  min_count:
    description: Autoscaler lower bound.
    type: int
  max_count:
    description: Autoscaler upper bound.
    type: int
  taints:
    description: Node taints, each C(key=value:Effect) with Effect V(NoSchedule), V(PreferNoSchedule) or V(NoExecute).
    type: list
    elements: str
  labels:
    description: Node labels (the whole set).
    type: dict
  mode:
    description: V(System) pools run system pods; a cluster keeps at least one.
    type: str
    choices: [System, User]
  os_sku:
    description: Node OS. Cannot change after creation.
    type: str
    choices: [Ubuntu, Ubuntu2204, Ubuntu2404, AzureLinux, AzureLinux3]
  max_pods:
    description: Maximum pods per node. Cannot change after creation.
    type: int
  os_disk_size_gb:
    description: OS disk size. Cannot change after creation.
    type: int
  os_disk_type:
    description: OS disk type. Cannot change after creation.
    type: str
    choices: [Managed, Ephemeral]
  availability_zones:
    description: Availability zones. Cannot change after creation.
    type: list
    elements: str
  vnet_subnet_id:
    description: Subnet of the nodes; defaults to the cluster's node subnet. Cannot change after creation.
    type: str
  orchestrator_version:
    description:
      - Kubernetes version of the nodes; unset means what they run. Only goes up when asked, one minor
        at a time and never beyond the control plane.
    type: str
  priority:
    description: V(Spot) for spot virtual machines (evictable, cheaper). Cannot change after creation.
    type: str
    choices: [Regular, Spot]
  eviction_policy:
    description: What happens to evicted spot nodes. Only with O(priority=Spot).
    type: str
    choices: [Delete, Deallocate]
  spot_max_price:
    description: Highest price per hour for spot nodes; V(-1) pays up to the on-demand price. Only with O(priority=Spot).
    type: float
  gpu_driver:
    description: Whether AKS installs the GPU driver (V(Install)) or leaves it to you (V(None)). Cannot change after creation.
    type: str
    choices: [Install, None]
  gpu_management_mode:
    description:
      - V(Managed) turns on the managed NVIDIA GPU experience (driver, device plugin, DCGM exporter kept
        up to date by AKS). Cannot change after creation.
    type: str
    choices: [Managed, Unmanaged]
  recreate:
    description:
      - When a setting AKS fixes at creation differs, delete the pool and create it again instead of failing.
      - The nodes and the pods on them go away; the cluster needs another pool for its system pods.
    type: bool
    default: false
  api_version:
    description: ARM api-version of Microsoft.ContainerService to speak.
    type: str
    default: "2026-08-01"
  tags:
    description: Tags of the node pool (carried to its virtual machine scale set). Left as they are when unset.
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags). Only applies when O(tags) is set.
    type: bool
    default: true
  state:
    description: Whether the pool should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Managed NVIDIA A100 pool for inference, tainted for GPU workloads only
  airgap.aks_inference.aks_agent_pool:
    resource_group: rg-llm-isolated
    cluster_name: aks-llm
    name: gpu
    vm_size: Standard_NC24ads_A100_v4
    enable_auto_scaling: true
    count: 1
    min_count: 1
    max_count: 2
    taints: [sku=gpu:NoSchedule]
    labels: {workload: llm-inference}
    gpu_driver: Install
    gpu_management_mode: Managed
    wait_timeout: 2400

- name: Same pool on an api-version without gpuProfile.nvidia (preview tag instead)
  airgap.aks_inference.aks_agent_pool:
    resource_group: rg-llm-isolated
    cluster_name: aks-llm
    name: gpu
    vm_size: Standard_NC24ads_A100_v4
    count: 1
    taints: [sku=gpu:NoSchedule]
    gpu_management_mode: Managed
    api_version: "2025-10-01"

- name: Spot GPU pool that may scale to zero
  airgap.aks_inference.aks_agent_pool:
    resource_group: rg-llm-isolated
    cluster_name: aks-llm
    name: gpuspot
    vm_size: Standard_NC24ads_A100_v4
    priority: Spot
    eviction_policy: Delete
    enable_auto_scaling: true
    count: 0
    min_count: 0
    max_count: 2
    taints: [sku=gpu:NoSchedule]
"""

RETURN = r"""
id:
  description: Resource id of the node pool.
  returned: always
  type: str
recreated:
  description: Whether the pool was (or, in check mode, would be) deleted and created again.
  returned: always
  type: bool
managed_gpu:
  description: How the managed GPU experience is requested - V(field), V(tag) or V(none).
  returned: always
  type: str
provisioning_state:
  description: Provisioning state of the pool.
  returned: always
  type: str
state:
  description: The node pool as Azure reports it (empty when absent).
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import copy

from ansible_collections.airgap.aks_inference.plugins.module_utils import aks, azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable, prune_none

P = "properties."
# ARM path -> option, for what AKS fixes when the pool is created.
IMMUTABLE = (
    (P + "vmSize", "vm_size"),
    (P + "osSKU", "os_sku"),
    (P + "maxPods", "max_pods"),
    (P + "osDiskSizeGB", "os_disk_size_gb"),
    (P + "osDiskType", "os_disk_type"),
    (P + "availabilityZones", "availability_zones"),
    (P + "vnetSubnetID", "vnet_subnet_id"),
    (P + "scaleSetPriority", "priority"),
    (P + "scaleSetEvictionPolicy", "eviction_policy"),
    (P + "gpuProfile.driver", "gpu_driver"),
    (P + "gpuProfile.nvidia.managementMode", "gpu_management_mode"),
)


def _get(body, path):
    node = body
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def managed_state(body):
    """``"Managed"`` when a pool body shows the managed GPU experience (field or tag), else ``"Unmanaged"``."""
    props = (body or {}).get("properties") or {}
    nvidia = ((props.get("gpuProfile") or {}).get("nvidia") or {})
    tag = str((props.get("tags") or {}).get(aks.MANAGED_GPU_TAG, "")).lower()
    return "Managed" if nvidia.get("managementMode") == "Managed" or tag == "true" else "Unmanaged"


class AgentPool(ArmResource):
    resource_type = "Microsoft.ContainerService/managedClusters/agentPools"
    has_tags = False
    writable_top_level = ("properties",)
    read_only_properties = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")
    required_on_create = ("vm_size",)

    def __init__(self, module):
        super().__init__(module)
        p = module.params
        self.api_version = p.get("api_version") or aks.DEFAULT_API_VERSION
        self.creating = False
        self.version_transition = None
        tags_kind = "dict" if p.get("tags") is not None and p.get("purge_tags", True) else "subset"
        self.fields = FieldTable({
            P + "vmSize": Field("ci", updatable=False),
            P + "mode": Field("ci"),
            P + "osSKU": Field("ci", updatable=False),
            P + "maxPods": Field("exact", updatable=False),
            P + "osDiskSizeGB": Field("exact", updatable=False),
            P + "osDiskType": Field("ci", updatable=False),
            P + "availabilityZones": Field("set", updatable=False),
            P + "vnetSubnetID": Field("id", updatable=False),
            P + "scaleSetPriority": Field("ci", updatable=False),
            P + "scaleSetEvictionPolicy": Field("ci", updatable=False),
            P + "nodeTaints": Field("set"),
            P + "nodeLabels": Field("dict"),
            P + "tags": Field(tags_kind),
            P + "gpuProfile.driver": Field("ci", updatable=False),
            P + "gpuProfile.nvidia.managementMode": Field("ci", updatable=False),
        })

    def resource_id(self):
        p = self.params
        return provider_id(self.module.subscription_id, p["resource_group"], self.resource_type, p["cluster_name"],
                           p["name"])

    def describe(self):
        return "node pool %s of AKS cluster %s" % (self.params["name"], self.params["cluster_name"])

    @property
    def field_style(self):
        return aks.managed_gpu_field_supported(self.api_version)

    # -- before any request ---------------------------------------------------------------
    def validate(self):
        p = self.params
        check_name("cluster_name", p["cluster_name"], aks.CLUSTER_NAME_RE, "an AKS cluster name")
        aks.check_api_version(p.get("api_version"))
        if p.get("orchestrator_version") is not None:
            aks.parse_version(p["orchestrator_version"], "orchestrator_version")
        problems = aks.pool_problems(p)
        check_name("name", p["name"], aks.LINUX_POOL_NAME_RE,
                   "a Linux node pool name (a lowercase letter, then up to 11 lowercase letters or digits)")
        if p.get("vnet_subnet_id") and not aks.RESOURCE_ID_RE.match(p["vnet_subnet_id"]):
            problems.append("vnet_subnet_id: %r is not a resource id" % p["vnet_subnet_id"])
        for key in (p.get("tags") or {}):
            if key == aks.MANAGED_GPU_TAG:
                problems.append("tags: %s is set through gpu_management_mode=Managed, not as a tag" % key)
        if p["state"] == "present":
            aks.raise_first(problems)

    def before_create(self, client):
        super().before_create(client)
        self.creating = True

    # -- shapes ---------------------------------------------------------------------------
    def desired(self):
        p = self.params
        autoscale = p.get("enable_auto_scaling")
        props = {
            "vmSize": p.get("vm_size"),
            "count": p.get("count") if self.creating or not autoscale else None,
            "enableAutoScaling": autoscale,
            "minCount": p.get("min_count"),
            "maxCount": p.get("max_count"),
            "nodeTaints": list(p["taints"]) if p.get("taints") is not None else None,
            "nodeLabels": dict((str(k), str(v)) for k, v in p["labels"].items()) if p.get("labels") is not None
            else None,
            "mode": p.get("mode"),
            "osSKU": p.get("os_sku"),
            "maxPods": p.get("max_pods"),
            "osDiskSizeGB": p.get("os_disk_size_gb"),
            "osDiskType": p.get("os_disk_type"),
            "availabilityZones": list(p["availability_zones"]) if p.get("availability_zones") is not None else None,
            "vnetSubnetID": p.get("vnet_subnet_id"),
            "orchestratorVersion": p.get("orchestrator_version"),
            "scaleSetPriority": p.get("priority"),
            "scaleSetEvictionPolicy": p.get("eviction_policy"),
            "spotMaxPrice": p.get("spot_max_price"),
            "gpuProfile": {"driver": p.get("gpu_driver"),
                           "nvidia": {"managementMode": p.get("gpu_management_mode")}},
            "tags": dict((str(k), str(v)) for k, v in p["tags"].items()) if p.get("tags") is not None else None,
        }
        if self.creating:
            props.setdefault("osType", "Linux")
            props["mode"] = props["mode"] or "User"
        return {"properties": props}

    def normalize(self, body):
        """The GET body in the comparable shape.

        The managed GPU experience shows as ``gpuProfile.nvidia.managementMode`` whichever way AKS
        reports it (field or preview tag); the spot taint and label AKS adds itself are left out.
        """
        out = copy.deepcopy(body)
        props = out.setdefault("properties", {})
        managed = managed_state(body)
        gpu = props.setdefault("gpuProfile", {})
        gpu["nvidia"] = dict(gpu.get("nvidia") or {}, managementMode=managed)
        tags = dict(props.get("tags") or {})
        tags.pop(aks.MANAGED_GPU_TAG, None)
        props["tags"] = tags
        if str(props.get("scaleSetPriority", "")).lower() == "spot":
            props["nodeTaints"] = [t for t in props.get("nodeTaints") or [] if t != aks.SPOT_TAINT]
            labels = dict(props.get("nodeLabels") or {})
            labels.pop(aks.SPOT_LABEL[0], None)
            props["nodeLabels"] = labels
        props.setdefault("nodeTaints", [])
        props.setdefault("nodeLabels", {})
        running = props.get("currentOrchestratorVersion") or props.get("orchestratorVersion")
        wanted = self.params.get("orchestrator_version")
        if self.params["state"] == "present":
            if wanted and running:
                self.version_transition = aks.check_version_change(wanted, running, "orchestrator_version",
                                                                   "node pool %s" % self.params["name"])
                if self.version_transition == "same":
                    props["orchestratorVersion"] = wanted
            if not self.params.get("recreate"):
                self.check_transition(out)
        return out

    def conflicts(self, normalized):
        """(option, path, actual) of what differs but AKS fixes at creation."""
        comparison = self.fields.compare(prune_none(self.desired()), normalized)
        return [(option, path, _get(normalized, path)) for path, option in IMMUTABLE if path in comparison.immutable]

    def check_transition(self, normalized):
        p = self.params
        size = (normalized.get("properties") or {}).get("vmSize")
        if not p.get("vm_size") and (p.get("gpu_driver") or p.get("gpu_management_mode")) \
                and not aks.is_gpu_vm_size(size):
            field = "gpu_driver" if p.get("gpu_driver") else "gpu_management_mode"
            raise InputError(field, "GPU settings on node pool %s, whose VM size %s has no GPU" % (p["name"], size))
        found = self.conflicts(normalized)
        if found:
            option, path, actual = found[0]
            raise InputError(option, "cannot change on the existing node pool %s of cluster %s (AKS fixes %s at "
                                     "creation; it is %r); set recreate=true to delete the pool and create it again"
                             % (p["name"], p["cluster_name"], path.split(".", 1)[1], actual))

    def to_body(self, desired, current):
        body = super().to_body(desired, self._raw_view(current))
        props = body.setdefault("properties", {})
        p = self.params
        if current is not None and self.version_transition in (None, "same"):
            stored = (current.get("properties") or {}).get("orchestratorVersion")
            if stored:
                props["orchestratorVersion"] = stored
        gpu = props.get("gpuProfile") or {}
        managed = p.get("gpu_management_mode") == "Managed" or (
            p.get("gpu_management_mode") is None and managed_state(current) == "Managed")
        if not self.field_style:
            gpu.pop("nvidia", None)
        elif not (gpu.get("nvidia") or {}).get("managementMode"):
            gpu.pop("nvidia", None)
        if gpu:
            props["gpuProfile"] = gpu
        else:
            props.pop("gpuProfile", None)
        tags = dict(props.get("tags") or {})
        old_tags = ((current or {}).get("properties") or {}).get("tags") or {}
        if (managed and not self.field_style) or aks.MANAGED_GPU_TAG in old_tags:
            tags[aks.MANAGED_GPU_TAG] = old_tags.get(aks.MANAGED_GPU_TAG, "true")
        if tags:
            props["tags"] = tags
        else:
            props.pop("tags", None)
        return body

    @staticmethod
    def _raw_view(current):
        """The GET body without what the module writes itself (the GPU tag is re-added in to_body)."""
        if current is None:
            return None
        view = copy.deepcopy(current)
        props = view.get("properties") or {}
        if isinstance(props.get("tags"), dict):
            props["tags"] = dict((k, v) for k, v in props["tags"].items() if k != aks.MANAGED_GPU_TAG)
        return view

    def result(self, body):
        out = super().result(body)
        if body:
            out.pop("location", None)
            out.pop("tags", None)
        return out


def run(module):
    pool = AgentPool(module)
    p = module.params
    recreated = False
    if p["state"] == "present" and p["recreate"]:
        pool.validate()
        module.check_settings()
        client = module.client()
        rid = pool.resource_id()
        current = client.get(rid, pool.api_version)
        found = pool.conflicts(pool.normalize(current)) if current is not None else []
        if found:
            recreated = True
            if module.check_mode:
                after = pool.fields.overlay(pool.normalize(current), prune_none(pool.desired()))
                return {"changed": True, "recreated": True, "id": rid, "managed_gpu": _style(pool),
                        "provisioning_state": azure_wait.provisioning_state(current),
                        "state": pool.result(current), "recreate_because": [option for option, _p, _a in found],
                        "diff": {"before": pool.normalize(current), "after": after}}
            poll = p.get("poll_interval") or azure_wait.DEFAULT_POLL
            response = client.delete(rid, pool.api_version)
            what = "delete " + pool.describe() + " to recreate it"
            if response is not None:
                azure_wait.wait_for_operation(client, response, module.deadline(), what, poll=poll)
            azure_wait.wait_for_absent(client, rid, pool.api_version, module.deadline(), what, poll=poll)
            pool = AgentPool(module)
    result = ensure(module, pool)
    if recreated:
        result["changed"] = True
    result["recreated"] = recreated
    result["managed_gpu"] = _style(pool)
    result["provisioning_state"] = (result.get("state") or {}).get("provisioning_state")
    return result


def _style(pool):
    if pool.params.get("gpu_management_mode") != "Managed":
        return "none"
    return "field" if pool.field_style else "tag"


def main():
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            cluster_name=dict(type="str", required=True),
            name=dict(type="str", required=True),
            vm_size=dict(type="str"),
            count=dict(type="int"),
            enable_auto_scaling=dict(type="bool"),
            min_count=dict(type="int"),
            max_count=dict(type="int"),
            taints=dict(type="list", elements="str"),
            labels=dict(type="dict"),
            mode=dict(type="str", choices=["System", "User"]),
            os_sku=dict(type="str", choices=["Ubuntu", "Ubuntu2204", "Ubuntu2404", "AzureLinux", "AzureLinux3"]),
            max_pods=dict(type="int"),
            os_disk_size_gb=dict(type="int"),
            os_disk_type=dict(type="str", choices=["Managed", "Ephemeral"]),
            availability_zones=dict(type="list", elements="str"),
            vnet_subnet_id=dict(type="str"),
            orchestrator_version=dict(type="str"),
            priority=dict(type="str", choices=["Regular", "Spot"]),
            eviction_policy=dict(type="str", choices=["Delete", "Deallocate"]),
            spot_max_price=dict(type="float"),
            gpu_driver=dict(type="str", choices=["Install", "None"]),
            gpu_management_mode=dict(type="str", choices=["Managed", "Unmanaged"]),
            recreate=dict(type="bool", default=False),
            api_version=dict(type="str", default=aks.DEFAULT_API_VERSION),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
