"""Microsoft.ContainerService: managedClusters, managedClusters/agentPools, the credential and
run-command POST actions, and managedClusters/commandResults.

Facts from the AKS RP (azure-rest-api-specs, specification/containerservice/.../aks, stable
2025-04-01 ... 2026-08-01; Microsoft Learn "network isolated AKS", "API server VNet integration",
"AKS managed GPU nodes"):

* PUT and DELETE of clusters and agent pools are long-running (Azure-AsyncOperation under
  ``/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{loc}/operations/{id}``);
  provisioningState is Creating | Updating | Upgrading | Scaling | Deleting | Succeeded | Failed |
  Canceled. A cluster takes about 10 minutes to create, a node pool about 5.
* A cluster PUT replaces the cluster; ``agentPoolProfiles`` are the cluster's agent pools, the
  same objects as ``managedClusters/agentPools`` (flattened: ``{"name", ...properties}``). Pools
  left out of an update are kept; listed ones are updated; new names are created.
* Another operation on the cluster or one of its pools while one is in progress: 409
  ``OperationNotAllowed``.
* Network isolated: ``networkProfile.outboundType: none`` needs ``bootstrapProfile.artifactSource:
  Cache`` (the nodes pull from the registry's artifact cache: a Premium registry with the
  ``aks-managed-mcr`` rule ``mcr.microsoft.com/*`` -> ``aks-managed-repository/*``); Kubernetes
  1.30 or later; node OS upgrade channel NodeImage or None; Cache cannot go back to Direct.
* A user-assigned kubelet identity needs a user-assigned control-plane identity holding
  Managed Identity Operator over it (``CustomKubeletIdentityMissingPermission``); with a BYO
  virtual network the control-plane identity needs Network Contributor on the subnets; the
  kubelet identity needs AcrPull on the bootstrap registry, else node bootstrap fails and the
  create operation ends Failed. (Checked only when the Microsoft.Authorization provider is loaded.)
* Immutable after creation: network plugin/mode, pod/service CIDRs, DNS service IP, DNS prefix,
  private cluster, API server subnet; for pools the VM size, OS SKU, subnet, max pods, spot
  priority/eviction policy and the GPU driver / management mode (``PropertyChangeNotAllowed``).
  Kubernetes versions go up one minor at a time and never down.
* ``gpuProfile.nvidia.managementMode`` exists from stable 2026-08-01 on; older api-versions use
  the preview tag ``EnableManagedGPUExperience=true``. Either needs the subscription feature
  ``Microsoft.ContainerService/ManagedGPUExperiencePreview`` Registered and an NVIDIA GPU size.
* ``listClusterUserCredential`` / ``listClusterAdminCredential`` (POST, read-only) answer
  ``{"kubeconfigs": [{"name", "value": base64}]}``; admin credentials are refused when local
  accounts are disabled.
* ``runCommand`` (POST) answers 202 with ``Location: .../commandResults/{id}``; that URL answers
  202 while the command runs, then 200 ``{"id", "properties": {"provisioningState": "succeeded",
  "exitCode", "startedAt", "finishedAt", "logs"}}``. The emulator runs nothing: it records the
  command and the files of its context zip and answers exit code 0 with logs echoing them.
"""
import base64
import binascii
import datetime
import hashlib
import io
import ipaddress
import re
import zipfile

from ..errors import ArmError, bad_request, conflict
from ..registry import ResourceType, action, get_type, register
from ..store import Record
from ..util import canonical_enum, check_bool, check_int, check_list, check_object
from . import features
from ._answers import Answer
from .managedidentity import IDENTITY

try:  # the registry provider knows what its aks-managed-mcr rule must look like
    from .containerregistry import aks_cache_rule_problem
except ImportError:  # pragma: no cover - without it, a generic look at the registry's cache rules
    aks_cache_rule_problem = None

CLUSTER = "Microsoft.ContainerService/managedClusters"
POOL = "Microsoft.ContainerService/managedClusters/agentPools"
COMMAND = "Microsoft.ContainerService/managedClusters/commandResults"
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
REGISTRY = "Microsoft.ContainerRegistry/registries"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

STABLE = ("2024-09-01", "2024-10-01", "2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01",
          "2025-07-01", "2025-08-01", "2025-09-01", "2025-10-01", "2026-08-01")
PREVIEW = ("2025-04-02-preview", "2025-05-02-preview", "2025-06-02-preview", "2025-07-02-preview",
           "2025-08-02-preview", "2025-09-02-preview", "2025-10-02-preview")
API_VERSIONS = STABLE + PREVIEW
NVIDIA_FIELD_SINCE = "2026-08-01"   # first stable api-version with gpuProfile.nvidia

# Kubernetes versions on offer (minor -> patches, oldest first); the default is the newest GA minor
# but one, as AKS does.
K8S_VERSIONS = {
    "1.31": ("1.31.11", "1.31.13"),
    "1.32": ("1.32.7", "1.32.9"),
    "1.33": ("1.33.3", "1.33.5"),
    "1.34": ("1.34.1", "1.34.2"),
    "1.35": ("1.35.0",),
}
DEFAULT_K8S = "1.34"
ISOLATED_MIN = (1, 30)
ISOLATED_OS_CHANNELS = ("NodeImage", "None")

ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_MANAGED_IDENTITY_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"
ROLE_ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"

MANAGED_GPU_TAG = "EnableManagedGPUExperience"
MANAGED_GPU_FEATURE = ("Microsoft.ContainerService", "ManagedGPUExperiencePreview")
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
SPOT_LABEL = "kubernetes.azure.com/scalesetpriority"
GPU_SIZE = re.compile(r"^standard_n(c|cc|d|g|v)\d", re.IGNORECASE)
AMD_GPU_SIZE = re.compile(r"^standard_(nv\d+as_v4|ng\d)", re.IGNORECASE)
TAINT = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?=[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
                   r":(NoSchedule|PreferNoSchedule|NoExecute)$")
CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
IN_PROGRESS = ("creating", "updating", "upgrading", "scaling", "deleting", "starting", "stopping")

POOL_IMMUTABLE = ("vmSize", "osType", "osSKU", "vnetSubnetID", "podSubnetID", "maxPods", "osDiskSizeGB",
                  "osDiskType", "scaleSetPriority", "scaleSetEvictionPolicy", "availabilityZones")
POOL_READ_ONLY = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")
CLUSTER_NETWORK_IMMUTABLE = ("networkPlugin", "networkPluginMode", "podCidr", "serviceCidr", "dnsServiceIP")


def invalid(message, target=None, code="InvalidParameter"):
    return bad_request(code, message, target=target)


