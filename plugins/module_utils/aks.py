# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What AKS allows, written once: versions, taints, GPU sizes, isolated-mode rules.

Pure functions, shared by the ``aks_cluster`` and ``aks_agent_pool`` modules and the
``aks_cluster_problems`` filter (the role's preflight), and table-tested in
``tests/unit/plugins/module_utils/test_aks.py``. Every check returns a problem string
(or raises ``InputError``) naming the option at fault, before any request is sent.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_errors import InputError

# The newest stable api-version (2026-08-01) is the first stable one with
# gpuProfile.nvidia.managementMode; bootstrapProfile, gpuProfile.driver and API server VNet
# integration are in every stable version since 2025-04-01.
DEFAULT_API_VERSION = "2026-08-01"
MANAGED_GPU_FIELD_SINCE = "2026-08-01"
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")

# A network-isolated cluster (outboundType none, bootstrap from the registry cache).
ISOLATED_MIN_VERSION = (1, 30)
ISOLATED_OS_UPGRADE_CHANNELS = ("NodeImage", "None")
OS_UPGRADE_CHANNELS = ("NodeImage", "None", "Unmanaged", "SecurityPatch")
MANAGED_GPU_TAG = "EnableManagedGPUExperience"
MANAGED_GPU_FEATURE = ("Microsoft.ContainerService", "ManagedGPUExperiencePreview")

# AKS adds these to every spot pool itself; they are not the user's.
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
SPOT_LABEL = ("kubernetes.azure.com/scalesetpriority", "spot")

VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
DNS_PREFIX_RE = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$")
LINUX_POOL_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Kubernetes label/taint key: optional DNS prefix, then a name of 1-63 characters.
_K8S_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_K8S_KEY = r"(%s(\.%s)*/)?%s" % (r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", _K8S_NAME)
TAINT_RE = re.compile(r"^(?P<key>%s)=(?P<value>%s):(?P<effect>[A-Za-z]+)$" % (_K8S_KEY, _K8S_NAME))
LABEL_KEY_RE = re.compile(r"^%s$" % _K8S_KEY)
LABEL_VALUE_RE = re.compile(r"^(%s)?$" % _K8S_NAME)
RESOURCE_ID_RE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/.+", re.IGNORECASE)

# Azure N-series: NC, NCC (confidential), ND, NV, NG. The NVv4 (Radeon MI25) and NG (Radeon
# PRO V620) sizes carry AMD GPUs, which the managed NVIDIA experience cannot drive.
GPU_SIZE_RE = re.compile(r"^standard_n(c|cc|d|g|v)\d", re.IGNORECASE)
AMD_GPU_SIZE_RE = re.compile(r"^standard_(nv\d+as_v4|ng\d)", re.IGNORECASE)


# -- versions -----------------------------------------------------------------------
def parse_version(value, field="kubernetes_version"):
    """``"1.34"`` -> ``(1, 34)``; ``"1.34.2"`` -> ``(1, 34, 2)``; anything else is refused."""
    match = VERSION_RE.match(str(value or "").strip())
    if not match:
        raise InputError(field, "%r is not a Kubernetes version (MAJOR.MINOR or MAJOR.MINOR.PATCH)" % value)
    return tuple(int(part) for part in match.groups() if part is not None)


def version_transition(desired, actual, field="kubernetes_version"):
    """How ``desired`` relates to the running ``actual`` version, at the precision of desired.

    ``"1.34"`` against ``"1.34.2"`` is ``"same"`` (the patch is AKS's choice); returns
    ``"same"``, ``"upgrade"`` or ``"downgrade"``.
    """
    want = parse_version(desired, field)
    have = parse_version(actual, field)[:len(want)]
    if want == have:
        return "same"
    return "upgrade" if want > have else "downgrade"


def check_version_change(desired, actual, field="kubernetes_version", what="the cluster"):
    """Refuse what AKS refuses (a downgrade, skipping a minor version); return the transition."""
    if desired in (None, "") or actual in (None, ""):
        return "same"
    transition = version_transition(desired, actual, field)
    if transition == "downgrade":
        raise InputError(field, "%s runs Kubernetes %s; AKS cannot downgrade to %s" % (what, actual, desired))
    if transition == "upgrade":
        want, have = parse_version(desired, field), parse_version(actual, field)
        if want[0] != have[0] or want[1] > have[1] + 1:
            step = "%d.%d" % (have[0], have[1] + 1)
            raise InputError(field, "%s runs Kubernetes %s; AKS upgrades one minor version at a time, "
                                    "so %s must be reached through %s" % (what, actual, desired, step))
    return transition


def version_at_least(value, minimum):
    return parse_version(value)[:len(minimum)] >= tuple(minimum)


# -- api-versions ---------------------------------------------------------------------
def check_api_version(value, field="api_version"):
    if not API_VERSION_RE.match(str(value or "")):
        raise InputError(field, "%r is not an ARM api-version (YYYY-MM-DD or YYYY-MM-DD-preview)" % value)


def managed_gpu_field_supported(api_version):
    """Whether ``gpuProfile.nvidia.managementMode`` exists in this api-version.

    It is in the stable api-versions since 2026-08-01. Older stable versions, and preview
    versions (whose schemas this collection does not track), use the preview tag
    ``EnableManagedGPUExperience=true`` instead.
    """
    return not str(api_version).endswith("-preview") and str(api_version) >= MANAGED_GPU_FIELD_SINCE


# -- node pools -----------------------------------------------------------------------
def is_gpu_vm_size(vm_size):
    return bool(GPU_SIZE_RE.match(str(vm_size or "")))


def is_nvidia_vm_size(vm_size):
    return is_gpu_vm_size(vm_size) and not AMD_GPU_SIZE_RE.match(str(vm_size))


def taint_problem(taint):
    """None when ``taint`` is ``key=value:Effect``, else what is wrong with it."""
    match = TAINT_RE.match(str(taint or ""))
    if not match:
        return "%r is not key=value:Effect (for example sku=gpu:NoSchedule)" % (taint,)
    if match.group("effect") not in TAINT_EFFECTS:
        return "%r has effect %r; it must be one of %s" % (taint, match.group("effect"), ", ".join(TAINT_EFFECTS))
    return None


def label_problem(key, value):
    if not LABEL_KEY_RE.match(str(key)):
        return "%r is not a Kubernetes label key" % (key,)
    if not LABEL_VALUE_RE.match(str(value)):
        return "value %r of %r is not a Kubernetes label value (63 characters at most, alphanumerics, -_.)" % (
            value, key)
    return None


def pool_problems(pool, prefix=""):
    """Problems of one node pool description (the module's option names), each naming its field.

    ``pool`` keys: name, vm_size, count, enable_auto_scaling, min_count, max_count, taints,
    labels, mode, priority, eviction_policy, spot_max_price, gpu_driver, gpu_management_mode.
    """
    problems = []

    def bad(field, text):
        problems.append("%s%s: %s" % (prefix, field, text))

    name = pool.get("name")
    if name is not None and not LINUX_POOL_NAME_RE.match(str(name)):
        bad("name", "%r is not a Linux node pool name (a lowercase letter, then up to 11 lowercase letters or "
                    "digits)" % (name,))
    for index, taint in enumerate(pool.get("taints") or []):
        problem = taint_problem(taint)
        if problem:
            bad("taints[%d]" % index, problem)
    for key, value in (pool.get("labels") or {}).items():
        problem = label_problem(key, value)
        if problem:
            bad("labels", problem)
    low, high, count = pool.get("min_count"), pool.get("max_count"), pool.get("count")
    autoscale = pool.get("enable_auto_scaling")
    if autoscale:
        if low is None or high is None:
            bad("min_count" if low is None else "max_count", "is required with enable_auto_scaling=true")
    elif autoscale is False and (low is not None or high is not None):
        bad("min_count" if low is not None else "max_count", "only applies with enable_auto_scaling=true")
    for field, value in (("count", count), ("min_count", low), ("max_count", high)):
        if value is not None and not 0 <= int(value) <= 1000:
            bad(field, "must be between 0 and 1000, got %s" % value)
    if low is not None and high is not None and int(low) > int(high):
        bad("min_count", "%s is greater than max_count %s" % (low, high))
    elif autoscale and count is not None and low is not None and high is not None \
            and not int(low) <= int(count) <= int(high):
        bad("count", "%s is outside the autoscaler bounds %s..%s" % (count, low, high))
    system = str(pool.get("mode") or "").lower() == "system"
    if system and (count is not None and int(count) < 1 or low is not None and int(low) < 1):
        bad("count" if count is not None and int(count) < 1 else "min_count", "a System pool needs at least one node")
    spot = str(pool.get("priority") or "").lower() == "spot"
    if system and spot:
        bad("priority", "a System pool cannot use Spot virtual machines")
    if not spot:
        for field in ("eviction_policy", "spot_max_price"):
            if pool.get(field) is not None:
                bad(field, "only applies with priority=Spot")
    price = pool.get("spot_max_price")
    if price is not None and float(price) != -1 and float(price) <= 0:
        bad("spot_max_price", "must be -1 (pay up to the on-demand price) or a positive price, got %s" % price)
    vm_size = pool.get("vm_size")
    gpu_settings = [f for f in ("gpu_driver", "gpu_management_mode") if pool.get(f) is not None]
    if vm_size and gpu_settings and not is_gpu_vm_size(vm_size):
        bad(gpu_settings[0], "GPU settings on %s, which has no GPU (GPU sizes are the N-series, for example "
                             "Standard_NC24ads_A100_v4)" % vm_size)
    if pool.get("gpu_management_mode") == "Managed":
        if vm_size and is_gpu_vm_size(vm_size) and not is_nvidia_vm_size(vm_size):
            bad("gpu_management_mode", "the managed NVIDIA experience needs an NVIDIA GPU; %s has an AMD GPU"
                % vm_size)
        if pool.get("gpu_driver") == "None":
            bad("gpu_management_mode", "Managed installs and manages the NVIDIA driver; it cannot be combined "
                                       "with gpu_driver=None")
    return problems


# -- clusters -------------------------------------------------------------------------
def cidr_problem(value, field):
    try:
        ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        return "%s: %r is not a CIDR without host bits (%s)" % (field, value, err)
    return None


def isolation_problems(outbound_type, artifact_source, registry_id, os_upgrade_channel, kubernetes_version):
    """What AKS refuses for a network-isolated cluster, each problem naming the option."""
    problems = []
    isolated = str(outbound_type or "").lower() == "none" or artifact_source == "Cache"
    if str(outbound_type or "").lower() == "none" and artifact_source != "Cache":
        problems.append("bootstrap_artifact_source: outbound_type=none (a network-isolated cluster) needs "
                        "bootstrap_artifact_source=Cache: with no way out the nodes can only bootstrap from the "
                        "registry's artifact cache (got %s)" % (artifact_source or "no bootstrap profile"))
    if artifact_source == "Cache" and not registry_id:
        problems.append("bootstrap_container_registry_id: is required with bootstrap_artifact_source=Cache "
                        "(the Premium registry with the aks-managed-mcr cache rule)")
    if registry_id and not RESOURCE_ID_RE.match(str(registry_id)):
        problems.append("bootstrap_container_registry_id: %r is not a resource id" % (registry_id,))
    if isolated and os_upgrade_channel is not None and os_upgrade_channel not in ISOLATED_OS_UPGRADE_CHANNELS:
        problems.append("node_os_upgrade_channel: %s needs outbound access to package mirrors; a network-"
                        "isolated cluster supports only %s" % (os_upgrade_channel,
                                                               " or ".join(ISOLATED_OS_UPGRADE_CHANNELS)))
    if isolated and kubernetes_version and VERSION_RE.match(str(kubernetes_version)) \
            and not version_at_least(kubernetes_version, ISOLATED_MIN_VERSION):
        problems.append("kubernetes_version: a network-isolated cluster needs Kubernetes %d.%d or later, got %s"
                        % (ISOLATED_MIN_VERSION + (kubernetes_version,)))
    return problems


def network_problems(plugin, plugin_mode, pod_cidr, service_cidr, dns_service_ip):
    problems = []
    if plugin_mode == "overlay" and plugin not in (None, "azure"):
        problems.append("network_plugin_mode: overlay needs network_plugin=azure (got %s)" % plugin)
    if pod_cidr and plugin == "azure" and plugin_mode != "overlay":
        problems.append("pod_cidr: only applies to Azure CNI overlay (network_plugin_mode=overlay) or kubenet")
    for field, value in (("pod_cidr", pod_cidr), ("service_cidr", service_cidr)):
        if value:
            problem = cidr_problem(value, field)
            if problem:
                problems.append(problem)
    if dns_service_ip:
        try:
            address = ipaddress.ip_address(str(dns_service_ip))
        except ValueError:
            problems.append("dns_service_ip: %r is not an IP address" % (dns_service_ip,))
        else:
            if service_cidr and not cidr_problem(service_cidr, "service_cidr"):
                net = ipaddress.ip_network(str(service_cidr))
                if address not in net or address == net.network_address + 1 or address == net.network_address:
                    problems.append("dns_service_ip: %s must lie inside service_cidr %s and not be its first address"
                                    % (dns_service_ip, service_cidr))
    if pod_cidr and service_cidr and not cidr_problem(pod_cidr, "pod_cidr") \
            and not cidr_problem(service_cidr, "service_cidr") \
            and ipaddress.ip_network(str(pod_cidr)).overlaps(ipaddress.ip_network(str(service_cidr))):
        problems.append("service_cidr: %s overlaps pod_cidr %s" % (service_cidr, pod_cidr))
    return problems


def raise_first(problems):
    """Raise the first problem (``"field: text"``) as an InputError."""
    if problems:
        field, _sep, text = problems[0].partition(": ")
        raise InputError(field, text)
