"""The aks_cluster role and the AKS modules end to end against the ARM emulator.

The network and registry are placed straight through ARM (cluster_seed.py): their own stages have their own
tests; what matters here is the cluster stage on top of them.
"""
import json
import os
import re
import stat
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_lookup import arm_requests, by_suffix  # noqa: E402 pylint: disable=wrong-import-position
from cluster_seed import (  # noqa: E402 pylint: disable=wrong-import-position
    cluster_args, pool_args, seed, seed_cluster, seed_identities)

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
MODULES = "../tests/integration/playbooks/aks_modules.yml"


def assignments(arm):
    out = []
    for rid, body in arm.resources().items():
        if "/providers/Microsoft.Authorization/roleAssignments/" in rid:
            props = body["properties"]
            out.append((props["scope"].rsplit("/", 1)[-1], props["roleDefinitionId"].rsplit("/", 1)[-1],
                        props["principalId"]))
    return sorted(out)


def recap_changed(stdout):
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", stdout)
    return int(match.group(1)) if match else None


def items(run, task):
    for name, result in run.tasks():
        if name == task or name.endswith(" : " + task):
            return result.get("results") or []
    raise AssertionError("no task %s in %s" % (task, [name for name, _r in run.tasks()]))


@pytest.fixture
def stage(arm, tmp_path):
    """Network and registry in place; the role's variables pointing at them."""
    ids = seed(arm)
    arm.clear_requests()
    return dict(ids, aks_cluster_name="aks-it", aks_cluster_kubeconfig_path=str(tmp_path / "kube" / "aks-it"))


def test_check_converge_noop_and_teardown(playbook, arm, stage):
    # check mode on a subscription without the cluster stage: changes reported, nothing written
    run = playbook("cluster.yml", stage, check=True)
    assert run.rc == 0, run
    assert run.changed > 0 and arm.writes() == []

    # converge; the cluster's ~10 minutes (here 3 s) overlap the feature registration (2 s)
    arm.set_time_scale(1.0)
    arm.set_duration(CLUSTER_TYPE, 3)
    arm.set_duration(CLUSTER_TYPE + "/agentPools", 1)
    arm.set_duration("Microsoft.Features/providers/features", 2)
    run = playbook("cluster.yml", stage)
    assert run.rc == 0, run
    writes = arm.writes()
    order = [(w["method"], w["path"].rsplit("/", 2)[-2]) for w in writes]
    assert order.index(("POST", "ManagedGPUExperiencePreview")) < order.index(("PUT", "managedClusters"))
    cluster_put = next(w for w in writes if w["method"] == "PUT" and w["path"].endswith("/managedClusters/aks-it"))
    pool_put = next(w for w in writes if w["method"] == "PUT" and w["path"].endswith("/agentPools/gpu"))
    assert pool_put["status"] == 201 and pool_put["time"] - cluster_put["time"] >= 3  # waited for the cluster
    assert not [r for r in arm_requests(arm) if r["status"] == 409], "a pool request raced the cluster"
    cluster = by_suffix(arm, "/managedClusters/aks-it")
    props = cluster["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["networkProfile"]["outboundType"] == "none"
    assert props["networkProfile"]["networkPluginMode"] == "overlay"
    assert props["bootstrapProfile"] == {"artifactSource": "Cache",
                                         "containerRegistryId": stage["aks_cluster_container_registry_id"]}
    assert props["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert props["apiServerAccessProfile"]["subnetId"] == stage["aks_cluster_apiserver_subnet_id"]
    assert props["autoUpgradeProfile"]["nodeOSUpgradeChannel"] == "NodeImage"
    assert props["kubernetesVersion"] == "1.34" and cluster["sku"]["tier"] == "Standard"
    pools = {p["name"]: p for p in props["agentPoolProfiles"]}
    assert pools["system"]["vnetSubnetID"] == stage["aks_cluster_node_subnet_id"]
    gpu = pools["gpu"]
    assert gpu["vmSize"] == "Standard_NC24ads_A100_v4" and gpu["nodeTaints"] == ["sku=gpu:NoSchedule"]
    assert gpu["gpuProfile"] == {"driver": "Install", "nvidia": {"managementMode": "Managed"}}
    assert (gpu["enableAutoScaling"], gpu["minCount"], gpu["maxCount"]) == (True, 1, 2)
    control = by_suffix(arm, "/userAssignedIdentities/id-aks-it-control-plane")["properties"]["principalId"]
    kubelet = by_suffix(arm, "/userAssignedIdentities/id-aks-it-kubelet")["properties"]["principalId"]
    assert assignments(arm) == sorted([
        ("snet-nodes", "4d97b98b-1d4f-4787-a291-c67834d212e7", control),
        ("snet-apiserver", "4d97b98b-1d4f-4787-a291-c67834d212e7", control),
        ("id-aks-it-kubelet", "f1a07417-d97a-45cb-824c-7a7467783830", control),
        ("acrit", "7f951dda-4ed3-4680-a7ca-43fe172d538d", kubelet)])
    kubeconfig = stage["aks_cluster_kubeconfig_path"]
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(kubeconfig)).st_mode) == 0o700
    fact = next(r for name, r in run.tasks() if name.endswith("Publish what later stages need"))["ansible_facts"][
        "aks_cluster"]
    assert fact["id"] == cluster["id"] and fact["kubeconfig_path"] == kubeconfig
    assert fact["private_fqdn"] == props["privateFQDN"] and fact["kubelet_identity_object_id"] == kubelet
    assert fact["node_resource_group"] == props["nodeResourceGroup"] and fact["gpu_pool_name"] == "gpu"

    # no-op, at -vvv: nothing written, and the kubeconfig's token never printed
    token = re.search(r"token: (\S+)", open(kubeconfig).read()).group(1)
    arm.clear_requests()
    run = playbook("cluster.yml", stage, verbose=3, json_output=False)
    assert run.rc == 0, run.stdout[-3000:]
    assert recap_changed(run.stdout) == 0, run.stdout[-3000:]
    assert arm.writes() == []
    assert token not in run.stdout and token not in run.stderr

    # teardown: GPU pool, cluster, the identities' role assignments, identities, kubeconfig; network and registry stay
    refused = playbook("cluster.yml", dict(stage, aks_cluster_state="absent"))
    assert refused.rc != 0 and "aks_cluster_teardown_confirm" in refused.failure_message()
    down = dict(stage, aks_cluster_state="absent", aks_cluster_teardown_confirm="aks-it")
    run = playbook("cluster.yml", down)
    assert run.rc == 0, run
    left = sorted(rid.split("/providers/")[-1] for rid in arm.resources())
    assert not [rid for rid in left if "managedClusters" in rid or "userAssignedIdentities" in rid], left
    assert assignments(arm) == []
    assert by_suffix(arm, "/registries/acrit") and by_suffix(arm, "/subnets/snet-nodes")
    assert not os.path.exists(kubeconfig)
    again = playbook("cluster.yml", down)
    assert again.rc == 0 and again.changed == 0, again


