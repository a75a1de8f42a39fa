#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_cluster
short_description: Create, update or delete an AKS managed cluster, network isolated if asked
version_added: 0.1.0
description:
  - Ensures an Azure Kubernetes Service cluster with a bring-your-own node subnet, user-assigned
    control-plane and kubelet identities, a private API server with VNet integration and, for a
    network-isolated cluster, O(outbound_type=none) with the node bootstrap artifacts pulled from a
    private registry's artifact cache (O(bootstrap_artifact_source=Cache)).
  - An AKS PUT replaces the whole cluster, so the module reads the cluster and sends back what it does
    not manage as it is; in particular the agent pools (also those managed with
    M(airgap.aks_inference.aks_agent_pool)) go back unchanged. O(system_pool) is used to create the
    cluster only; change pools with M(airgap.aks_inference.aks_agent_pool).
  - The Kubernetes version only goes up when O(kubernetes_version) asks for a higher version than the
    cluster runs; V(1.34) matches a cluster running 1.34.2. AKS upgrades one minor version at a time
    and never downgrades; both are refused before any request.
  - Refused before any request, naming the option, because AKS refuses them - O(outbound_type=none)
    without O(bootstrap_artifact_source=Cache); switching the artifact source from V(Cache) back to
    V(Direct); a O(node_os_upgrade_channel) other than V(NodeImage) or V(None), or a Kubernetes
    version below 1.30, on a network-isolated cluster; changing what AKS fixes at creation (network
    plugin and CIDRs, DNS prefix, private cluster, API server subnet, identities, location).
  - Creating a cluster takes about ten minutes. With O(wait=false) the module returns once AKS has
    accepted the request; the same task later with O(wait=true) waits for it to finish.
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  name:
    description: Name of the cluster (1-63 letters, digits, C(-) and C(_)).
    type: str
    required: true
  location:
    description: Azure region. Required to create the cluster; cannot change afterwards.
    type: str
  kubernetes_version:
    description:
      - Kubernetes version, V(MAJOR.MINOR) (AKS picks the newest patch) or V(MAJOR.MINOR.PATCH).
      - Unset means whatever the cluster runs (AKS's default when it is created).
      - A network-isolated cluster needs 1.30 or later; the managed GPU experience on one needs 1.34 or later.
    type: str
  dns_prefix:
    description: DNS prefix of the API server name. Defaults to O(name) when the cluster is created.
    type: str
  sku_tier:
    description: V(Free), V(Standard) (uptime SLA) or V(Premium) (long-term support).
    type: str
    choices: [Free, Standard, Premium]
  network_plugin:
    description: Network plugin. V(azure) when the cluster is created and nothing is set.
    type: str
    choices: [azure, kubenet, none]
  network_plugin_mode:
    description: V(overlay) for Azure CNI overlay, the default with V(azure) when the cluster is created.
    type: str
    choices: [overlay]
  pod_cidr:
    description: Pod CIDR of Azure CNI overlay; must not overlap the virtual network.
    type: str
  service_cidr:
    description: CIDR of Kubernetes services; must not overlap the virtual network.
    type: str
  dns_service_ip:
    description: Cluster DNS service address, inside O(service_cidr) and not its first address.
    type: str
  outbound_type:
    description:
      - How nodes reach out. V(none) makes the cluster network isolated (no load balancer, NAT gateway
        or route for egress); it needs O(bootstrap_artifact_source=Cache).
      - When the cluster is created with O(bootstrap_artifact_source=Cache) and nothing is set, V(none).
      - Once V(none), the module refuses to change it.
    type: str
    choices: [none, loadBalancer, userDefinedRouting, managedNATGateway, userAssignedNATGateway]
  node_subnet_id:
    description: Resource id of the subnet of the nodes of O(system_pool) (bring your own virtual network).
    type: str
  private_cluster:
    description: Whether the API server has no public endpoint. Cannot change after creation.
    type: bool
  apiserver_vnet_integration:
    description: Project the API server into O(apiserver_subnet_id) (API server VNet integration).
    type: bool
  apiserver_subnet_id:
    description:
      - Resource id of the API server subnet (at least a /28, used for nothing else). Required with
        O(apiserver_vnet_integration) and O(node_subnet_id). Cannot change once set.
    type: str
  private_dns_zone:
    description: V(system), V(none) or the resource id of a private DNS zone, for a private cluster.
    type: str
  disable_run_command:
    description: Turn off AKS run-command (which later stages of this collection use to apply manifests).
    type: bool
  bootstrap_artifact_source:
    description:
      - Where nodes get their bootstrap images. V(Cache) pulls them through the artifact cache of
        O(bootstrap_container_registry_id) (network isolated); V(Direct) from the Microsoft Artifact Registry.
      - A cluster can move from V(Direct) to V(Cache), never back.
    type: str
    choices: [Cache, Direct]
  bootstrap_container_registry_id:
    description:
      - Resource id of the Premium registry with private access and the C(aks-managed-mcr) cache rule
        (C(mcr.microsoft.com/*) to C(aks-managed-repository/*)). Required with O(bootstrap_artifact_source=Cache).
    type: str
  control_plane_identity:
    description:
      - Resource id of the user-assigned identity of the control plane. It needs Network Contributor on
        the node and API server subnets and Managed Identity Operator over O(kubelet_identity).
      - Cannot change after creation (through this module).
    type: str
  kubelet_identity:
    description:
      - The user-assigned identity the nodes use (to pull from the registry, with AcrPull). Needs
        O(control_plane_identity). Cannot change after creation (through this module).
    type: dict
    suboptions:
      resource_id:
        description: Resource id of the identity.
        type: str
        required: true
      client_id:
        description: Its client id (as M(airgap.aks_inference.user_assigned_identity) returns it).
        type: str
      object_id:
        description: Its principal (object) id.
        type: str
  system_pool:
    description:
      - The System node pool the cluster is created with. Used only to create the cluster; afterwards the
        pools the cluster has are sent back unchanged (use M(airgap.aks_inference.aks_agent_pool)).
      - Required to create the cluster.
    type: dict
    suboptions:
      name:
        description: Pool name (a lowercase letter, then up to 11 lowercase letters or digits).
        type: str
        default: system
      vm_size:
        description: VM size of the nodes.
        type: str
        required: true
      count:
        description: Number of nodes (the starting count with the autoscaler).
        type: int
      enable_auto_scaling:
        description: Run the cluster autoscaler on the pool.
        type: bool
      min_count:
        description: Autoscaler lower bound.
        type: int
      max_count:
        description: Autoscaler upper bound.
        type: int
      os_sku:
        description: V(Ubuntu), V(AzureLinux), ...
        type: str
      max_pods:
        description: Maximum pods per node.
        type: int
      availability_zones:
        description: Availability zones of the nodes.
        type: list
        elements: str
      os_disk_type:
        description: V(Managed) or V(Ephemeral).
        type: str
        choices: [Managed, Ephemeral]
      os_disk_size_gb:
        description: OS disk size in GB.
        type: int
  node_os_upgrade_channel:
    description:
      - How node OS images are kept current. A network-isolated cluster supports only V(NodeImage) and
        V(None) (the other channels download packages from the internet).
    type: str
    choices: [NodeImage, None, Unmanaged, SecurityPatch]
  disable_local_accounts:
    description: Turn off static (local) cluster credentials; needs O(enable_azure_rbac) or Entra ID integration.
    type: bool
  enable_azure_rbac:
    description:
      - V(true) turns on Entra ID integration with Azure RBAC for Kubernetes authorization.
      - V(false) asks for nothing; AKS cannot turn Entra ID integration off once it is on.
    type: bool
  api_version:
    description:
      - ARM api-version of Microsoft.ContainerService to speak. The default is the newest stable one;
        C(bootstrapProfile) and API server VNet integration need 2025-04-01 or later.
    type: str
    default: "2026-08-01"
  state:
    description: Whether the cluster should exist. Deleting it deletes its node pools.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - airgap.aks_inference.azure
  - airgap.aks_inference.azure.wait
  - airgap.aks_inference.azure.tags
  - airgap.aks_inference.azure.attributes
author:
  - airgap.aks_inference maintainers (@airgap-aks-inference)
"""

EXAMPLES = r"""
- name: Start creating a network-isolated cluster (about ten minutes) and carry on
  airgap.aks_inference.aks_cluster:
    resource_group: rg-llm-isolated
    name: aks-llm
    location: westeurope
    kubernetes_version: "1.34"
    outbound_type: none
    bootstrap_artifact_source: Cache
    bootstrap_container_registry_id: "{{ container_registry.id }}"
    private_cluster: true
    apiserver_vnet_integration: true
    apiserver_subnet_id: "{{ isolated_network.subnet_ids.apiserver }}"
    node_subnet_id: "{{ isolated_network.subnet_ids.nodes }}"
    control_plane_identity: "{{ control_plane.id }}"
    kubelet_identity:
      resource_id: "{{ kubelet.id }}"
      client_id: "{{ kubelet.client_id }}"
      object_id: "{{ kubelet.principal_id }}"
    node_os_upgrade_channel: NodeImage
    system_pool:
      vm_size: Standard_D4ds_v5
      count: 2
    wait: false

- name: Wait for it (same input, nothing is sent unless something differs)
  airgap.aks_inference.aks_cluster:
    resource_group: rg-llm-isolated
    name: aks-llm
    kubernetes_version: "1.34"
    wait: true
    wait_timeout: 3600

- name: Upgrade the control plane one minor version (explicitly)
  airgap.aks_inference.aks_cluster:
    resource_group: rg-llm-isolated
    name: aks-llm
    kubernetes_version: "1.35"
"""

RETURN = r"""
id:
  description: Resource id of the cluster.
  returned: always
  type: str
kubernetes_version:
  description: Kubernetes version the control plane runs (or will run).
  returned: when the cluster exists
  type: str
node_resource_group:
  description: Resource group AKS manages the nodes in.
  returned: when the cluster exists
  type: str
private_fqdn:
  description: Private FQDN of the API server (private clusters).
  returned: when the cluster exists
  type: str
kubelet_object_id:
  description: Principal id of the kubelet identity.
  returned: when the cluster exists
  type: str
provisioning_state:
  description: Provisioning state (C(Creating) after a create with O(wait=false)).
  returned: always
  type: str
state:
  description: The cluster as Azure reports it (empty when absent).
  returned: always
  type: dict
references:
  description:
    - What the cluster points at (node and API server subnets, bootstrap registry, identities and their
      principal ids); with O(state=absent), what the deleted cluster pointed at, for removing its role
      assignments. Empty when there was no cluster.
  returned: always
  type: dict
diff:
  description: Before and after of the managed properties.
  returned: always
  type: dict
"""

import copy

from ansible_collections.airgap.aks_inference.plugins.module_utils import aks
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import (
    ArmResource,
    AzureModule,
    check_name,
    ensure,
    provider_id,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.compare import Field, FieldTable, prune_none

NET = "properties.networkProfile."
API = "properties.apiServerAccessProfile."
POOL_READ_ONLY = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")

# ARM path -> option, for what AKS fixes at creation.
IMMUTABLE = (
    ("location", "location"),
    ("properties.dnsPrefix", "dns_prefix"),
    (NET + "networkPlugin", "network_plugin"),
    (NET + "networkPluginMode", "network_plugin_mode"),
    (NET + "podCidr", "pod_cidr"),
    (NET + "serviceCidr", "service_cidr"),
    (NET + "dnsServiceIP", "dns_service_ip"),
    (API + "enablePrivateCluster", "private_cluster"),
    (API + "subnetId", "apiserver_subnet_id"),
    (API + "privateDNSZone", "private_dns_zone"),
    ("identity.type", "control_plane_identity"),
    ("identity.userAssignedIdentities", "control_plane_identity"),
    ("properties.identityProfile.kubeletidentity.resourceId", "kubelet_identity"),
)


def _get(body, path):
    node = body
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


class ManagedCluster(ArmResource):
    resource_type = "Microsoft.ContainerService/managedClusters"
    api_version = aks.DEFAULT_API_VERSION
    required_on_create = ("location", "system_pool")
    read_only_properties = ("provisioningState", "powerState", "maxAgentPools", "currentKubernetesVersion",
                            "fqdn", "azurePortalFQDN", "privateFQDN", "resourceUID", "agentPoolProfiles")
    fields = FieldTable(
        {
            "location": Field("ci", updatable=False),
            "sku.tier": Field("ci"),
            "identity.type": Field("ci", updatable=False),
            # compared as the set of identity ids (the values are read-only principal/client ids)
            "identity.userAssignedIdentities": Field("ci_set", updatable=False),
            "properties.dnsPrefix": Field("ci", updatable=False),
            NET + "networkPlugin": Field("ci", updatable=False),
            NET + "networkPluginMode": Field("ci", updatable=False),
            NET + "podCidr": Field("cidr", updatable=False),
            NET + "serviceCidr": Field("cidr", updatable=False),
            NET + "dnsServiceIP": Field("exact", updatable=False),
            NET + "outboundType": Field("ci"),
            API + "enablePrivateCluster": Field("exact", updatable=False),
            API + "subnetId": Field("id", updatable=False),
            API + "privateDNSZone": Field("ci", updatable=False),
            "properties.bootstrapProfile.artifactSource": Field("ci"),
            "properties.bootstrapProfile.containerRegistryId": Field("id"),
            "properties.identityProfile.kubeletidentity.resourceId": Field("id", updatable=False),
            "properties.autoUpgradeProfile.nodeOSUpgradeChannel": Field("ci"),
        }
    )

    def __init__(self, module):
        super().__init__(module)
        self.api_version = self.params.get("api_version") or aks.DEFAULT_API_VERSION
        self.creating = False
        self.version_transition = None
        self.seen = {}

    def resource_id(self):
        return provider_id(self.module.subscription_id, self.params["resource_group"], self.resource_type,
                           self.params["name"])

    # -- before any request ---------------------------------------------------------------
    def validate(self):
        p = self.params
        check_name("name", p["name"], aks.CLUSTER_NAME_RE,
                   "a cluster name (1-63 letters, digits, - and _, starting and ending with a letter or digit)")
        check_name("dns_prefix", p.get("dns_prefix"), aks.DNS_PREFIX_RE,
                   "a DNS prefix (1-54 letters, digits and -, starting and ending with a letter or digit)")
        aks.check_api_version(p.get("api_version"))
        if p.get("kubernetes_version") is not None:
            aks.parse_version(p["kubernetes_version"])
        if p["state"] == "absent":
            return
        problems = aks.isolation_problems(p.get("outbound_type"), p.get("bootstrap_artifact_source"),
                                          p.get("bootstrap_container_registry_id"), p.get("node_os_upgrade_channel"),
                                          p.get("kubernetes_version"))
        problems += aks.network_problems(p.get("network_plugin"), p.get("network_plugin_mode"), p.get("pod_cidr"),
                                         p.get("service_cidr"), p.get("dns_service_ip"))
        for option in ("node_subnet_id", "apiserver_subnet_id", "control_plane_identity"):
            if p.get(option) and not aks.RESOURCE_ID_RE.match(p[option]):
                problems.append("%s: %r is not a resource id" % (option, p[option]))
        if p.get("kubelet_identity") and not p.get("control_plane_identity"):
            problems.append("control_plane_identity: is required with kubelet_identity (AKS accepts a custom "
                            "kubelet identity only with a user-assigned control-plane identity)")
        if p.get("apiserver_subnet_id") and not p.get("apiserver_vnet_integration"):
            problems.append("apiserver_vnet_integration: must be true with apiserver_subnet_id")
        if p.get("apiserver_vnet_integration") and p.get("node_subnet_id") and not p.get("apiserver_subnet_id"):
            problems.append("apiserver_subnet_id: is required with apiserver_vnet_integration on your own "
                            "virtual network (node_subnet_id)")
        if p.get("apiserver_subnet_id") and p.get("node_subnet_id") \
                and p["apiserver_subnet_id"].lower() == p["node_subnet_id"].lower():
            problems.append("apiserver_subnet_id: must be a subnet of its own, not the node subnet")
        if p.get("private_dns_zone") and p.get("private_cluster") is False:
            problems.append("private_dns_zone: only applies with private_cluster=true")
        if p.get("disable_local_accounts") and p.get("enable_azure_rbac") is False:
            problems.append("disable_local_accounts: needs Entra ID integration (enable_azure_rbac=true)")
        if p.get("system_pool"):
            pool = dict(p["system_pool"], mode="System")
            problems += aks.pool_problems(pool, prefix="system_pool.")
        aks.raise_first(problems)

    def before_create(self, client):
        super().before_create(client)
        self.creating = True

    # -- shapes ---------------------------------------------------------------------------
    def desired(self):
        p = self.params
        plugin = p.get("network_plugin") or ("azure" if self.creating else None)
        mode = p.get("network_plugin_mode") or ("overlay" if self.creating and plugin == "azure" else None)
        outbound = p.get("outbound_type")
        if outbound is None and self.creating and p.get("bootstrap_artifact_source") == "Cache":
            outbound = "none"
        props = {
            "kubernetesVersion": p.get("kubernetes_version"),
            "dnsPrefix": p.get("dns_prefix") or (p["name"] if self.creating else None),
            "networkProfile": {
                "networkPlugin": plugin,
                "networkPluginMode": mode,
                "podCidr": p.get("pod_cidr"),
                "serviceCidr": p.get("service_cidr"),
                "dnsServiceIP": p.get("dns_service_ip"),
                "outboundType": outbound,
            },
            "apiServerAccessProfile": {
                "enablePrivateCluster": p.get("private_cluster"),
                "enableVnetIntegration": p.get("apiserver_vnet_integration"),
                "subnetId": p.get("apiserver_subnet_id"),
                "privateDNSZone": p.get("private_dns_zone"),
                "disableRunCommand": p.get("disable_run_command"),
            },
            "bootstrapProfile": {
                "artifactSource": p.get("bootstrap_artifact_source"),
                "containerRegistryId": p.get("bootstrap_container_registry_id"),
            },
            "autoUpgradeProfile": {"nodeOSUpgradeChannel": p.get("node_os_upgrade_channel")},
            "disableLocalAccounts": p.get("disable_local_accounts"),
        }
        if p.get("enable_azure_rbac"):
            props["aadProfile"] = {"managed": True, "enableAzureRBAC": True}
        if p.get("kubelet_identity"):
            props["identityProfile"] = {"kubeletidentity": {"resourceId": p["kubelet_identity"]["resource_id"]}}
        body = {"location": p.get("location"), "properties": props}
        if p.get("sku_tier"):
            body["sku"] = {"name": "Base", "tier": p["sku_tier"]}
        if p.get("control_plane_identity"):
            body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": [p["control_plane_identity"]]}
        return body

    def normalize(self, body):
        self.seen = references(body)
        out = copy.deepcopy(body)
        identity = out.get("identity") or {}
        if identity:
            out["identity"] = {"type": identity.get("type"),
                               "userAssignedIdentities": list(identity.get("userAssignedIdentities") or {})}
        props = out.setdefault("properties", {})
        running = props.get("currentKubernetesVersion") or props.get("kubernetesVersion")
        wanted = self.params.get("kubernetes_version")
        if wanted and running and self.params["state"] == "present":
            self.version_transition = aks.check_version_change(wanted, running, what="cluster %s" % body.get("name"))
            if self.version_transition == "same":
                props["kubernetesVersion"] = wanted
        if self.params["state"] == "present":
            self.check_transition(out)
        return out

    def check_transition(self, actual):
        """Refuse, naming the option, what AKS will not do to an existing cluster."""
        p = self.params
        props = actual.get("properties") or {}
        source = (props.get("bootstrapProfile") or {}).get("artifactSource")
        if source == "Cache" and p.get("bootstrap_artifact_source") == "Direct":
            raise InputError("bootstrap_artifact_source", "cluster %s bootstraps from its registry cache (Cache); "
                                                          "AKS cannot switch it back to Direct" % p["name"])
        outbound = str((props.get("networkProfile") or {}).get("outboundType") or "")
        if outbound.lower() == "none" and p.get("outbound_type") not in (None, "none"):
            raise InputError("outbound_type", "cluster %s is network isolated (outbound type none); this collection "
                                              "does not open a way out (%s)" % (p["name"], p["outbound_type"]))
        isolated = outbound.lower() == "none" or source == "Cache"
        channel = p.get("node_os_upgrade_channel")
        if isolated and channel and channel not in aks.ISOLATED_OS_UPGRADE_CHANNELS:
            raise InputError("node_os_upgrade_channel", "cluster %s is network isolated; it supports only %s"
                             % (p["name"], " or ".join(aks.ISOLATED_OS_UPGRADE_CHANNELS)))
        desired = self.desired()
        comparison = self.fields.compare(prune_none(desired), actual)
        for path, option in IMMUTABLE:
            if path in comparison.immutable:
                raise InputError(option, "cannot change on the existing cluster %s (AKS fixes it at creation): "
                                         "%r is %r; delete and recreate the cluster to change it"
                                 % (p["name"], path.rsplit(".", maxsplit=1)[-1], _get(actual, path)))

    def to_body(self, desired, current):
        body = super().to_body(desired, current)
        props = body.setdefault("properties", {})
        p = self.params
        if current is not None:
            cur = current.get("properties") or {}
            if self.version_transition in (None, "same"):
                props["kubernetesVersion"] = cur.get("kubernetesVersion")
            props["agentPoolProfiles"] = [
                dict((k, v) for k, v in pool.items() if k not in POOL_READ_ONLY) for pool in cur.get("agentPoolProfiles")
                or []]
            if props.get("kubernetesVersion") is None:
                props.pop("kubernetesVersion", None)
        else:
            props["agentPoolProfiles"] = [self.system_pool_profile()]
        identity = (current or {}).get("identity")
        if p.get("control_plane_identity"):
            body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {p["control_plane_identity"]: {}}}
        elif identity:
            body["identity"] = {"type": identity.get("type")}
            if identity.get("userAssignedIdentities"):
                body["identity"]["userAssignedIdentities"] = dict((k, {}) for k in identity["userAssignedIdentities"])
        kubelet = p.get("kubelet_identity")
        if kubelet:
            entry = props.setdefault("identityProfile", {}).setdefault("kubeletidentity", {})
            entry["resourceId"] = kubelet["resource_id"]
            if kubelet.get("client_id"):
                entry["clientId"] = kubelet["client_id"]
            if kubelet.get("object_id"):
                entry["objectId"] = kubelet["object_id"]
        return body

    def system_pool_profile(self):
        pool = self.params["system_pool"]
        profile = {
            "name": pool["name"],
            "mode": "System",
            "osType": "Linux",
            "type": "VirtualMachineScaleSets",
            "vmSize": pool["vm_size"],
            "count": pool.get("count") if pool.get("count") is not None else pool.get("min_count") or 1,
            "enableAutoScaling": pool.get("enable_auto_scaling"),
            "minCount": pool.get("min_count"),
            "maxCount": pool.get("max_count"),
            "osSKU": pool.get("os_sku"),
            "maxPods": pool.get("max_pods"),
            "availabilityZones": pool.get("availability_zones"),
            "osDiskType": pool.get("os_disk_type"),
            "osDiskSizeGB": pool.get("os_disk_size_gb"),
            "vnetSubnetID": self.params.get("node_subnet_id"),
            "orchestratorVersion": self.params.get("kubernetes_version"),
        }
        return dict((k, v) for k, v in profile.items() if v is not None)

    def describe(self):
        return "AKS cluster %s" % self.params["name"]

    def result(self, body):
        out = super().result(body)
        if body:
            out["identity"] = body.get("identity") or {}
        return out


def references(body):
    """The resources a cluster body points at, and its identities' principal ids."""
    if not body:
        return {}
    props = body.get("properties") or {}
    identity = body.get("identity") or {}
    assigned = identity.get("userAssignedIdentities") or {}
    # A GET body maps ids to {principalId, clientId}; the check-mode view of a cluster to be created lists ids.
    control = dict(assigned) if isinstance(assigned, dict) else dict((rid, {}) for rid in assigned)
    kubelet = (props.get("identityProfile") or {}).get("kubeletidentity") or {}
    subnets = [pool.get("vnetSubnetID") for pool in props.get("agentPoolProfiles") or [] if pool.get("vnetSubnetID")]
    control_id = next(iter(control), None)
    return {
        "node_subnet_ids": sorted(set(subnets), key=subnets.index),
        "apiserver_subnet_id": (props.get("apiServerAccessProfile") or {}).get("subnetId"),
        "container_registry_id": (props.get("bootstrapProfile") or {}).get("containerRegistryId"),
        "control_plane_identity_id": control_id,
        "control_plane_principal_id": (control.get(control_id) or {}).get("principalId") if control_id else None,
        "kubelet_identity_id": kubelet.get("resourceId"),
        "kubelet_object_id": kubelet.get("objectId"),
    }


def run(module):
    cluster = ManagedCluster(module)
    result = ensure(module, cluster)
    result["references"] = references(result.get("state")) if result.get("state") else cluster.seen
    props = (result.get("state") or {}).get("properties") or {}
    result["provisioning_state"] = (result.get("state") or {}).get("provisioning_state")
    if props:
        result["kubernetes_version"] = props.get("currentKubernetesVersion") or props.get("kubernetesVersion")
        result["node_resource_group"] = props.get("nodeResourceGroup")
        result["private_fqdn"] = props.get("privateFQDN")
        result["kubelet_object_id"] = ((props.get("identityProfile") or {}).get("kubeletidentity") or {}).get(
            "objectId")
    return result


def main():
    pool_spec = dict(
        name=dict(type="str", default="system"),
        vm_size=dict(type="str", required=True),
        count=dict(type="int"),
        enable_auto_scaling=dict(type="bool"),
        min_count=dict(type="int"),
        max_count=dict(type="int"),
        os_sku=dict(type="str"),
        max_pods=dict(type="int"),
        availability_zones=dict(type="list", elements="str"),
        os_disk_type=dict(type="str", choices=["Managed", "Ephemeral"]),
        os_disk_size_gb=dict(type="int"),
    )
    module = AzureModule(
        dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            kubernetes_version=dict(type="str"),
            dns_prefix=dict(type="str"),
            sku_tier=dict(type="str", choices=["Free", "Standard", "Premium"]),
            network_plugin=dict(type="str", choices=["azure", "kubenet", "none"]),
            network_plugin_mode=dict(type="str", choices=["overlay"]),
            pod_cidr=dict(type="str"),
            service_cidr=dict(type="str"),
            dns_service_ip=dict(type="str"),
            outbound_type=dict(type="str", choices=["none", "loadBalancer", "userDefinedRouting", "managedNATGateway",
                                                    "userAssignedNATGateway"]),
            node_subnet_id=dict(type="str"),
            private_cluster=dict(type="bool"),
            apiserver_vnet_integration=dict(type="bool"),
            apiserver_subnet_id=dict(type="str"),
            private_dns_zone=dict(type="str"),
            disable_run_command=dict(type="bool"),
            bootstrap_artifact_source=dict(type="str", choices=["Cache", "Direct"]),
            bootstrap_container_registry_id=dict(type="str"),
            control_plane_identity=dict(type="str"),
            kubelet_identity=dict(type="dict", options=dict(
                resource_id=dict(type="str", required=True),
                client_id=dict(type="str"),
                object_id=dict(type="str"),
            )),
            system_pool=dict(type="dict", options=pool_spec),
            node_os_upgrade_channel=dict(type="str", choices=["NodeImage", "None", "Unmanaged", "SecurityPatch"]),
            disable_local_accounts=dict(type="bool"),
            enable_azure_rbac=dict(type="bool"),
            api_version=dict(type="str", default=aks.DEFAULT_API_VERSION),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        tags=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
