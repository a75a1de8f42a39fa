"""aks_agent_pool: validate, desired/normalize (managed GPU as field or tag, spot taints), immutable fields
and recreate, through the engine and run() with a fake ARM client."""
import copy

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import azure_wait
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_client import Response
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import ensure
from ansible_collections.airgap.aks_inference.plugins.modules import aks_agent_pool

SUB = "00000000-0000-0000-0000-000000000001"
PID = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks/agentPools/gpu" % SUB
OPTIONS = ("vm_size", "count", "enable_auto_scaling", "min_count", "max_count", "taints", "labels", "mode", "os_sku",
           "max_pods", "os_disk_size_gb", "os_disk_type", "availability_zones", "vnet_subnet_id",
           "orchestrator_version", "priority", "eviction_policy", "spot_max_price", "gpu_driver", "gpu_management_mode",
           "tags")


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
        self.current = None
        return None

    def writes(self):
        return [c[:2] if c[0] == "DELETE" else c for c in self.calls if c[0] != "GET"]


class FakeModule:
    def __init__(self, params, client, check_mode=False):
        base = dict((option, None) for option in OPTIONS)
        base.update(state="present", wait=True, poll_interval=0.01, wait_timeout=5, purge_tags=True, recreate=False,
                    api_version="2026-08-01", resource_group="rg", cluster_name="aks", name="gpu")
        base.update(params)
        self.params = base
        self.check_mode = check_mode
        self._client = client
        self.subscription_id = SUB

    def check_settings(self):
        return {}

    def client(self):
        return self._client

    def deadline(self):
        return azure_wait.Deadline(5)


GPU = dict(vm_size="Standard_NC24ads_A100_v4", enable_auto_scaling=True, count=1, min_count=1, max_count=2,
           taints=["sku=gpu:NoSchedule"], gpu_driver="Install", gpu_management_mode="Managed")


def pool(**props):
    body = {"id": PID, "name": "gpu", "type": "Microsoft.ContainerService/managedClusters/agentPools",
            "properties": {"vmSize": "Standard_NC24ads_A100_v4", "count": 2, "enableAutoScaling": True, "minCount": 1,
                           "maxCount": 2, "nodeTaints": ["sku=gpu:NoSchedule"], "mode": "User", "osSKU": "Ubuntu",
                           "orchestratorVersion": "1.34", "currentOrchestratorVersion": "1.34.2",
                           "provisioningState": "Succeeded", "nodeImageVersion": "img", "scaleSetPriority": "Regular",
                           "gpuProfile": {"driver": "Install", "nvidia": {"managementMode": "Managed"}}}}
    body["properties"].update(props)
    return body


def run(params, current=None, check_mode=False):
    client = FakeClient(current)
    module = FakeModule(params, client, check_mode)
    return aks_agent_pool.run(module), client


REFUSED = [
    (dict(GPU, vm_size="Standard_D4ds_v5"), "gpu_driver", "has no GPU"),
    (dict(GPU, min_count=3, max_count=1), "min_count", "greater than max_count"),
    (dict(GPU, taints=["sku=gpu"]), "taints[0]", "key=value:Effect"),
    (dict(GPU, taints=["sku=gpu:Sometimes"]), "taints[0]", "it must be one of NoSchedule"),
    (dict(GPU, eviction_policy="Delete"), "eviction_policy", "priority=Spot"),
    (dict(GPU, gpu_driver="None"), "gpu_management_mode", "gpu_driver=None"),
    (dict(GPU, vm_size="Standard_NV4as_v4"), "gpu_management_mode", "AMD GPU"),
    (dict(GPU, name="GPU"), "name", "Linux node pool name"),
    (dict(GPU, tags={"EnableManagedGPUExperience": "true"}), "tags", "gpu_management_mode=Managed"),
    (dict(GPU, orchestrator_version="one"), "orchestrator_version", "Kubernetes version"),
    (dict(GPU, mode="System", priority="Spot"), "priority", "System pool cannot use Spot"),
]


@pytest.mark.parametrize("params,field,words", REFUSED, ids=[c[1] + ":" + c[2] for c in REFUSED])
def test_refused_before_any_request(params, field, words):
    client = FakeClient()
    with pytest.raises(InputError) as err:
        aks_agent_pool.run(FakeModule(params, client))
    assert err.value.field == field and words in err.value.problem, err.value.message
    assert client.calls == []


def test_create_with_the_managed_field():
    result, client = run(GPU)
    body = client.writes()[0][2]["properties"]
    assert body["gpuProfile"] == {"driver": "Install", "nvidia": {"managementMode": "Managed"}}
    assert "tags" not in body
    assert body["count"] == 1 and body["mode"] == "User" and body["osType"] == "Linux"
    assert result["managed_gpu"] == "field" and result["changed"] is True


def test_create_with_the_preview_tag_on_an_older_api_version():
    result, client = run(dict(GPU, api_version="2025-10-01", tags={"team": "ml"}))
    body = client.writes()[0][2]["properties"]
    assert body["gpuProfile"] == {"driver": "Install"}
    assert body["tags"] == {"team": "ml", "EnableManagedGPUExperience": "true"}
    assert result["managed_gpu"] == "tag"