BAD_INPUT = [
    ({"aks_cluster_gpu_pool": {"vm_size": "Standard_D4ds_v5"}},
     "aks_cluster_gpu_pool.vm_size: Standard_D4ds_v5 has no GPU"),
    ({"aks_cluster_gpu_pool": {"min_count": 3, "max_count": 1, "count": 1}},
     "aks_cluster_gpu_pool.min_count: 3 is greater than max_count 1"),
    ({"aks_cluster_gpu_pool": {"taints": ["sku=gpu"]}}, "aks_cluster_gpu_pool.taints[0]: 'sku=gpu' is not key=value:Effect"),
    ({"aks_cluster_kubernetes_version": "1.33"},
     "aks_cluster_kubernetes_version: the managed GPU experience on a network-isolated cluster needs"),
    ({"aks_cluster_node_os_upgrade_channel": "SecurityPatch"}, "aks_cluster_node_os_upgrade_channel"),
    ({"aks_cluster_container_registry_id": ""}, "aks_cluster_container_registry_id: is empty"),
    ({"aks_cluster_network": {"dns_service_ip": "10.9.0.10"}}, "aks_cluster_network.dns_service_ip"),
]


@pytest.mark.parametrize("extra,words", BAD_INPUT, ids=[case[1].split(":")[0] for case in BAD_INPUT])
def test_bad_input_fails_before_any_request(playbook, arm, stage, extra, words):
    run = playbook("cluster.yml", dict(stage, **extra))
    assert run.rc != 0
    assert words in run.failure_message(), run.failure_message()
    assert arm.requests() == []