def not_allowed_change(prop, old, new):
    return bad_request("PropertyChangeNotAllowed",
                       f"Changing property '{prop}' is not allowed (from {old!r} to {new!r}).", target=prop)


def _version(value):
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?$", str(value or ""))
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def resolve_version(value):
    """A requested version (``1.34`` or ``1.34.2``) -> the patch it runs, or None if not offered."""
    parsed = _version(value)
    if parsed is None:
        return None
    patches = K8S_VERSIONS.get(f"{parsed[0]}.{parsed[1]}")
    if not patches:
        return None
    if len(parsed) == 2:
        return patches[-1]
    return value if value in patches else None


def _unsupported_version(value):
    offered = ", ".join(p for patches in K8S_VERSIONS.values() for p in patches)
    return invalid(f"Version {value} is not supported in this region. Please use [az aks get-versions] command "
                   f"to get the supported version list in this region. Offered: {offered}.",
                   "kubernetesVersion", code="K8sVersionNotSupported")


def _nvidia_field(api_version):
    return not str(api_version).endswith("-preview") and str(api_version) >= NVIDIA_FIELD_SINCE


def _is_isolated(props):
    outbound = str(((props.get("networkProfile") or {}).get("outboundType") or "")).lower()
    source = (props.get("bootstrapProfile") or {}).get("artifactSource")
    return outbound == "none" or source == "Cache"


def _in_progress(record):
    return str(record.properties.get("provisioningState", "")).lower() in IN_PROGRESS


def _busy(ctx, cluster, exclude_key=None):
    """409 if the cluster or one of its pools has an operation in progress."""
    for rec in [cluster] + ctx.children(cluster, POOL):
        if rec.key == exclude_key or not _in_progress(rec):
            continue
        state = rec.properties.get("provisioningState")
        what = "managed cluster" if rec.key == cluster.key else f"agent pool {rec.name}"
        raise conflict("OperationNotAllowed",
                       f"Operation is not allowed because there's an in progress {state.lower()} {what} "
                       f"operation on {cluster.name}. Please wait for it to finish before starting a new one.")


# -- role assignments (only when the Microsoft.Authorization provider is loaded) ----------------
def _assignments(ctx):
    if get_type(ROLE_ASSIGNMENT) is None:
        return None
    return ctx.of_type(ROLE_ASSIGNMENT)


def _scope_of(record):
    low = record.id.lower()
    cut = low.rfind("/providers/microsoft.authorization/roleassignments/")
    return record.properties.get("scope") or (record.id[:cut] if cut >= 0 else "")


def has_role(ctx, principal_id, role_guid, target_id):
    """Whether ``principal_id`` holds the role at ``target_id`` or above; True if nothing to check."""
    assignments = _assignments(ctx)
    if assignments is None or not principal_id:
        return True
    target = str(target_id or "").lower().rstrip("/")
    for rec in assignments:
        p = rec.properties
        if str(p.get("principalId", "")).lower() != str(principal_id).lower():
            continue
        if not str(p.get("roleDefinitionId", "")).lower().rstrip("/").endswith(role_guid):
            continue
        scope = str(_scope_of(rec)).lower().rstrip("/")
        if target == scope or target.startswith(scope + "/"):
            return True
    return False