def test_same_input_is_no_change_whichever_way_azure_shows_managed():
    result, client = run(GPU, pool())
    assert result["changed"] is False and client.writes() == [], result.get("differences")
    tagged = pool(gpuProfile={"driver": "Install"}, tags={"EnableManagedGPUExperience": "true"})
    result, client = run(dict(GPU, api_version="2025-10-01"), tagged)
    assert result["changed"] is False and client.writes() == [], result.get("differences")


def test_autoscaler_owns_the_count_of_an_existing_pool():
    result, client = run(dict(GPU, count=1), pool(count=2))
    assert result["changed"] is False and client.writes() == []


def test_spot_taint_and_label_aks_adds_are_not_a_difference():
    current = pool(scaleSetPriority="Spot", scaleSetEvictionPolicy="Delete", spotMaxPrice=-1,
                   nodeTaints=["sku=gpu:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"],
                   nodeLabels={"kubernetes.azure.com/scalesetpriority": "spot"})
    result, client = run(dict(GPU, priority="Spot", eviction_policy="Delete", labels={}), current)
    assert result["changed"] is False and client.writes() == [], result.get("differences")


def test_update_sends_the_pool_back_without_read_only_fields_and_keeps_the_gpu_tag():
    current = pool(gpuProfile={"driver": "Install"}, tags={"EnableManagedGPUExperience": "true", "old": "x"})
    result, client = run(dict(GPU, api_version="2025-10-01", taints=["sku=gpu:NoSchedule", "a=b:NoExecute"],
                              tags={"team": "ml"}), current)
    body = client.writes()[0][2]["properties"]
    assert sorted(body["nodeTaints"]) == ["a=b:NoExecute", "sku=gpu:NoSchedule"]
    assert body["tags"] == {"team": "ml", "EnableManagedGPUExperience": "true"}
    for read_only in ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion"):
        assert read_only not in body
    assert body["orchestratorVersion"] == "1.34"


IMMUTABLE = [
    (dict(GPU, vm_size="Standard_NC48ads_A100_v4"), {}, "vm_size"),
    (dict(GPU, gpu_management_mode="Unmanaged"), {}, "gpu_management_mode"),
    (GPU, {"gpuProfile": {"driver": "Install"}}, "gpu_management_mode"),
    (dict(GPU, gpu_driver="None", gpu_management_mode="Unmanaged"), {}, "gpu_driver"),
    (dict(GPU, priority="Spot"), {}, "priority"),
    (dict(GPU, os_sku="AzureLinux"), {}, "os_sku"),
    (dict(GPU, max_pods=30), {"maxPods": 250}, "max_pods"),
]


@pytest.mark.parametrize("params,changes,field", IMMUTABLE, ids=[c[2] for c in IMMUTABLE])
def test_immutable_fields_fail_naming_the_option_without_a_write(params, changes, field):
    client = FakeClient(pool(**changes))
    with pytest.raises(InputError) as err:
        aks_agent_pool.run(FakeModule(params, client))
    assert err.value.field == field and "recreate=true" in err.value.problem, err.value.message
    assert client.writes() == []


def test_recreate_deletes_then_creates():
    result, client = run(dict(GPU, vm_size="Standard_NC48ads_A100_v4", recreate=True), pool())
    assert [w[0] for w in client.writes()] == ["DELETE", "PUT"]
    assert client.writes()[1][2]["properties"]["vmSize"] == "Standard_NC48ads_A100_v4"
    assert result["recreated"] is True and result["changed"] is True


def test_recreate_in_check_mode_writes_nothing():
    result, client = run(dict(GPU, vm_size="Standard_NC48ads_A100_v4", recreate=True), pool(), check_mode=True)
    assert client.writes() == [] and result["recreated"] is True and result["recreate_because"] == ["vm_size"]


def test_recreate_without_a_conflict_is_a_plain_update():
    result, client = run(dict(GPU, recreate=True, max_count=3), pool())
    assert [w[0] for w in client.writes()] == ["PUT"] and result["recreated"] is False


def test_gpu_settings_on_an_existing_non_gpu_pool_are_refused():
    params = {"gpu_driver": "Install"}
    with pytest.raises(InputError) as err:
        run(params, pool(vmSize="Standard_D4ds_v5", gpuProfile={}))
    assert err.value.field == "gpu_driver" and "no GPU" in err.value.problem


def test_orchestrator_version_rule():
    result, client = run(dict(GPU, orchestrator_version="1.34"), pool())
    assert result["changed"] is False
    with pytest.raises(InputError) as err:
        run(dict(GPU, orchestrator_version="1.33"), pool())
    assert err.value.field == "orchestrator_version"
    result, client = run(dict(GPU, orchestrator_version="1.35"), pool())
    assert client.writes()[0][2]["properties"]["orchestratorVersion"] == "1.35"


def test_managed_state():
    assert aks_agent_pool.managed_state(pool()) == "Managed"
    assert aks_agent_pool.managed_state(pool(gpuProfile={}, tags={"EnableManagedGPUExperience": "True"})) == "Managed"
    assert aks_agent_pool.managed_state(pool(gpuProfile={"driver": "Install"})) == "Unmanaged"
    assert aks_agent_pool.managed_state(None) == "Unmanaged"


def test_absent():
    client = FakeClient(pool())
    module = FakeModule({"state": "absent"}, client)
    result = ensure(module, aks_agent_pool.AgentPool(module))
    assert result["changed"] is True and client.writes() == [("DELETE", PID)]