@pytest.mark.parametrize("kwargs,words", [
    ({"public": True}, "has public network access Enabled"),
    ({"rule": False}, "has no cache rule aks-managed-mcr"),
    ({"endpoint": False}, "has no approved private endpoint"),
])
def test_registry_preflight_refuses_before_any_write(playbook, arm, tmp_path, kwargs, words):
    ids = seed(arm, **kwargs)
    arm.clear_requests()
    run = playbook("cluster.yml", dict(ids, aks_cluster_kubeconfig_path=str(tmp_path / "k")))
    assert run.rc != 0
    message = run.failure_message()
    assert message.startswith("aks_cluster_container_registry_id: registry") and words in message, message
    assert arm.writes() == []


@pytest.fixture
def existing(arm, stage):
    """An isolated cluster with its managed GPU pool, as a converge leaves it (placed through ARM)."""
    identities = seed_identities(arm, stage)
    seed_cluster(arm, stage, identities)
    arm.clear_requests()
    return identities


def test_what_aks_refuses_on_an_existing_cluster_fails_without_a_write(playbook, arm, stage, existing):
    cases = [
        cluster_args(stage, existing, label="cache to direct", bootstrap_artifact_source="Direct",
                     outbound_type="loadBalancer"),
        cluster_args(stage, existing, label="open a way out", outbound_type="loadBalancer"),
        cluster_args(stage, existing, label="downgrade", kubernetes_version="1.33"),
        cluster_args(stage, existing, label="skip a minor", kubernetes_version="1.36"),
        cluster_args(stage, existing, label="pod cidr", pod_cidr="10.245.0.0/16"),
        cluster_args(stage, existing, label="public", private_cluster=False),
    ]
    pools = [
        pool_args(stage, label="vm size", vm_size="Standard_NC48ads_A100_v4"),
        pool_args(stage, label="unmanaged", gpu_management_mode="Unmanaged"),
    ]
    run = playbook(MODULES, {"cluster_cases": cases, "pool_cases": pools})
    assert run.rc == 0, run
    got = [(r["item"]["label"], r.get("field"), r.get("msg", "")) for r in items(run, "Clusters") + items(run, "Node pools")]
    expected = [("cache to direct", "bootstrap_artifact_source", "cannot switch it back to Direct"),
                ("open a way out", "outbound_type", "network isolated"),
                ("downgrade", "kubernetes_version", "cannot downgrade"),
                ("skip a minor", "kubernetes_version", "one minor version at a time"),
                ("pod cidr", "pod_cidr", "AKS fixes it at creation"),
                ("public", "private_cluster", "AKS fixes it at creation"),
                ("vm size", "vm_size", "set recreate=true"),
                ("unmanaged", "gpu_management_mode", "set recreate=true")]
    for (label, field, msg), (want_label, want_field, words) in zip(got, expected):
        assert (label, field) == (want_label, want_field) and words in msg, (label, field, msg)
    assert arm.writes() == []


def test_module_refusals_before_any_request(playbook, arm, stage):
    base = "/subscriptions/x/resourceGroups/rg-it/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
    identities = {"control_plane": {"id": base + "id-cp"},
                  "kubelet": {"id": base + "id-k", "client_id": "c", "principal_id": "p"}}
    cases = [
        cluster_args(stage, identities, label="none without cache", bootstrap_artifact_source=None),
        cluster_args(stage, identities, label="os channel", node_os_upgrade_channel="SecurityPatch"),
        cluster_args(stage, identities, label="old k8s", kubernetes_version="1.29"),
    ]
    for case in cases:
        if case.get("bootstrap_artifact_source") is None:
            case.pop("bootstrap_artifact_source")
    pools = [pool_args(stage, label="no gpu", vm_size="Standard_D4ds_v5"),
             pool_args(stage, label="bounds", min_count=3, max_count=1),
             pool_args(stage, label="taint", taints=["sku:NoSchedule"])]
    run = playbook(MODULES, {"cluster_cases": cases, "pool_cases": pools})
    assert run.rc == 0, run
    fields = [r.get("field") for r in items(run, "Clusters") + items(run, "Node pools")]
    assert fields == ["bootstrap_artifact_source", "node_os_upgrade_channel", "kubernetes_version",
                      "gpu_driver", "min_count", "taints[0]"]
    assert arm_requests(arm) == []