# -- node pools, as a cluster's agentPoolProfiles or as agentPools resources --------------------
def _check_pool(ctx, cluster_props, name, p, old, api_version, subscription_id):
    """Validate and complete one pool's properties (in place). ``old``: the stored properties or None."""
    where = f"agent pool {name}"
    if not POOL_NAME.match(str(name or "")):
        raise invalid(f"The agent pool name '{name}' is invalid: a Linux agent pool name must start with a "
                      "lowercase letter and contain only lowercase letters and digits, 12 characters at most.",
                      "name", code="InvalidAgentPoolName")
    for key in POOL_READ_ONLY:
        p.pop(key, None)
    check_int(p.get("count"), "properties.count")
    check_int(p.get("minCount"), "properties.minCount")
    check_int(p.get("maxCount"), "properties.maxCount")
    check_int(p.get("maxPods"), "properties.maxPods")
    check_bool(p.get("enableAutoScaling"), "properties.enableAutoScaling")
    check_list(p.get("nodeTaints"), "properties.nodeTaints")
    check_object(p.get("nodeLabels"), "properties.nodeLabels")
    check_object(p.get("tags"), "properties.tags")
    check_object(p.get("gpuProfile"), "properties.gpuProfile")
    if old is None and not p.get("vmSize"):
        raise invalid(f"The vmSize of {where} is required.", "vmSize")
    if old is not None:
        for prop in POOL_IMMUTABLE:
            if prop in p and p[prop] is not None and prop in old and _differs(p[prop], old[prop]):
                raise not_allowed_change(prop, old[prop], p[prop])
            if prop not in p and prop in old:
                p[prop] = old[prop]
    p["mode"] = canonical_enum(p.get("mode") or (old or {}).get("mode") or "User", ["System", "User", "Gateway"],
                               "properties.mode", "AgentPoolMode")
    p["osType"] = canonical_enum(p.get("osType") or "Linux", ["Linux", "Windows"], "properties.osType", "OSType")
    p["scaleSetPriority"] = canonical_enum(p.get("scaleSetPriority") or "Regular", ["Regular", "Spot"],
                                           "properties.scaleSetPriority", "ScaleSetPriority")
    spot = p["scaleSetPriority"] == "Spot"
    if p.get("scaleSetEvictionPolicy") is not None:
        if not spot:
            raise invalid(f"scaleSetEvictionPolicy of {where} only applies to Spot pools.", "scaleSetEvictionPolicy")
        p["scaleSetEvictionPolicy"] = canonical_enum(p["scaleSetEvictionPolicy"], ["Delete", "Deallocate"],
                                                     "properties.scaleSetEvictionPolicy", "ScaleSetEvictionPolicy")
    if spot and p["mode"] == "System":
        raise invalid(f"{where} is a System pool; System pools cannot use Spot virtual machines.",
                      "scaleSetPriority", code="SpotPoolCannotBeSystemPool")
    if p.get("osSKU") is not None:
        p["osSKU"] = canonical_enum(p["osSKU"], ["Ubuntu", "Ubuntu2204", "Ubuntu2404", "AzureLinux",
                                                 "AzureLinux3", "CBLMariner", "Windows2022", "Windows2025"],
                                    "properties.osSKU", "OSSKU")
    autoscale = bool(p.get("enableAutoScaling"))
    low, high = p.get("minCount"), p.get("maxCount")
    if autoscale:
        if low is None or high is None:
            raise invalid(f"{where} enables the cluster autoscaler; minCount and maxCount are required.",
                          "minCount" if low is None else "maxCount")
        if low > high:
            raise invalid(f"The minCount {low} of {where} must be less than or equal to its maxCount {high}.",
                          "minCount", code="InvalidMinCount")
        if p.get("count") is None:
            p["count"] = (old or {}).get("count", low)
        if old is None and not low <= p["count"] <= high:
            raise invalid(f"The count {p['count']} of {where} must be within minCount {low} and maxCount {high}.",
                          "count")
    elif low is not None or high is not None:
        raise invalid(f"minCount and maxCount of {where} only apply when enableAutoScaling is true.", "minCount")
    p.setdefault("count", 1 if old is None else old.get("count", 1))
    if p["mode"] == "System" and (p["count"] < 1 or (autoscale and low < 1)):
        raise invalid(f"{where} is a System pool and needs at least one node.", "count")
    for taint in p.get("nodeTaints") or []:
        if not isinstance(taint, str) or not TAINT.match(taint) and taint != SPOT_TAINT:
            raise invalid(f"The taint '{taint}' of {where} is not valid: taints are key=value:effect, the effect "
                          "being NoSchedule, PreferNoSchedule or NoExecute.", "nodeTaints", code="InvalidNodeTaint")
    for key in (p.get("nodeLabels") or {}):
        if str(key).startswith("kubernetes.azure.com/") and key != SPOT_LABEL:
            raise invalid(f"The label '{key}' of {where} uses the reserved prefix kubernetes.azure.com.",
                          "nodeLabels", code="InvalidNodeLabel")
    # subnet
    subnet_id = p.get("vnetSubnetID")
    if subnet_id is not None:
        subnet = ctx.get(subnet_id)
        if subnet is None or subnet.rtype.type != SUBNET:
            raise invalid(f"The subnet {subnet_id} of {where} was not found.", "vnetSubnetID",
                          code="InvalidSubnetReference" if subnet is None else "InvalidParameter")
        p["vnetSubnetID"] = subnet.id
    # GPU
    size = str(p.get("vmSize") or (old or {}).get("vmSize") or "")
    gpu = p.get("gpuProfile")
    tags = p.get("tags") or {}
    if gpu is not None:
        if gpu.get("driver") is not None:
            gpu["driver"] = canonical_enum(gpu["driver"], ["Install", "None"], "properties.gpuProfile.driver",
                                           "GPUDriver")
        nvidia = gpu.get("nvidia")
        if nvidia is not None and not _nvidia_field(api_version):
            gpu.pop("nvidia")   # unknown to this api-version: ignored, as ARM ignores unknown properties
        elif nvidia is not None:
            check_object(nvidia, "properties.gpuProfile.nvidia")
            if nvidia.get("managementMode") is not None:
                nvidia["managementMode"] = canonical_enum(nvidia["managementMode"], ["Managed", "Unmanaged"],
                                                          "properties.gpuProfile.nvidia.managementMode",
                                                          "ManagementMode")
        if not GPU_SIZE.match(size):
            raise invalid(f"{where} sets gpuProfile but its VM size {size} has no GPU.", "gpuProfile",
                          code="GPUProfileNotSupportedOnVMSize")
    managed = ((gpu or {}).get("nvidia") or {}).get("managementMode") == "Managed" or \
        str(tags.get(MANAGED_GPU_TAG, "")).lower() == "true"
    if managed and old is None:
        if not GPU_SIZE.match(size) or AMD_GPU_SIZE.match(size):
            raise invalid(f"{where} asks for the managed NVIDIA GPU experience but {size} has no NVIDIA GPU.",
                          "gpuProfile", code="GPUProfileNotSupportedOnVMSize")
        if (gpu or {}).get("driver") == "None":
            raise invalid(f"{where}: the managed GPU experience installs the driver; gpuProfile.driver None "
                          "cannot be combined with it.", "gpuProfile.driver")
        if not features.is_registered(ctx, *MANAGED_GPU_FEATURE):
            raise invalid(f"The preview feature {'/'.join(MANAGED_GPU_FEATURE)} is not registered for subscription "
                          f"{subscription_id}. Register it (az feature register --namespace {MANAGED_GPU_FEATURE[0]} "
                          f"--name {MANAGED_GPU_FEATURE[1]}), wait until it is Registered, then re-register the "
                          "resource provider.", "gpuProfile", code="PreviewFeatureNotRegistered")
    if old is not None:
        old_gpu = old.get("gpuProfile") or {}
        new_gpu = p.get("gpuProfile") or {}
        for prop, before, after in (
                ("gpuProfile.driver", old_gpu.get("driver"), new_gpu.get("driver")),
                ("gpuProfile.nvidia.managementMode", (old_gpu.get("nvidia") or {}).get("managementMode"),
                 (new_gpu.get("nvidia") or {}).get("managementMode"))):
            if after is not None and before is not None and after != before:
                raise not_allowed_change(prop, before, after)
        tag_before = str((old.get("tags") or {}).get(MANAGED_GPU_TAG, "")).lower()
        if tag_before != "true" and str(tags.get(MANAGED_GPU_TAG, "")).lower() == "true":
            raise not_allowed_change(f"tags.{MANAGED_GPU_TAG}", tag_before or None, "true")
        if "gpuProfile" not in p and "gpuProfile" in old:
            p["gpuProfile"] = old["gpuProfile"]
    elif GPU_SIZE.match(size):
        p.setdefault("gpuProfile", {}).setdefault("driver", "Install")
    # version
    cluster_version = cluster_props.get("currentKubernetesVersion") or resolve_version(
        cluster_props.get("kubernetesVersion") or DEFAULT_K8S)
    wanted = p.get("orchestratorVersion")
    if wanted in (None, ""):
        p["orchestratorVersion"] = (old or {}).get("orchestratorVersion") or cluster_props.get("kubernetesVersion") \
            or DEFAULT_K8S
        wanted = p["orchestratorVersion"]
    current = resolve_version(wanted)
    if current is None:
        raise _unsupported_version(wanted)
    if old is not None and _version(current) < _version(old.get("currentOrchestratorVersion") or current):
        raise invalid(f"{where} runs Kubernetes {old.get('currentOrchestratorVersion')}; downgrading it to "
                      f"{wanted} is not allowed.", "orchestratorVersion", code="OperationNotAllowed")
    if cluster_version and _version(current)[:2] > _version(cluster_version)[:2]:
        raise invalid(f"The orchestratorVersion {wanted} of {where} is newer than the control plane "
                      f"({cluster_version}); upgrade the control plane first.", "orchestratorVersion",
                      code="NodePoolMcVersionIncompatible")
    p["currentOrchestratorVersion"] = current
    # server-side defaults
    p.setdefault("osSKU", "Ubuntu")
    p.setdefault("type", "VirtualMachineScaleSets")
    p.setdefault("maxPods", 250)
    p.setdefault("osDiskSizeGB", 128)
    p.setdefault("osDiskType", "Managed")
    p.setdefault("enableAutoScaling", False)
    p.setdefault("enableNodePublicIP", False)
    p.setdefault("powerState", {"code": "Running"})
    if spot:
        p.setdefault("scaleSetEvictionPolicy", "Delete")
        p.setdefault("spotMaxPrice", -1)
        taints = list(p.get("nodeTaints") or [])
        if SPOT_TAINT not in taints:
            taints.append(SPOT_TAINT)
        p["nodeTaints"] = taints
        p["nodeLabels"] = dict(p.get("nodeLabels") or {}, **{SPOT_LABEL: "spot"})
    image = "AKSAzureLinux-V3gen2" if str(p["osSKU"]).startswith("AzureLinux") else "AKSUbuntu-2204gen2containerd"
    p["nodeImageVersion"] = f"{image}-202610.01.0"
    if not p.get("vnetSubnetID"):
        for other in _pool_profiles_of(ctx, cluster_props):
            if other.get("vnetSubnetID"):
                p["vnetSubnetID"] = other["vnetSubnetID"]
                break
    return p


