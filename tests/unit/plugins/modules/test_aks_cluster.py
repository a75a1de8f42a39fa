"""aks_cluster: validate (refusals before any request), desired, normalize (version rule and transitions), to_body
(read-modify-write that keeps the agent pools), through the engine with a fake ARM client."""
import copy

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import ensure
from ansible_collections.airgap.aks_inference.plugins.modules import aks_cluster

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/rg" % SUB
NODES = RG + "/providers/Microsoft.Network/virtualNetworks/v/subnets/nodes"
APISERVER = RG + "/providers/Microsoft.Network/virtualNetworks/v/subnets/apiserver"
ACR = RG + "/providers/Microsoft.ContainerRegistry/registries/acr"
CP = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-cp"
KUBELET = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-kubelet"
CID = RG + "/providers/Microsoft.ContainerService/managedClusters/aks"


class FakeClient:
    def __init__(self, current=None):
        self.current = current
        self.calls = []

    def get(self, rid, api):
        self.calls.append(("GET", rid, api))
        return copy.deepcopy(self.current)

    def put(self, rid, api, body):
        self.calls.append(("PUT", rid, body))
        self.current = dict(copy.deepcopy(body), id=rid)
        return Response(200, {}, self.current)

    def delete(self, rid, api):
        self.calls.append(("DELETE", rid))
        return None

    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]


class FakeModule:
    def __init__(self, params, client=None, check_mode=False):
        base = dict(state="present", wait=True, poll_interval=0.01, wait_timeout=5, tags=None, purge_tags=True,
                    api_version="2026-08-01")
        for option in ("location", "kubernetes_version", "dns_prefix", "sku_tier", "network_plugin",
                       "network_plugin_mode", "pod_cidr", "service_cidr", "dns_service_ip", "outbound_type",
                       "node_subnet_id", "private_cluster", "apiserver_vnet_integration", "apiserver_subnet_id",
                       "private_dns_zone", "disable_run_command", "bootstrap_artifact_source",
                       "bootstrap_container_registry_id", "control_plane_identity", "kubelet_identity", "system_pool",
                       "node_os_upgrade_channel", "disable_local_accounts", "enable_azure_rbac"):
            base[option] = None
        base.update(resource_group="rg", name="aks")
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._client = client or FakeClient()
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(5)


ISOLATED = dict(
    location="westeurope", kubernetes_version="1.34", outbound_type="none", bootstrap_artifact_source="Cache",
    bootstrap_container_registry_id=ACR, private_cluster=True, apiserver_vnet_integration=True,
    apiserver_subnet_id=APISERVER, node_subnet_id=NODES, control_plane_identity=CP,
    kubelet_identity={"resource_id": KUBELET, "client_id": "kc", "object_id": "ko"},
    node_os_upgrade_channel="NodeImage", system_pool={"name": "system", "vm_size": "Standard_D4ds_v5", "count": 2},
)


def existing(**changes):
    """A GET body of the isolated cluster with a system and a GPU pool (the GPU one made by aks_agent_pool)."""
    body = {
        "id": CID, "name": "aks", "location": "westeurope", "tags": {"a": "b"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {CP: {"principalId": "cp-p", "clientId": "cp-c"}}},
        "sku": {"name": "Base", "tier": "Free"},
        "properties": {
            "provisioningState": "Succeeded", "kubernetesVersion": "1.34", "currentKubernetesVersion": "1.34.2",
            "dnsPrefix": "aks", "privateFQDN": "aks-1.privatelink.westeurope.azmk8s.io", "nodeResourceGroup": "MC_rg",
            "powerState": {"code": "Running"}, "maxAgentPools": 100,
            "identityProfile": {"kubeletidentity": {"resourceId": KUBELET, "clientId": "kc", "objectId": "ko"}},
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "outboundType": "none",
                               "podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"},
            "bootstrapProfile": {"artifactSource": "Cache", "containerRegistryId": ACR},
            "apiServerAccessProfile": {"enablePrivateCluster": True, "enableVnetIntegration": True,
                                       "subnetId": APISERVER, "privateDNSZone": "system"},
            "autoUpgradeProfile": {"nodeOSUpgradeChannel": "NodeImage"},
            "agentPoolProfiles": [
                {"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 2, "vnetSubnetID": NODES,
                 "orchestratorVersion": "1.34", "currentOrchestratorVersion": "1.34.2", "provisioningState": "Succeeded",
                 "nodeImageVersion": "img"},
                {"name": "gpu", "mode": "User", "vmSize": "Standard_NC24ads_A100_v4", "count": 1,
                 "vnetSubnetID": NODES, "orchestratorVersion": "1.34", "currentOrchestratorVersion": "1.34.2",
                 "gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Managed"}},
                 "provisioningState": "Succeeded"},
            ],
        },
    }
    for path, value in changes.items():
        node = body
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return body


