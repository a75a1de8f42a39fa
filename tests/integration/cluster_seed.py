"""What the cluster stage needs from the earlier stages, placed straight through ARM.

The network and registry stages have their own integration tests; the cluster tests only need their
results, so they are PUT through the emulator's ARM API (seconds) instead of running those playbooks.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_arm import (  # noqa: E402 pylint: disable=wrong-import-position
    ACR_API, AKS_MCR_RULE, LOCATION, NET_API, RG_API, Arm)

RG = "rg-it"
AKS_API = "2026-08-01"


def seed(emu, registry_name="acrit", public=False, rule=True, endpoint=True, sku="Premium"):
    """Resource group, VNet (node, API server and private endpoint subnets), registry, cache rule, PE.

    Returns the variables that point the aks_cluster role at them.
    """
    arm = Arm(emu)
    rg = arm.rg(RG)
    arm.put(rg, RG_API, {"location": LOCATION})
    vnet = rg + "/providers/Microsoft.Network/virtualNetworks/vnet-it"
    arm.put(vnet, NET_API, {"location": LOCATION, "properties": {
        "addressSpace": {"addressPrefixes": ["10.40.0.0/16"]},
        "subnets": [
            {"name": "snet-nodes", "properties": {"addressPrefix": "10.40.0.0/22", "defaultOutboundAccess": False}},
            {"name": "snet-apiserver", "properties": {
                "addressPrefix": "10.40.4.0/28", "defaultOutboundAccess": False,
                "delegations": [{"name": "aks", "properties": {
                    "serviceName": "Microsoft.ContainerService/managedClusters"}}]}},
            {"name": "snet-pe", "properties": {"addressPrefix": "10.40.5.0/24", "defaultOutboundAccess": False}},
        ]}})
    registry = rg + "/providers/Microsoft.ContainerRegistry/registries/" + registry_name
    props = {"publicNetworkAccess": "Enabled" if public else "Disabled"} if sku == "Premium" else {}
    arm.put(registry, ACR_API, {"location": LOCATION, "sku": {"name": sku}, "properties": props})
    if rule:
        arm.put(registry + "/cacheRules/aks-managed-mcr", ACR_API, {"properties": AKS_MCR_RULE})
    if endpoint:
        arm.put(rg + "/providers/Microsoft.Network/privateEndpoints/pe-" + registry_name, NET_API, {
            "location": LOCATION, "properties": {
                "subnet": {"id": vnet + "/subnets/snet-pe"},
                "privateLinkServiceConnections": [{"name": "registry", "properties": {
                    "privateLinkServiceId": registry, "groupIds": ["registry"]}}]}})
    return {
        "aks_cluster_resource_group": RG,
        "aks_cluster_location": LOCATION,
        "aks_cluster_node_subnet_id": vnet + "/subnets/snet-nodes",
        "aks_cluster_apiserver_subnet_id": vnet + "/subnets/snet-apiserver",
        "aks_cluster_container_registry_id": registry,
    }


MI_API = "2024-11-30"
AUTHZ_API = "2022-04-01"
FEATURES_API = "2021-07-01"
ROLE_IDS = {"Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
            "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
            "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d"}


def seed_identities(emu, ids):
    """The two identities and the role assignments the cluster stage makes, straight through ARM."""
    arm = Arm(emu)
    out = {}
    for key in ("control_plane", "kubelet"):
        path = arm.rg(RG) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-" + key.replace("_", "-")
        body = arm.put(path, MI_API, {"location": LOCATION})
        out[key] = {"id": body["id"], "principal_id": body["properties"]["principalId"],
                    "client_id": body["properties"]["clientId"]}
    grants = [(ids["aks_cluster_node_subnet_id"], "Network Contributor", "control_plane"),
              (ids["aks_cluster_apiserver_subnet_id"], "Network Contributor", "control_plane"),
              (out["kubelet"]["id"], "Managed Identity Operator", "control_plane"),
              (ids["aks_cluster_container_registry_id"], "AcrPull", "kubelet")]
    for index, (scope, role, who) in enumerate(grants):
        arm.put("%s/providers/Microsoft.Authorization/roleAssignments/00000000-0000-4000-8000-00000000000%d"
                % (scope, index), AUTHZ_API, {"properties": {
                    "roleDefinitionId": "%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                                        % (arm.sub, ROLE_IDS[role]),
                    "principalId": out[who]["principal_id"], "principalType": "ServicePrincipal"}})
    feature = arm.sub + "/providers/Microsoft.Features/providers/Microsoft.ContainerService/features/" \
                        "ManagedGPUExperiencePreview"
    assert arm.call("POST", feature + "/register", FEATURES_API).status_code == 200
    return out


def cluster_args(ids, identities, **changes):
    """aks_cluster module arguments of the isolated cluster the role makes."""
    args = {
        "resource_group": ids["aks_cluster_resource_group"], "name": "aks-it", "location": LOCATION,
        "kubernetes_version": "1.34", "outbound_type": "none", "bootstrap_artifact_source": "Cache",
        "bootstrap_container_registry_id": ids["aks_cluster_container_registry_id"], "private_cluster": True,
        "apiserver_vnet_integration": True, "apiserver_subnet_id": ids["aks_cluster_apiserver_subnet_id"],
        "node_subnet_id": ids["aks_cluster_node_subnet_id"], "control_plane_identity": identities["control_plane"]["id"],
        "kubelet_identity": {"resource_id": identities["kubelet"]["id"], "client_id": identities["kubelet"]["client_id"],
                             "object_id": identities["kubelet"]["principal_id"]},
        "node_os_upgrade_channel": "NodeImage", "system_pool": {"vm_size": "Standard_D4ds_v5", "count": 2},
    }
    args.update(changes)
    return args


def pool_args(ids, **changes):
    args = {"resource_group": ids["aks_cluster_resource_group"], "cluster_name": "aks-it", "name": "gpu",
            "vm_size": "Standard_NC24ads_A100_v4", "enable_auto_scaling": True, "count": 1, "min_count": 1,
            "max_count": 2, "taints": ["sku=gpu:NoSchedule"], "gpu_driver": "Install", "gpu_management_mode": "Managed"}
    args.update(changes)
    return args


def seed_cluster(emu, ids, identities):
    """The isolated cluster and its managed GPU pool, straight through ARM (what a converge leaves)."""
    arm = Arm(emu)
    cluster = arm.rg(RG) + "/providers/Microsoft.ContainerService/managedClusters/aks-it"
    arm.put(cluster, AKS_API, {
        "location": LOCATION,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identities["control_plane"]["id"]: {}}},
        "properties": {
            "kubernetesVersion": "1.34", "dnsPrefix": "aks-it",
            "identityProfile": {"kubeletidentity": {"resourceId": identities["kubelet"]["id"]}},
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "outboundType": "none"},
            "bootstrapProfile": {"artifactSource": "Cache",
                                 "containerRegistryId": ids["aks_cluster_container_registry_id"]},
            "apiServerAccessProfile": {"enablePrivateCluster": True, "enableVnetIntegration": True,
                                       "subnetId": ids["aks_cluster_apiserver_subnet_id"]},
            "autoUpgradeProfile": {"nodeOSUpgradeChannel": "NodeImage"},
            "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 2,
                                   "vnetSubnetID": ids["aks_cluster_node_subnet_id"]}]}})
    arm.put(cluster + "/agentPools/gpu", AKS_API, {"properties": {
        "vmSize": "Standard_NC24ads_A100_v4", "count": 1, "enableAutoScaling": True, "minCount": 1, "maxCount": 2,
        "nodeTaints": ["sku=gpu:NoSchedule"], "gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Managed"}}}})
    return cluster