def _differs(a, b):
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() != b.lower()
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) != sorted(map(str, b))
    return a != b


def _pool_profiles_of(ctx, cluster_props):
    return list(getattr(ctx, "pool_profiles", None) or cluster_props.get("agentPoolProfiles") or [])


def _render_pool_props(props, api_version):
    out = dict(props)
    if "gpuProfile" in out and not _nvidia_field(api_version):
        gpu = dict(out["gpuProfile"])
        gpu.pop("nvidia", None)
        out["gpuProfile"] = gpu
    return out


def _save_child(ctx, parent, rtype, segment, name, body):
    key = f"{parent.key}/{segment.lower()}/{name.lower()}"
    rec = ctx.store.get(key)
    if rec is not None:
        rec.body = body
        rec.deleting = False
        return rec
    rec = Record(key, f"{parent.id}/{segment}/{name}", rtype, name, body, parent.key, parent.rg_key,
                 ctx.store.next_seq())
    ctx.store.put(rec)
    return rec


def _kubeconfig(cluster, user, admin):
    props = cluster.properties
    server = props.get("privateFQDN") or props.get("fqdn") or f"{cluster.name}.hcp.azmk8s.io"
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\narmemu cluster CA\n-----END CERTIFICATE-----\n").decode()
    if admin:
        secret = hashlib.sha256(f"{cluster.id}|admin".encode()).hexdigest()
        auth = f"    token: {secret}\n"
    elif (props.get("aadProfile") or {}).get("managed"):
        auth = ("    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n"
                "      args: [get-token, --login, azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]\n"
                "      interactiveMode: IfPossible\n")
    else:
        secret = hashlib.sha256(f"{cluster.id}|user".encode()).hexdigest()
        auth = f"    token: {secret}\n"
    name = cluster.name
    return (f"apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n"
            f"    certificate-authority-data: {ca}\n    server: https://{server}:443\n"
            f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {user}_{name}\n"
            f"current-context: {name}\npreferences: {{}}\nusers:\n- name: {user}_{name}\n  user:\n{auth}")