def run(params, current=None, check_mode=False):
    client = FakeClient(current)
    module = FakeModule(params, client, check_mode)
    result = ensure(module, aks_cluster.ManagedCluster(module))
    return result, client


# -- refused before any request ---------------------------------------------------------------
REFUSED = [
    (dict(ISOLATED, bootstrap_artifact_source=None), "bootstrap_artifact_source", "outbound_type=none"),
    (dict(ISOLATED, bootstrap_artifact_source="Direct"), "bootstrap_artifact_source", "needs bootstrap_artifact_source"),
    (dict(ISOLATED, node_os_upgrade_channel="SecurityPatch"), "node_os_upgrade_channel", "supports only"),
    (dict(ISOLATED, node_os_upgrade_channel="Unmanaged"), "node_os_upgrade_channel", "supports only"),
    (dict(ISOLATED, kubernetes_version="1.29"), "kubernetes_version", "1.30 or later"),
    (dict(ISOLATED, kubernetes_version="latest"), "kubernetes_version", "is not a Kubernetes version"),
    (dict(ISOLATED, bootstrap_container_registry_id=None), "bootstrap_container_registry_id", "is required"),
    (dict(ISOLATED, control_plane_identity=None), "control_plane_identity", "is required with kubelet_identity"),
    (dict(ISOLATED, apiserver_subnet_id=NODES), "apiserver_subnet_id", "not the node subnet"),
    (dict(ISOLATED, apiserver_subnet_id=None), "apiserver_subnet_id", "is required"),
    (dict(ISOLATED, service_cidr="10.0.0.0/16", dns_service_ip="10.1.0.10"), "dns_service_ip", "must lie inside"),
    (dict(ISOLATED, pod_cidr="10.0.0.0/8", service_cidr="10.0.0.0/16"), "service_cidr", "overlaps"),
    (dict(ISOLATED, name="-bad"), "name", "cluster name"),
    (dict(ISOLATED, system_pool={"name": "system", "vm_size": "Standard_D4ds_v5", "enable_auto_scaling": True,
                                 "min_count": 3, "max_count": 1}), "system_pool.min_count", "greater than"),
    (dict(ISOLATED, system_pool={"name": "system", "vm_size": "Standard_D4ds_v5", "count": 0}),
     "system_pool.count", "at least one node"),
    (dict(ISOLATED, api_version="2026-8-1"), "api_version", "not an ARM api-version"),
    (dict(ISOLATED, disable_local_accounts=True, enable_azure_rbac=False), "disable_local_accounts", "Entra ID"),
]


@pytest.mark.parametrize("params,field,words", REFUSED, ids=[c[1] + ":" + c[2] for c in REFUSED])
def test_refused_before_any_request(params, field, words):
    client = FakeClient()
    module = FakeModule(params, client)
    with pytest.raises(InputError) as err:
        ensure(module, aks_cluster.ManagedCluster(module))
    assert err.value.field == field and words in err.value.problem, err.value.message
    assert client.calls == []