def test_throttling_on_the_cluster_put_and_a_failed_pool_operation(playbook, arm, stage):
    identities = seed_identities(arm, stage)
    arm.clear_requests()
    arm.add_fault(method="PUT", path=r"/managedClusters/aks-it$", status=429, retry_after=1, times=2)
    arm.add_fault(method="PUT", path=r"/agentPools/gpu$", operation="Failed", code="AllocationFailed",
                  message="Allocation failed. We do not have sufficient capacity for the requested VM size")
    run = playbook(MODULES, {"cluster_cases": [cluster_args(stage, identities)], "pool_cases": [pool_args(stage)]})
    assert run.rc == 0, run
    [cluster] = items(run, "Clusters")
    [pool] = items(run, "Node pools")
    assert cluster.get("msg") is None and cluster["changed"] and cluster["retries"] == 2, cluster
    assert [r["status"] for r in arm_requests(arm) if r["method"] == "PUT" and "managedClusters/aks-it" in r["path"]
            and "agentPools" not in r["path"]] == [429, 429, 201]
    assert "AllocationFailed" in pool["msg"] and "sufficient capacity" in pool["msg"], pool
    assert "Traceback" not in json.dumps(run.events)
    assert by_suffix(arm, "/agentPools/gpu")["properties"]["provisioningState"] == "Failed"
    again = playbook(MODULES, {"pool_cases": [pool_args(stage)]})
    [pool] = items(again, "Node pools")
    assert pool.get("msg") is None and pool["changed"], pool      # a Failed pool is applied again
    assert by_suffix(arm, "/agentPools/gpu")["properties"]["provisioningState"] == "Succeeded"


def test_diff_and_read_modify_write_keep_the_gpu_pool(playbook, arm, stage, existing):
    case = cluster_args(stage, existing, tags={"owner": "platform"})
    run = playbook(MODULES, {"cluster_cases": [case]}, diff=True, json_output=False)
    assert run.rc == 0, run.stdout[-3000:]
    assert "owner" in run.stdout and "platform" in run.stdout
    [put] = [w for w in arm.writes() if w["method"] == "PUT"]
    sent = put["body"]["properties"]
    assert sorted(p["name"] for p in sent["agentPoolProfiles"]) == ["gpu", "system"]
    assert sent["kubernetesVersion"] == "1.34"            # sent back as stored: no upgrade as a side effect
    assert put["body"]["tags"] == {"owner": "platform"}
    assert by_suffix(arm, "/agentPools/gpu")["properties"]["gpuProfile"]["nvidia"]["managementMode"] == "Managed"


def test_wait_false_returns_while_creating_then_waits(playbook, arm, stage):
    identities = seed_identities(arm, stage)
    arm.clear_requests()
    arm.set_time_scale(1.0)
    arm.set_duration(CLUSTER_TYPE, 4)
    started = dict(cluster_args(stage, identities), wait=False)
    waited = dict(cluster_args(stage, identities), wait=True)
    run = playbook(MODULES, {"cluster_cases": [started, waited]})
    assert run.rc == 0, run
    first, second = items(run, "Clusters")
    assert first["provisioning_state"] == "Creating" and first["changed"]
    assert second["provisioning_state"] == "Succeeded" and not second["changed"]
    assert [w["method"] for w in arm.writes()] == ["PUT"]


def test_start_and_finish_entry_points_leave_room_for_another_stage(playbook, arm, stage):
    arm.set_time_scale(1.0)
    arm.set_duration(CLUSTER_TYPE, 4)
    arm.set_duration(CLUSTER_TYPE + "/agentPools", 0.5)
    arm.set_duration("Microsoft.Features/providers/features", 0.5)
    run = playbook("../tests/integration/playbooks/cluster_start_finish.yml",
                   dict(stage, aks_cluster_registry_preflight=False))
    assert run.rc == 0, run
    writes = [(w["method"], w["path"].rsplit("/", 1)[-1], w["time"]) for w in arm.writes()]
    names = [name for _method, name, _time in writes]
    assert names.index("aks-it") < names.index("id-in-between") < names.index("gpu"), names
    cluster = next(t for _m, name, t in writes if name == "aks-it")
    between = next(t for _m, name, t in writes if name == "id-in-between")
    assert between - cluster < 4   # it ran while the cluster was being created
    assert by_suffix(arm, "/agentPools/gpu")["properties"]["provisioningState"] == "Succeeded"
