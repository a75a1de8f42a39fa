"""The role's preflight filters: input problems name the role variable; registry problems."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.filter.aks_cluster_problems import aks_cluster_problems
from ansible_collections.airgap.aks_inference.plugins.filter.aks_registry_problems import aks_registry_problems

RID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/"
ACR = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr"
GOOD = {
    "aks_cluster_name": "aks-llm", "aks_cluster_resource_group": "rg", "aks_cluster_location": "westeurope",
    "aks_cluster_node_subnet_id": RID + "nodes", "aks_cluster_apiserver_subnet_id": RID + "apiserver",
    "aks_cluster_container_registry_id": ACR, "aks_cluster_kubernetes_version": "1.34",
    "aks_cluster_node_os_upgrade_channel": "NodeImage",
    "aks_cluster_network": {"pod_cidr": "10.244.0.0/16", "service_cidr": "10.0.0.0/16", "dns_service_ip": "10.0.0.10"},
    "aks_cluster_system_pool": {"name": "system", "vm_size": "Standard_D4ds_v5", "count": 2},
    "aks_cluster_gpu_pool": {"name": "gpu", "vm_size": "Standard_NC24ads_A100_v4", "enable_auto_scaling": True,
                             "count": 1, "min_count": 1, "max_count": 2, "taints": ["sku=gpu:NoSchedule"],
                             "gpu_driver": "Install", "gpu_management_mode": "Managed"},
    "aks_cluster_gpu_pool_enabled": True, "aks_cluster_kubeconfig_path": "~/.kube/x",
    "aks_cluster_control_plane_identity_name": "id-aks-llm-control-plane",
    "aks_cluster_kubelet_identity_name": "id-aks-llm-kubelet",
}


def with_(**changes):
    out = dict(GOOD)
    for key, value in changes.items():
        if "." in key:
            var, sub = key.split(".", 1)
            out[var] = dict(out[var], **{sub: value})
        else:
            out[key] = value
    return out


CASES = [
    (with_(**{"aks_cluster_gpu_pool.vm_size": "Standard_D4ds_v5"}), "aks_cluster_gpu_pool.vm_size: Standard_D4ds_v5 has no GPU"),
    (with_(**{"aks_cluster_gpu_pool.min_count": 3}), "aks_cluster_gpu_pool.min_count: 3 is greater than max_count 2"),
    (with_(**{"aks_cluster_gpu_pool.taints": ["sku=gpu"]}), "aks_cluster_gpu_pool.taints[0]:"),
    (with_(aks_cluster_node_os_upgrade_channel="SecurityPatch"), "aks_cluster_node_os_upgrade_channel: SecurityPatch"),
    (with_(aks_cluster_kubernetes_version="1.33"), "aks_cluster_kubernetes_version: the managed GPU experience"),
    (with_(aks_cluster_kubernetes_version="1.29"), "aks_cluster_kubernetes_version: a network-isolated cluster needs"),
    (with_(aks_cluster_kubernetes_version="one"), "aks_cluster_kubernetes_version: 'one' is not"),
    (with_(aks_cluster_node_subnet_id=""), "aks_cluster_node_subnet_id: is empty and the isolated_network fact"),
    (with_(aks_cluster_container_registry_id=""), "aks_cluster_container_registry_id: is empty and the container_registry"),
    (with_(aks_cluster_container_registry_id="acr"), "aks_cluster_container_registry_id: 'acr' is not a resource id"),
    (with_(**{"aks_cluster_network.dns_service_ip": "10.9.0.10"}), "aks_cluster_network.dns_service_ip"),
    (with_(**{"aks_cluster_system_pool.priority": "Spot"}), "aks_cluster_system_pool.priority"),
    (with_(**{"aks_cluster_gpu_pool.name": "system"}), "aks_cluster_gpu_pool.name: system is the system pool's name"),
    (with_(aks_cluster_name="-x"), "aks_cluster_name:"),
    (with_(aks_cluster_kubelet_identity_name="x"), "aks_cluster_kubelet_identity_name:"),
]


def test_sound_input_has_no_problem():
    assert aks_cluster_problems(GOOD) == []
    assert aks_cluster_problems(with_(aks_cluster_gpu_pool_enabled="False",
                                      **{"aks_cluster_gpu_pool.vm_size": "Standard_D4ds_v5"})) == []


@pytest.mark.parametrize("settings,problem", CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_problems_name_the_variable(settings, problem):
    problems = aks_cluster_problems(settings)
    assert problems and problems[0].startswith(problem), problems


REGISTRY = {"exists": True, "id": ACR, "sku": "Premium", "public_network_access": "Disabled",
            "private_endpoint_connections": [{"status": "Approved"}],
            "cache_rules": [{"name": "aks-managed-mcr", "source_repository": "mcr.microsoft.com/*",
                             "target_repository": "aks-managed-repository/*"}]}


@pytest.mark.parametrize("changes,words", [
    ({}, None),
    ({"exists": False}, "does not exist"),
    ({"sku": "Standard"}, "is Standard"),
    ({"public_network_access": "Enabled"}, "public network access Enabled"),
    ({"private_endpoint_connections": [{"status": "Pending"}]}, "no approved private endpoint"),
    ({"private_endpoint_connections": []}, "no approved private endpoint"),
    ({"cache_rules": []}, "has no cache rule aks-managed-mcr"),
    ({"cache_rules": [{"name": "aks-managed-mcr", "source_repository": "mcr.microsoft.com/oss/*",
                       "target_repository": "aks-managed-repository/*"}]}, "it must map exactly"),
])
def test_registry_problems(changes, words):
    problems = aks_registry_problems(dict(REGISTRY, **changes))
    if words is None:
        assert problems == []
    else:
        assert problems and problems[0].startswith("aks_cluster_container_registry_id: registry") and \
            words in problems[0], problems