# -- refused after reading the cluster, before any write ----------------------------------------
TRANSITIONS = [
    (dict(ISOLATED, bootstrap_artifact_source="Direct", outbound_type="loadBalancer"), {},
     "bootstrap_artifact_source", "cannot switch it back to Direct"),
    (dict(ISOLATED, outbound_type="loadBalancer", bootstrap_artifact_source="Cache"), {},
     "outbound_type", "network isolated"),
    (dict(ISOLATED, kubernetes_version="1.33"), {}, "kubernetes_version", "cannot downgrade"),
    (dict(ISOLATED, kubernetes_version="1.36"), {}, "kubernetes_version", "one minor version at a time"),
    (dict(ISOLATED, pod_cidr="10.245.0.0/16"), {}, "pod_cidr", "AKS fixes it at creation"),
    (dict(ISOLATED, private_cluster=False), {}, "private_cluster", "AKS fixes it at creation"),
    (dict(ISOLATED, control_plane_identity=CP.replace("id-cp", "id-other")), {}, "control_plane_identity",
     "AKS fixes it at creation"),
    (dict(ISOLATED, kubelet_identity={"resource_id": KUBELET + "2"}), {}, "kubelet_identity", "fixes it"),
    (dict(ISOLATED, dns_prefix="other"), {}, "dns_prefix", "fixes it"),
    (dict(ISOLATED, location="northeurope"), {}, "location", "fixes it"),
    (dict(ISOLATED, outbound_type=None, bootstrap_artifact_source=None, node_os_upgrade_channel="SecurityPatch",
          bootstrap_container_registry_id=None), {}, "node_os_upgrade_channel", "network isolated"),
]


@pytest.mark.parametrize("params,changes,field,words", TRANSITIONS, ids=[c[2] + ":" + c[3] for c in TRANSITIONS])
def test_refused_on_the_existing_cluster_without_a_write(params, changes, field, words):
    client = FakeClient(existing(**changes))
    module = FakeModule(params, client)
    with pytest.raises(InputError) as err:
        ensure(module, aks_cluster.ManagedCluster(module))
    assert err.value.field == field and words in err.value.problem, err.value.message
    assert client.writes() == []


def test_refused_in_check_mode_too():
    client = FakeClient(existing())
    module = FakeModule(dict(ISOLATED, kubernetes_version="1.33"), client, check_mode=True)
    with pytest.raises(InputError):
        ensure(module, aks_cluster.ManagedCluster(module))


# -- the version rule -----------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.34", "1.34.2", None])
def test_same_or_unset_version_is_no_change(version):
    result, client = run(dict(ISOLATED, kubernetes_version=version), existing())
    assert result["changed"] is False and client.writes() == []


def test_upgrade_only_when_asked_and_one_minor_up():
    result, client = run(dict(ISOLATED, kubernetes_version="1.35"), existing())
    assert result["changed"] is True
    body = client.writes()[0][2]
    assert body["properties"]["kubernetesVersion"] == "1.35"
    assert "kubernetesVersion" in result["differences"][0]


def test_a_change_elsewhere_sends_the_stored_version_back_not_a_newer_one():
    # "1.34.2" matches the cluster; a tag change must not turn into a version change either way.
    result, client = run(dict(ISOLATED, kubernetes_version="1.34.2", tags={"owner": "x"}), existing())
    body = client.writes()[0][2]
    assert body["properties"]["kubernetesVersion"] == "1.34"
    assert body["tags"] == {"owner": "x"}
    assert [pool["orchestratorVersion"] for pool in body["properties"]["agentPoolProfiles"]] == ["1.34", "1.34"]


# -- read-modify-write ----------------------------------------------------------------------
def test_update_sends_every_agent_pool_back_without_read_only_fields():
    result, client = run(dict(ISOLATED, sku_tier="Standard"), existing())
    assert result["changed"] is True
    body = client.writes()[0][2]
    pools = body["properties"]["agentPoolProfiles"]
    assert [p["name"] for p in pools] == ["system", "gpu"]
    assert pools[1]["gpuProfile"]["nvidia"]["managementMode"] == "Managed"
    for pool in pools:
        for read_only in ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion"):
            assert read_only not in pool
    for read_only in ("provisioningState", "currentKubernetesVersion", "privateFQDN", "powerState", "maxAgentPools"):
        assert read_only not in body["properties"]
    assert body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {CP: {}}}
    assert body["properties"]["identityProfile"]["kubeletidentity"] == {"resourceId": KUBELET, "clientId": "kc",
                                                                        "objectId": "ko"}
    assert body["sku"] == {"name": "Base", "tier": "Standard"}
    assert body["properties"]["nodeResourceGroup"] == "MC_rg"  # not managed, kept