def _utc(seconds_from_now=0.0):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
@register
class ManagedCluster(ResourceType):
    type = CLUSTER
    api_versions = API_VERSIONS
    duration = 600.0
    delete_duration = 300.0
    etag = None
    patch = "tags"
    async_patch = True
    retry_after = 30
    put_headers = ("Azure-AsyncOperation",)
    name_pattern = CLUSTER_NAME
    name_code = "InvalidParameter"
    name_message = ("The value of parameter name '{name}' is invalid: 1-63 letters, digits, '-' and '_', starting "
                    "and ending with a letter or digit.")
    read_only_properties = ("provisioningState", "powerState", "maxAgentPools", "currentKubernetesVersion", "fqdn",
                            "azurePortalFQDN", "privateFQDN", "resourceUID")

    # -- PUT ------------------------------------------------------------------------------
    def validate(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing is not None else {}
        if existing is not None:
            _busy(ctx, existing)
        self._check_identity(ctx, body, existing)
        self._check_version(p, old)
        self._check_network(ctx, p, old)
        self._check_bootstrap(ctx, p, old, existing is None)
        self._check_isolation(p)
        self._check_apiserver(ctx, p, old, existing)
        self._check_aad(p)
        self._check_sku(body, existing)
        if existing is None:
            p.setdefault("dnsPrefix", re.sub(r"[^a-zA-Z0-9-]", "", ctx.name)[:54] or "aks")
        elif p.get("dnsPrefix") not in (None, old.get("dnsPrefix")):
            raise not_allowed_change("dnsPrefix", old.get("dnsPrefix"), p.get("dnsPrefix"))
        else:
            p["dnsPrefix"] = old.get("dnsPrefix")
        ctx.pool_plan = self._check_pools(ctx, p, old, existing)
        self._check_permissions(ctx, body, p, existing is None)

    def _check_identity(self, ctx, body, existing):
        identity = body.get("identity")
        check_object(identity, "identity")
        if identity is None:
            body["identity"] = (existing.body.get("identity") if existing is not None else None) or \
                {"type": "SystemAssigned"}
            identity = body["identity"]
        identity["type"] = canonical_enum(identity.get("type"), ["SystemAssigned", "UserAssigned", "None"],
                                          "identity.type", "ResourceIdentityType")
        ids = identity.get("userAssignedIdentities") or {}
        if identity["type"] == "UserAssigned":
            if len(ids) != 1:
                raise invalid("A user-assigned control plane identity needs exactly one entry in "
                              "identity.userAssignedIdentities.", "identity", code="BadRequest")
            rid = next(iter(ids))
            rec = ctx.get(rid)
            if rec is None or rec.rtype.type != IDENTITY:
                raise invalid(f"The user-assigned identity {rid} was not found.", "identity",
                              code="CustomerUserAssignedIdentityNotFound")
            identity["userAssignedIdentities"] = {rec.id: {}}
        else:
            identity.pop("userAssignedIdentities", None)
        identity.pop("principalId", None)
        identity.pop("tenantId", None)
        kubelet = ((body["properties"].get("identityProfile") or {}).get("kubeletidentity"))
        if kubelet is not None:
            check_object(kubelet, "properties.identityProfile.kubeletidentity")
            if identity["type"] != "UserAssigned":
                raise invalid("A custom kubelet identity needs a user-assigned control plane identity.",
                              "identityProfile", code="CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster")
            rec = ctx.get(kubelet.get("resourceId"))
            if rec is None or rec.rtype.type != IDENTITY:
                raise invalid(f"The kubelet identity {kubelet.get('resourceId')} was not found.", "identityProfile",
                              code="CustomKubeletIdentityNotFound")
            kubelet.update(resourceId=rec.id, clientId=rec.properties["clientId"],
                           objectId=rec.properties["principalId"])
        elif existing is not None and existing.properties.get("identityProfile"):
            body["properties"]["identityProfile"] = existing.properties["identityProfile"]

    @staticmethod
    def _check_version(p, old):
        wanted = p.get("kubernetesVersion") or old.get("kubernetesVersion") or DEFAULT_K8S
        current = resolve_version(wanted)
        if current is None:
            raise _unsupported_version(wanted)
        running = old.get("currentKubernetesVersion")
        if running and wanted != old.get("kubernetesVersion"):
            have, want = _version(running), _version(current)
            if want < have:
                raise invalid(f"Downgrading Kubernetes version {running} to {wanted} is not allowed.",
                              "kubernetesVersion", code="OperationNotAllowed")
            if want[:2] > (have[0], have[1] + 1):
                raise invalid(f"Upgrading Kubernetes version {running} to {wanted} is not allowed: upgrades go "
                              f"one minor version at a time ({have[0]}.{have[1] + 1} first).", "kubernetesVersion",
                              code="OperationNotAllowed")
        p["kubernetesVersion"] = wanted
        p["currentKubernetesVersion"] = current if wanted != old.get("kubernetesVersion") else running or current

    @staticmethod
    def _check_network(ctx, p, old):
        net = p.get("networkProfile")
        check_object(net, "properties.networkProfile")
        net = dict(net or {})
        old_net = old.get("networkProfile") or {}
        if old_net:
            for prop in CLUSTER_NETWORK_IMMUTABLE:
                if net.get(prop) not in (None, "") and prop in old_net and _differs(net[prop], old_net[prop]):
                    raise not_allowed_change(f"networkProfile.{prop}", old_net[prop], net[prop])
            for prop, value in old_net.items():
                net.setdefault(prop, value)
        net["networkPlugin"] = canonical_enum(net.get("networkPlugin") or "azure", ["azure", "kubenet", "none"],
                                              "properties.networkProfile.networkPlugin", "NetworkPlugin")
        if net.get("networkPluginMode") is not None:
            net["networkPluginMode"] = canonical_enum(net["networkPluginMode"], ["overlay"],
                                                      "properties.networkProfile.networkPluginMode",
                                                      "NetworkPluginMode")
            if net["networkPlugin"] != "azure":
                raise invalid("networkPluginMode overlay requires networkPlugin azure.", "networkPluginMode")
        elif net["networkPlugin"] == "azure" and not old_net:
            net["networkPluginMode"] = "overlay"
        net["outboundType"] = canonical_enum(net.get("outboundType") or "loadBalancer",
                                             ["loadBalancer", "userDefinedRouting", "managedNATGateway",
                                              "userAssignedNATGateway", "none"],
                                             "properties.networkProfile.outboundType", "OutboundType")
        overlay = net.get("networkPluginMode") == "overlay" or net["networkPlugin"] == "kubenet"
        if net.get("podCidr") and not overlay:
            raise invalid("podCidr only applies to Azure CNI overlay and kubenet.", "podCidr")
        if overlay:
            net.setdefault("podCidr", "10.244.0.0/16")
        net.setdefault("serviceCidr", "10.0.0.0/16")
        net.setdefault("dnsServiceIP", "10.0.0.10")
        try:
            service = ipaddress.ip_network(net["serviceCidr"], strict=True)
            pods = ipaddress.ip_network(net["podCidr"], strict=True) if net.get("podCidr") else None
            dns = ipaddress.ip_address(net["dnsServiceIP"])
        except ValueError as err:
            raise invalid(f"The network profile is not valid: {err}.", "networkProfile") from None
        if dns not in service or dns in (service.network_address, service.network_address + 1):
            raise invalid(f"The DNSServiceIP {dns} must be inside ServiceCidr {service} and not its first address.",
                          "dnsServiceIP", code="InvalidDNSServiceIP")
        if pods is not None and pods.overlaps(service):
            raise invalid(f"The podCidr {pods} overlaps the serviceCidr {service}.", "podCidr",
                          code="InvalidPodCidr")
        net.setdefault("loadBalancerSku", "standard")
        net.setdefault("ipFamilies", ["IPv4"])
        p["networkProfile"] = net

    @staticmethod
    def _check_bootstrap(ctx, p, old, creating):
        boot = p.get("bootstrapProfile")
        check_object(boot, "properties.bootstrapProfile")
        old_boot = old.get("bootstrapProfile") or {}
        boot = dict(old_boot, **(boot or {}))
        boot["artifactSource"] = canonical_enum(boot.get("artifactSource") or "Direct", ["Cache", "Direct"],
                                                "properties.bootstrapProfile.artifactSource", "ArtifactSource")
        if old_boot.get("artifactSource") == "Cache" and boot["artifactSource"] == "Direct":
            raise invalid("Changing bootstrapProfile.artifactSource from Cache to Direct is not allowed: a network "
                          "isolated cluster cannot be turned back into a cluster pulling from the internet.",
                          "bootstrapProfile.artifactSource", code="PropertyChangeNotAllowed")
        if boot["artifactSource"] == "Cache" and boot.get("containerRegistryId"):
            ManagedCluster._check_registry(ctx, boot)
        elif boot["artifactSource"] == "Direct":
            boot.pop("containerRegistryId", None)
        p["bootstrapProfile"] = boot

    @staticmethod
    def _check_registry(ctx, boot):
        rid = boot["containerRegistryId"]
        reg = ctx.get(rid)
        if reg is None or reg.rtype.type.lower() != REGISTRY.lower():
            raise invalid(f"The bootstrap container registry {rid} was not found.",
                          "bootstrapProfile.containerRegistryId", code="BootstrapContainerRegistryNotFound")
        sku = str((reg.body.get("sku") or {}).get("name", ""))
        if sku.lower() != "premium":
            raise invalid(f"The bootstrap container registry {reg.name} has the {sku or 'unknown'} SKU; the "
                          "artifact cache needs a Premium registry.", "bootstrapProfile.containerRegistryId",
                          code="InvalidBootstrapContainerRegistry")
        if aks_cache_rule_problem is not None:
            problem = aks_cache_rule_problem(ctx, reg)
        else:
            rule = ctx.get(f"{reg.id}/cacheRules/aks-managed-mcr")
            problem = None if rule is not None and rule.properties.get("sourceRepository") == "mcr.microsoft.com/*" \
                and rule.properties.get("targetRepository") == "aks-managed-repository/*" else \
                f"registry {reg.name} has no cache rule aks-managed-mcr (mcr.microsoft.com/* -> aks-managed-repository/*)"
        if problem:
            raise invalid(f"The bootstrap container registry cannot serve a network isolated cluster: {problem}.",
                          "bootstrapProfile.containerRegistryId", code="InvalidBootstrapContainerRegistry")
        boot["containerRegistryId"] = reg.id

    @staticmethod
    def _check_isolation(p):
        net, boot = p["networkProfile"], p["bootstrapProfile"]
        if net["outboundType"] == "none" and boot["artifactSource"] != "Cache":
            raise invalid("outboundType none requires bootstrapProfile.artifactSource Cache: a cluster without "
                          "outbound access can only bootstrap from a private registry's artifact cache.",
                          "networkProfile.outboundType")
        upgrade = p.get("autoUpgradeProfile")
        check_object(upgrade, "properties.autoUpgradeProfile")
        upgrade = dict(upgrade or {})
        upgrade["nodeOSUpgradeChannel"] = canonical_enum(
            upgrade.get("nodeOSUpgradeChannel") or "NodeImage", ["NodeImage", "None", "Unmanaged", "SecurityPatch"],
            "properties.autoUpgradeProfile.nodeOSUpgradeChannel", "NodeOSUpgradeChannel")
        if upgrade.get("upgradeChannel") is not None:
            upgrade["upgradeChannel"] = canonical_enum(
                upgrade["upgradeChannel"], ["rapid", "stable", "patch", "node-image", "none"],
                "properties.autoUpgradeProfile.upgradeChannel", "UpgradeChannel")
        p["autoUpgradeProfile"] = upgrade
        if _is_isolated(p):
            if upgrade["nodeOSUpgradeChannel"] not in ISOLATED_OS_CHANNELS:
                raise invalid(f"nodeOSUpgradeChannel {upgrade['nodeOSUpgradeChannel']} is not supported on a network "
                              "isolated cluster; use NodeImage or None.", "autoUpgradeProfile.nodeOSUpgradeChannel")
            if _version(p["currentKubernetesVersion"])[:2] < ISOLATED_MIN:
                raise invalid(f"A network isolated cluster needs Kubernetes {ISOLATED_MIN[0]}.{ISOLATED_MIN[1]} or "
                              f"later; {p['kubernetesVersion']} was requested.", "kubernetesVersion")

    @staticmethod
    def _check_sku(body, existing):
        sku = body.get("sku")
        check_object(sku, "sku")
        sku = dict((existing.body.get("sku") if existing is not None else None) or {}, **(sku or {}))
        sku["name"] = canonical_enum(sku.get("name") or "Base", ["Base", "Automatic"], "sku.name",
                                     "ManagedClusterSKUName")
        sku["tier"] = canonical_enum(sku.get("tier") or "Free", ["Free", "Standard", "Premium"], "sku.tier",
                                     "ManagedClusterSKUTier")
        body["sku"] = sku

    @staticmethod
    def _check_apiserver(ctx, p, old, existing):
        creating = existing is None
        api = p.get("apiServerAccessProfile")
        check_object(api, "properties.apiServerAccessProfile")
        old_api = old.get("apiServerAccessProfile") or {}
        api = dict(old_api, **(api or {}))
        for prop in ("enablePrivateCluster", "enableVnetIntegration", "disableRunCommand",
                     "enablePrivateClusterPublicFQDN"):
            check_bool(api.get(prop), f"properties.apiServerAccessProfile.{prop}")
        if not creating and bool(api.get("enablePrivateCluster")) != bool(old_api.get("enablePrivateCluster")):
            raise not_allowed_change("apiServerAccessProfile.enablePrivateCluster",
                                     old_api.get("enablePrivateCluster"), api.get("enablePrivateCluster"))
        if old_api.get("subnetId") and api.get("subnetId") and _differs(api["subnetId"], old_api["subnetId"]):
            raise not_allowed_change("apiServerAccessProfile.subnetId", old_api["subnetId"], api["subnetId"])
        byo = any(pool.get("vnetSubnetID") for pool in p.get("agentPoolProfiles") or []) or \
            any(rec.properties.get("vnetSubnetID") for rec in (ctx.children(existing, POOL) if existing else []))
        if api.get("enableVnetIntegration"):
            if byo and not api.get("subnetId"):
                raise invalid("API server VNet integration with your own virtual network needs "
                              "apiServerAccessProfile.subnetId.", "apiServerAccessProfile.subnetId")
            if api.get("subnetId"):
                subnet = ctx.get(api["subnetId"])
                if subnet is None or subnet.rtype.type != SUBNET:
                    raise invalid(f"The API server subnet {api['subnetId']} was not found.",
                                  "apiServerAccessProfile.subnetId", code="InvalidSubnetReference")
                prefix = subnet.properties.get("addressPrefix") or (subnet.properties.get("addressPrefixes") or [""])[0]
                if prefix and ipaddress.ip_network(prefix, strict=False).prefixlen > 28:
                    raise invalid(f"The API server subnet {subnet.name} ({prefix}) is smaller than the minimum /28.",
                                  "apiServerAccessProfile.subnetId", code="InvalidApiServerSubnet")
                for pool in p.get("agentPoolProfiles") or []:
                    if str(pool.get("vnetSubnetID", "")).lower() == subnet.id.lower():
                        raise invalid(f"The API server subnet {subnet.name} is also the subnet of agent pool "
                                      f"{pool.get('name')}; it must be dedicated to the API server.",
                                      "apiServerAccessProfile.subnetId", code="InvalidApiServerSubnet")
                api["subnetId"] = subnet.id
        elif api.get("subnetId"):
            raise invalid("apiServerAccessProfile.subnetId only applies with enableVnetIntegration.",
                          "apiServerAccessProfile.subnetId")
        if api.get("privateDNSZone") is not None and not api.get("enablePrivateCluster"):
            raise invalid("privateDNSZone only applies to private clusters.", "apiServerAccessProfile.privateDNSZone")
        if api.get("enablePrivateCluster"):
            api.setdefault("privateDNSZone", "system")
        p["apiServerAccessProfile"] = api

    @staticmethod
    def _check_aad(p):
        check_bool(p.get("disableLocalAccounts"), "properties.disableLocalAccounts")
        aad = p.get("aadProfile")
        check_object(aad, "properties.aadProfile")
        if p.get("disableLocalAccounts") and not (aad or {}).get("managed"):
            raise invalid("disableLocalAccounts can only be set on clusters with Microsoft Entra ID integration "
                          "(aadProfile.managed).", "disableLocalAccounts", code="BadRequest")

    def _check_pools(self, ctx, p, old, existing):
        profiles = p.pop("agentPoolProfiles", None)
        check_list(profiles, "properties.agentPoolProfiles")
        if existing is None and not profiles:
            raise invalid("A managed cluster needs at least one agent pool in agentPoolProfiles.",
                          "agentPoolProfiles", code="BadRequest")
        stored = {rec.name.lower(): rec for rec in (ctx.children(existing, POOL) if existing is not None else [])}
        plan, seen = [], set()
        cluster_view = dict(p, agentPoolProfiles=[])
        ctx.pool_profiles = []
        for index, item in enumerate(profiles or []):
            check_object(item, f"properties.agentPoolProfiles[{index}]")
            props = {k: v for k, v in item.items() if k != "name"}
            name = item.get("name")
            if str(name).lower() in seen:
                raise invalid(f"Agent pool name {name} is used twice.", "agentPoolProfiles", code="BadRequest")
            seen.add(str(name).lower())
            rec = stored.get(str(name).lower())
            props = _check_pool(ctx, cluster_view, name, props, rec.properties if rec else None, ctx.api_version,
                                ctx.sub)
            ctx.pool_profiles.append(props)
            plan.append((rec.name if rec else name, props))
        if profiles and not any(props["mode"] == "System" for _n, props in plan) and \
                not any(r.properties.get("mode") == "System" for r in stored.values()):
            raise invalid("A managed cluster needs at least one System agent pool.", "agentPoolProfiles",
                          code="MustDefineAtLeastOneSystemPool")
        return plan

    @staticmethod
    def _check_permissions(ctx, body, p, creating):
        identity = body["identity"]
        if identity["type"] != "UserAssigned":
            return
        control = ctx.get(next(iter(identity["userAssignedIdentities"])))
        principal = control.properties.get("principalId")
        kubelet = (p.get("identityProfile") or {}).get("kubeletidentity")
        if kubelet and not has_role(ctx, principal, ROLE_MANAGED_IDENTITY_OPERATOR, kubelet["resourceId"]):
            raise invalid(f"The cluster using user-assigned managed identity must be granted 'Managed Identity "
                          f"Operator' role to assign kubelet identity. Control plane identity {control.id} has no "
                          f"such role over {kubelet['resourceId']}.", "identityProfile",
                          code="CustomKubeletIdentityMissingPermission")
        subnets = [props.get("vnetSubnetID") for _n, props in ctx.pool_plan if props.get("vnetSubnetID")]
        subnets += [p["apiServerAccessProfile"].get("subnetId")] if p["apiServerAccessProfile"].get("subnetId") else []
        for subnet in dict.fromkeys(subnets):
            if not has_role(ctx, principal, ROLE_NETWORK_CONTRIBUTOR, subnet):
                raise ArmError(403, "LinkedAuthorizationFailed",
                               f"The client '{principal}' (control plane identity {control.id}) does not have "
                               f"permission to perform action 'Microsoft.Network/virtualNetworks/subnets/join/action' "
                               f"on the linked scope(s) '{subnet}'. Grant it Network Contributor on the subnet.")
        ctx.missing_acr_pull = None
        registry = p["bootstrapProfile"].get("containerRegistryId")
        if creating and kubelet and registry and not has_role(ctx, kubelet["objectId"], ROLE_ACR_PULL, registry):
            ctx.missing_acr_pull = (kubelet["resourceId"], registry)

    def defaults(self, ctx, body, existing):
        p = body["properties"]
        old = existing.properties if existing else {}
        p.pop("agentPoolProfiles", None)   # the pools live as agentPools children
        p["nodeResourceGroup"] = old.get("nodeResourceGroup") or p.get("nodeResourceGroup") or \
            f"MC_{ctx.rg_name}_{ctx.name}_{ctx.location}"
        p["resourceUID"] = old.get("resourceUID") or ctx.new_guid().replace("-", "")[:24]
        p["maxAgentPools"] = 100
        p["powerState"] = {"code": "Running"}
        p.setdefault("enableRBAC", True)
        p.setdefault("supportPlan", "KubernetesOfficial")
        tag = hashlib.sha1(ctx.id.lower().encode()).hexdigest()[:8]
        prefix = p["dnsPrefix"]
        if p["apiServerAccessProfile"].get("enablePrivateCluster"):
            p["privateFQDN"] = old.get("privateFQDN") or \
                f"{prefix}-{tag}.{ctx.new_guid()}.privatelink.{ctx.location}.azmk8s.io"
            p["azurePortalFQDN"] = f"{prefix}-{tag}.portal.hcp.{ctx.location}.azmk8s.io"
            p.pop("fqdn", None)
        else:
            p["fqdn"] = f"{prefix}-{tag}.hcp.{ctx.location}.azmk8s.io"
            p["azurePortalFQDN"] = f"{prefix}-{tag}.portal.hcp.{ctx.location}.azmk8s.io"
        body.setdefault("sku", {"name": "Base", "tier": "Free"})
        return body

    def on_put(self, ctx, record, old_body):
        op = ctx.app.store.ops.get(record.op_id) if record.op_id else None
        for name, props in getattr(ctx, "pool_plan", None) or []:
            state = "Creating" if ctx.store.get(f"{record.key}/agentpools/{name.lower()}") is None else "Updating"
            props["provisioningState"] = state if op is not None else "Succeeded"
            rec = _save_child(ctx, record, get_type(POOL), "agentPools", name,
                              {"id": None, "name": name, "type": POOL, "properties": props})
            rec.body["id"] = rec.id
            if op is not None:
                rec.op_id = op.id
                op.targets.append(rec.key)
        missing = getattr(ctx, "missing_acr_pull", None)
        if op is not None and missing:
            op.error = {"code": "BootstrapImagePullFailed",
                        "message": f"Nodes could not pull the bootstrap images from {missing[1]}: the kubelet "
                                   f"identity {missing[0]} has no AcrPull role on the registry "
                                   "(unauthorized: authentication required)."}

    def render(self, ctx, record, body):
        p = body["properties"]
        pools = []
        for rec in ctx.children(record, POOL):
            pools.append(dict({"name": rec.name}, **_render_pool_props(rec.properties, ctx.api_version)))
        p["agentPoolProfiles"] = pools
        identity = body.get("identity") or {}
        if identity.get("type") == "UserAssigned":
            out = {}
            for rid in identity.get("userAssignedIdentities") or {}:
                rec = ctx.get(rid)
                props = rec.properties if rec is not None else {}
                out[rid] = {"principalId": props.get("principalId"), "clientId": props.get("clientId")}
            body["identity"] = {"type": "UserAssigned", "userAssignedIdentities": out}
        return body

    def validate_delete(self, ctx, record):
        pass

    # -- operations: the run-command result lives under the cluster --------------------------
    def operation_paths(self, ctx, op_id):
        if getattr(ctx, "run_command", None) is not None:
            ctx.command_id = op_id
            return None, f"{ctx.id}/commandResults/{op_id}"
        return super().operation_paths(ctx, op_id)

    # -- POST actions ----------------------------------------------------------------------
    @action("listClusterUserCredential", write=False)
    def list_user_credential(self, ctx, record, body):
        self._require_running(record)
        value = _kubeconfig(record, "clusterUser", admin=False)
        return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(value.encode()).decode()}]}

    @action("listClusterAdminCredential", write=False)
    def list_admin_credential(self, ctx, record, body):
        self._require_running(record)
        if record.properties.get("disableLocalAccounts"):
            raise bad_request("BadRequest", "Getting static credential is not allowed because this cluster is set "
                                            "to disable local accounts.")
        value = _kubeconfig(record, "clusterAdmin", admin=True)
        return {"kubeconfigs": [{"name": "clusterAdmin", "value": base64.b64encode(value.encode()).decode()}]}

    @staticmethod
    def _require_running(record):
        state = str(record.properties.get("provisioningState", ""))
        if state.lower() == "creating":
            raise conflict("OperationNotAllowed", f"The managed cluster {record.name} is still being created; its "
                                                  "credentials are not available yet.")

    @action("runCommand", asynchronous=True, duration=20)
    def run_command(self, ctx, record, body):
        command = body.get("command")
        if not isinstance(command, str) or not command.strip():
            raise invalid("The command to run is required.", "command")
        if (record.properties.get("apiServerAccessProfile") or {}).get("disableRunCommand"):
            raise bad_request("RunCommandDisabled", f"Run command is disabled on the managed cluster {record.name}.")
        self._require_running(record)
        files = []
        if body.get("context"):
            try:
                archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(body["context"], validate=True)))
                files = [(info.filename, info.file_size) for info in archive.infolist() if not info.is_dir()]
            except (binascii.Error, ValueError, zipfile.BadZipFile) as err:
                raise invalid(f"The command context is not a base64 encoded zip file: {err}.", "context") from None
        ctx.run_command = command
        started = _utc()
        rtype = get_type(COMMAND)

        def done():
            lines = [f"$ {command}"] + [f"context file {name} ({size} bytes)" for name, size in files]
            lines.append("armemu: the command was recorded, not run; exit code 0")
            result = {"provisioningState": "succeeded", "exitCode": 0, "startedAt": started,
                      "finishedAt": _utc(), "logs": "\n".join(lines) + "\n"}
            _save_child(ctx, record, rtype, "commandResults", ctx.command_id,
                        {"id": ctx.command_id, "name": ctx.command_id, "type": COMMAND, "properties": result,
                         "command": command, "files": [name for name, _size in files]})
        ctx.on_complete(done)
        return None


