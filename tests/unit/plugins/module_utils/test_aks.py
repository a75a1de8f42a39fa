"""What AKS allows: versions, taints, GPU sizes, pools, isolated-mode rules (table-driven)."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import aks
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError


@pytest.mark.parametrize("value,parsed", [("1.34", (1, 34)), ("1.34.2", (1, 34, 2)), (" 1.30 ", (1, 30))])
def test_parse_version(value, parsed):
    assert aks.parse_version(value) == parsed


@pytest.mark.parametrize("value", ["1", "v1.34", "1.34.2.1", "latest", "", None, "1.x"])
def test_parse_version_refuses(value):
    with pytest.raises(InputError) as err:
        aks.parse_version(value, "aks_cluster_kubernetes_version")
    assert err.value.field == "aks_cluster_kubernetes_version"


@pytest.mark.parametrize("desired,actual,expected", [
    ("1.34", "1.34.2", "same"),        # the patch is AKS's choice
    ("1.34.2", "1.34.2", "same"),
    ("1.34.3", "1.34.2", "upgrade"),
    ("1.35", "1.34.2", "upgrade"),
    ("1.33", "1.34.2", "downgrade"),
    ("1.34.1", "1.34.2", "downgrade"),
    ("2.0", "1.34.2", "upgrade"),
])
def test_version_transition(desired, actual, expected):
    assert aks.version_transition(desired, actual) == expected


@pytest.mark.parametrize("desired,actual,expected,words", [
    ("1.34", "1.34.2", "same", None),
    ("1.35", "1.34.2", "upgrade", None),
    ("1.35.1", "1.34.2", "upgrade", None),
    (None, "1.34.2", "same", None),            # unset: whatever runs
    ("1.33", "1.34.2", None, "cannot downgrade"),
    ("1.36", "1.34.2", None, "one minor version at a time"),
    ("2.0", "1.34.2", None, "one minor version at a time"),
])
def test_check_version_change(desired, actual, expected, words):
    if words:
        with pytest.raises(InputError) as err:
            aks.check_version_change(desired, actual)
        assert words in err.value.problem and err.value.field == "kubernetes_version"
    else:
        assert aks.check_version_change(desired, actual) == expected


@pytest.mark.parametrize("api,field", [("2026-08-01", True), ("2026-09-01", True), ("2025-10-01", False),
                                       ("2025-04-01", False), ("2026-10-02-preview", False)])
def test_managed_gpu_field_by_api_version(api, field):
    assert aks.managed_gpu_field_supported(api) is field


@pytest.mark.parametrize("value", ["2026-08-01", "2025-10-02-preview"])
def test_api_version_ok(value):
    aks.check_api_version(value)


@pytest.mark.parametrize("value", ["2026-8-1", "latest", "", None])
def test_api_version_refused(value):
    with pytest.raises(InputError):
        aks.check_api_version(value)


@pytest.mark.parametrize("size,gpu,nvidia", [
    ("Standard_NC24ads_A100_v4", True, True),
    ("standard_nc4as_t4_v3", True, True),
    ("Standard_ND96isr_H100_v5", True, True),
    ("Standard_NCC40ads_H100_v5", True, True),
    ("Standard_NV36ads_A10_v5", True, True),
    ("Standard_NV4as_v4", True, False),          # AMD Radeon MI25
    ("Standard_NG32ads_V620_v1", True, False),   # AMD Radeon PRO V620
    ("Standard_D4ds_v5", False, False),
    ("Standard_E8s_v5", False, False),
    ("", False, False),
])
def test_gpu_sizes(size, gpu, nvidia):
    assert aks.is_gpu_vm_size(size) is gpu
    assert aks.is_nvidia_vm_size(size) is nvidia


@pytest.mark.parametrize("taint,ok", [
    ("sku=gpu:NoSchedule", True),
    ("nvidia.com/gpu=present:NoExecute", True),
    ("workload=llm:PreferNoSchedule", True),
    ("sku=gpu", False),
    ("sku:NoSchedule", False),
    ("sku=gpu:NoSchedul", False),
    ("sku=gpu:noschedule", False),
    ("=gpu:NoSchedule", False),
    ("sku gpu:NoSchedule", False),
])
def test_taints(taint, ok):
    assert (aks.taint_problem(taint) is None) is ok


POOL_CASES = [
    ({"vm_size": "Standard_NC24ads_A100_v4", "gpu_management_mode": "Managed", "taints": ["sku=gpu:NoSchedule"]}, None),
    ({"enable_auto_scaling": True, "min_count": 3, "max_count": 1}, "min_count: 3 is greater than max_count 1"),
    ({"enable_auto_scaling": True, "min_count": 1}, "max_count: is required with enable_auto_scaling=true"),
    ({"enable_auto_scaling": False, "min_count": 1}, "min_count: only applies with enable_auto_scaling=true"),
    ({"enable_auto_scaling": True, "min_count": 1, "max_count": 2, "count": 5}, "count: 5 is outside"),
    ({"taints": ["sku=gpu:NoSchedule", "bad"]}, "taints[1]: 'bad' is not key=value:Effect"),
    ({"vm_size": "Standard_D4ds_v5", "gpu_driver": "Install"}, "gpu_driver: GPU settings on Standard_D4ds_v5"),
    ({"vm_size": "Standard_D4ds_v5", "gpu_management_mode": "Managed"}, "gpu_management_mode: GPU settings"),
    ({"vm_size": "Standard_NV4as_v4", "gpu_management_mode": "Managed"}, "has an AMD GPU"),
    ({"gpu_driver": "None", "gpu_management_mode": "Managed"}, "cannot be combined with gpu_driver=None"),
    ({"mode": "System", "priority": "Spot"}, "priority: a System pool cannot use Spot"),
    ({"mode": "System", "count": 0}, "count: a System pool needs at least one node"),
    ({"eviction_policy": "Delete"}, "eviction_policy: only applies with priority=Spot"),
    ({"priority": "Spot", "spot_max_price": 0}, "spot_max_price: must be -1"),
    ({"name": "GPU"}, "name: 'GPU' is not a Linux node pool name"),
    ({"name": "gpupoolnumber1"}, "name: 'gpupoolnumber1' is not a Linux node pool name"),
    ({"labels": {"bad key!": "x"}}, "labels: 'bad key!' is not a Kubernetes label key"),
    ({"count": 1001}, "count: must be between 0 and 1000"),
]


@pytest.mark.parametrize("pool,problem", POOL_CASES, ids=[c[1] or "ok" for c in POOL_CASES])
def test_pool_problems(pool, problem):
    problems = aks.pool_problems(pool, prefix="gpu.")
    if problem is None:
        assert problems == []
    else:
        assert problems and problems[0].startswith("gpu."), problems
        assert problem in problems[0], problems


ISOLATION_CASES = [
    (("none", "Cache", "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerRegistry/registries/a",
      "NodeImage", "1.34"), None),
    (("none", None, None, None, None), "bootstrap_artifact_source: outbound_type=none"),
    (("none", "Direct", None, None, None), "bootstrap_artifact_source: outbound_type=none"),
    ((None, "Cache", None, None, None), "bootstrap_container_registry_id: is required"),
    ((None, "Cache", "acr", None, None), "bootstrap_container_registry_id: 'acr' is not a resource id"),
    (("none", "Cache", "/subscriptions/s/resourceGroups/r/providers/X/y/z", "SecurityPatch", None),
     "node_os_upgrade_channel: SecurityPatch"),
    (("none", "Cache", "/subscriptions/s/resourceGroups/r/providers/X/y/z", "Unmanaged", None),
     "supports only NodeImage or None"),
    (("none", "Cache", "/subscriptions/s/resourceGroups/r/providers/X/y/z", None, "1.29"),
     "kubernetes_version: a network-isolated cluster needs Kubernetes 1.30"),
    (("loadBalancer", "Direct", None, "SecurityPatch", "1.29"), None),  # not isolated: AKS's usual rules
]


@pytest.mark.parametrize("args,problem", ISOLATION_CASES, ids=[c[1] or "ok" for c in ISOLATION_CASES])
def test_isolation_problems(args, problem):
    problems = aks.isolation_problems(*args)
    if problem is None:
        assert problems == []
    else:
        assert problems and problem in problems[0], problems


@pytest.mark.parametrize("args,problem", [
    (("azure", "overlay", "10.244.0.0/16", "10.0.0.0/16", "10.0.0.10"), None),
    (("kubenet", "overlay", None, None, None), "network_plugin_mode: overlay needs network_plugin=azure"),
    (("azure", None, "10.244.0.0/16", None, None), "pod_cidr: only applies to Azure CNI overlay"),
    (("azure", "overlay", "10.244.0.1/16", None, None), "pod_cidr: '10.244.0.1/16' is not a CIDR"),
    (("azure", "overlay", None, "10.0.0.0/16", "10.1.0.10"), "dns_service_ip: 10.1.0.10 must lie inside"),
    (("azure", "overlay", None, "10.0.0.0/16", "10.0.0.1"), "not be its first address"),
    (("azure", "overlay", "10.0.0.0/8", "10.0.0.0/16", None), "service_cidr: 10.0.0.0/16 overlaps pod_cidr"),
])
def test_network_problems(args, problem):
    problems = aks.network_problems(*args)
    if problem is None:
        assert problems == []
    else:
        assert problems and problem in problems[0], problems


def test_raise_first_names_the_field():
    with pytest.raises(InputError) as err:
        aks.raise_first(["gpu.min_count: 3 is greater than max_count 1", "other: x"])
    assert err.value.field == "gpu.min_count" and err.value.problem == "3 is greater than max_count 1"
    aks.raise_first([])