def test_no_change_for_the_same_input_in_another_casing_of_ids():
    params = dict(ISOLATED, control_plane_identity=CP.upper(), apiserver_subnet_id=APISERVER.lower(),
                  bootstrap_container_registry_id=ACR.lower())
    result, client = run(params, existing())
    assert result["changed"] is False, result.get("differences")


def test_create_body():
    result, client = run(ISOLATED)
    body = client.writes()[0][2]
    props = body["properties"]
    assert body["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {CP: {}}}
    assert props["networkProfile"] == {"networkPlugin": "azure", "networkPluginMode": "overlay", "outboundType": "none"}
    assert props["bootstrapProfile"] == {"artifactSource": "Cache", "containerRegistryId": ACR}
    assert props["apiServerAccessProfile"] == {"enablePrivateCluster": True, "enableVnetIntegration": True,
                                               "subnetId": APISERVER}
    assert props["dnsPrefix"] == "aks"
    assert props["agentPoolProfiles"] == [{"name": "system", "mode": "System", "osType": "Linux",
                                           "type": "VirtualMachineScaleSets", "vmSize": "Standard_D4ds_v5", "count": 2,
                                           "vnetSubnetID": NODES, "orchestratorVersion": "1.34"}]
    assert props["autoUpgradeProfile"] == {"nodeOSUpgradeChannel": "NodeImage"}
    assert result["changed"] is True


def test_outbound_none_is_the_default_of_a_cache_bootstrapped_create():
    result, client = run(dict(ISOLATED, outbound_type=None))
    assert client.writes()[0][2]["properties"]["networkProfile"]["outboundType"] == "none"


def test_create_needs_location_and_system_pool_after_the_read():
    for missing in ("location", "system_pool"):
        client = FakeClient()
        module = FakeModule(dict(ISOLATED, **{missing: None}), client)
        with pytest.raises(InputError) as err:
            ensure(module, aks_cluster.ManagedCluster(module))
        assert err.value.field == missing and client.writes() == []


def test_check_mode_writes_nothing():
    result, client = run(ISOLATED, check_mode=True)
    assert result["changed"] is True and client.writes() == []
    result, client = run(dict(ISOLATED, sku_tier="Premium"), existing(), check_mode=True)
    assert result["changed"] is True and client.writes() == []
    assert result["diff"]["before"]["sku"] == {"name": "Base", "tier": "Free"}
    assert result["diff"]["after"]["sku"] == {"name": "Base", "tier": "Premium"}


def test_direct_to_cache_is_allowed():
    current = existing(**{"properties.bootstrapProfile": {"artifactSource": "Direct"},
                          "properties.networkProfile.outboundType": "loadBalancer"})
    result, client = run(ISOLATED, current)
    body = client.writes()[0][2]
    assert body["properties"]["bootstrapProfile"]["artifactSource"] == "Cache"
    assert body["properties"]["networkProfile"]["outboundType"] == "none"


def test_references_for_teardown():
    refs = aks_cluster.references(existing())
    assert refs == {"node_subnet_ids": [NODES], "apiserver_subnet_id": APISERVER, "container_registry_id": ACR,
                    "control_plane_identity_id": CP, "control_plane_principal_id": "cp-p",
                    "kubelet_identity_id": KUBELET, "kubelet_object_id": "ko"}
    assert aks_cluster.references(None) == {}


def test_absent_deletes_and_reports_what_it_pointed_at():
    client = FakeClient(existing())
    module = FakeModule({"state": "absent", "kubernetes_version": "1.20"}, client)  # the version is not checked
    cluster = aks_cluster.ManagedCluster(module)
    result = ensure(module, cluster)
    assert result["changed"] is True and client.writes() == [("DELETE", CID)]
    assert cluster.seen["control_plane_principal_id"] == "cp-p"


def test_check_mode_create_returns_references():
    client = FakeClient()
    module = FakeModule(ISOLATED, client, check_mode=True)
    result = aks_cluster.run(module)
    assert result["changed"] is True and client.writes() == []
    assert result["references"]["control_plane_identity_id"] == CP
    assert result["references"]["control_plane_principal_id"] is None