@register
class AgentPool(ResourceType):
    type = POOL
    api_versions = API_VERSIONS
    duration = 300.0
    delete_duration = 120.0
    etag = None
    patch = None
    has_location = False
    has_tags = False
    retry_after = 30
    put_headers = ("Azure-AsyncOperation",)
    name_pattern = POOL_NAME
    name_code = "InvalidAgentPoolName"
    name_message = ("The agent pool name '{name}' is invalid: a Linux agent pool name must start with a lowercase "
                    "letter and contain only lowercase letters and digits, 12 characters at most.")
    read_only_properties = POOL_READ_ONLY

    def validate(self, ctx, body, existing):
        cluster = ctx.parent
        _busy(ctx, cluster)
        p = body["properties"]
        ctx.pool_profiles = [r.properties for r in ctx.children(cluster, POOL)]
        _check_pool(ctx, cluster.properties, ctx.name, p, existing.properties if existing else None, ctx.api_version,
                    ctx.sub)
        if existing is not None and existing.properties.get("mode") == "System" and p["mode"] != "System":
            self._keep_a_system_pool(ctx, cluster, existing)

    @staticmethod
    def _keep_a_system_pool(ctx, cluster, leaving):
        others = [r for r in ctx.children(cluster, POOL) if r.key != leaving.key and not r.deleting
                  and r.properties.get("mode") == "System"]
        if not others:
            raise invalid(f"Agent pool {leaving.name} is the last System pool of {cluster.name}; a cluster needs at "
                          "least one.", "mode", code="OperationNotAllowed")

    def validate_delete(self, ctx, record):
        cluster = ctx.parent
        _busy(ctx, cluster, exclude_key=record.key)
        if record.properties.get("mode") == "System":
            self._keep_a_system_pool(ctx, cluster, record)

    def render(self, ctx, record, body):
        body["properties"] = _render_pool_props(body["properties"], ctx.api_version)
        return body


@register
class CommandResult(ResourceType):
    type = COMMAND
    api_versions = API_VERSIONS
    async_put = False
    async_delete = False
    has_location = False
    has_tags = False
    patch = None
    etag = None

    def validate(self, ctx, body, existing):
        raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method 'PUT'.")

    def validate_delete(self, ctx, record):
        raise ArmError(405, "MethodNotAllowed", "The requested resource does not support http method 'DELETE'.")

    def not_found(self, ctx):
        op = ctx.app.store.ops.get(ctx.name)
        if op is not None and op.rtype.type == CLUSTER and op.kind == "action":
            if not op.done:
                remaining = max(1, int(op.deadline - ctx.now + 0.999))
                return Answer(202, None, {"Location": f"{ctx.base_url}{ctx.id}?api-version={ctx.api_version}",
                                          "Retry-After": str(min(5, remaining))})
            if op.error is not None:
                return Answer(200, {"id": ctx.name, "properties": {
                    "provisioningState": "failed", "exitCode": 1, "startedAt": _utc(), "finishedAt": _utc(),
                    "logs": "", "reason": (op.error or {}).get("message", "the command failed")}})
        return ArmError(404, "NotFound", f"The command result {ctx.name} was not found on managed cluster "
                                         f"{ctx.parent.name if ctx.parent else ''}.")

    def render(self, ctx, record, body):
        return {"id": record.name, "properties": dict(record.properties)}
