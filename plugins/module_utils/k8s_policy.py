# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of Kubernetes manifests before anything is applied to a network-isolated cluster.

``validate_schemas(objects, version)`` validates each object against the upstream
schemas of a Kubernetes minor version (``kubernetes-validate``); ``check_policy(objects,
options)`` applies the collection's own rules:

=====================  ==========================================================================
rule                   what it requires
=====================  ==========================================================================
private-registry       every image (containers, init containers, image volumes) comes from an
                       allowed registry (the private ACR); no implicit Docker Hub reference
no-credentials         no env var, argument, label or annotation whose name or value looks like
                       a credential (NGC_API_KEY, HF_TOKEN, *_TOKEN, nvapi-..., hf_..., ...);
                       no env from a Secret
offline-env            the serving containers (those asking for ``nvidia.com/gpu`` in a Deployment,
                       StatefulSet, DaemonSet, ReplicaSet or Pod; not Jobs) set the runtime's offline switches (vLLM:
                       HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1; NIM: NIM_CACHE_PATH and
                       HF_HUB_OFFLINE=1)
gpu-toleration         a pod that asks for ``nvidia.com/gpu`` tolerates every taint of the GPU pool
gpu-node-affinity      ... and is pinned to the GPU pool's labels (node selector or required
                       node affinity)
model-path-in-cache    the model path the runtime loads lies under the model cache path, and,
                       when the weights are mounted, a volume is mounted there
network-policy         a NetworkPolicy selects the workload, denies all egress but DNS (port 53)
                       and lets in only ipBlocks inside the allowed client CIDRs
internal-service       a Service of type LoadBalancer carries the Azure internal annotation
schema                 (from validate_schemas) the object is valid for the Kubernetes version
=====================  ==========================================================================

Each violation is ``{object: "Deployment/ns/name", field: "spec.template.spec.containers[0].env[3]",
rule, message}``. ``find_credentials(data)`` runs the credential rule over plain input
(role variables) before anything is rendered. Pure Python; no value of a suspected secret
is ever put into a message.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_YAML = False

try:
    import kubernetes_validate
    from kubernetes_validate.utils import all_versions as _kv_versions

    HAS_KUBERNETES_VALIDATE = True
    KUBERNETES_VALIDATE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_KUBERNETES_VALIDATE = False
    KUBERNETES_VALIDATE_IMPORT_ERROR = exc

GPU_RESOURCE = "nvidia.com/gpu"
INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"
DEFAULT_GPU_TAINTS = ({"key": "sku", "value": "gpu", "effect": "NoSchedule"},)

RULE_SCHEMA = "schema"
RULE_REGISTRY = "private-registry"
RULE_CREDENTIALS = "no-credentials"
RULE_OFFLINE = "offline-env"
RULE_TOLERATION = "gpu-toleration"
RULE_AFFINITY = "gpu-node-affinity"
RULE_MODEL_PATH = "model-path-in-cache"
RULE_NETWORK_POLICY = "network-policy"
RULE_SERVICE = "internal-service"

# Names that are credentials whatever their value.
CREDENTIAL_NAMES = frozenset([
    "NGC_API_KEY", "NGC_CLI_API_KEY", "NVIDIA_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN",
    "HUGGINGFACEHUB_API_TOKEN", "OPENAI_API_KEY", "VLLM_API_KEY", "AZURE_CLIENT_SECRET", "AZURE_SECRET",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "ACR_PASSWORD", "REGISTRY_PASSWORD",
])
# Names that look like credentials by their ending.
CREDENTIAL_NAME_RE = re.compile(
    r"(?:^|_)(?:API_?KEY|ACCESS_?KEY|SECRET(?:_?KEY)?|CLIENT_?SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|"
    r"PRIVATE_?KEY|CREDENTIALS?|CONNECTION_?STRING|SAS)$")
# Switches whose names end like a credential but are not one.
NOT_CREDENTIALS = frozenset(["HF_HUB_DISABLE_IMPLICIT_TOKEN"])
SWITCH_VALUES = frozenset(["", "0", "1", "true", "false", "yes", "no", "on", "off"])
CREDENTIAL_VALUES = (
    ("an NGC API key (nvapi-...)", re.compile(r"nvapi-[A-Za-z0-9_-]{16,}")),
    ("a Hugging Face token (hf_...)", re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{16,}")),
    ("an OpenAI-style API key (sk-...)", re.compile(r"(?<![A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_-]{20,}")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}")),
    ("a JSON Web Token", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/=]{16,}")),
    ("a shared access signature", re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{16,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}")),
)
VLLM_OFFLINE = (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"))
NIM_OFFLINE = (("HF_HUB_OFFLINE", "1"),)
DNS_PORT = 53
# Kinds whose GPU containers serve the model (the runtime rules apply to them, not to Jobs).
SERVING_KINDS = frozenset(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"])
POD_TEMPLATE_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CLUSTER_SCOPED = frozenset(["Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                            "CustomResourceDefinition", "PriorityClass", "RuntimeClass"])


class PolicyError(ValueError):
    """Manifests that cannot be read at all."""


class Manifest:
    """One object of a manifest file."""

    def __init__(self, obj, source=None, index=0):
        self.obj = obj
        self.source = source
        self.index = index

    @property
    def kind(self):
        return self.obj.get("kind") or "?"

    @property
    def name(self):
        return ((self.obj.get("metadata") or {}).get("name")) or "?"

    @property
    def namespace(self):
        if self.kind in CLUSTER_SCOPED:
            return None
        return (self.obj.get("metadata") or {}).get("namespace") or "default"

    @property
    def ref(self):
        if self.namespace is None:
            return "%s/%s" % (self.kind, self.name)
        return "%s/%s/%s" % (self.kind, self.namespace, self.name)


def violation(manifest, field, rule, message):
    return {"object": manifest.ref if isinstance(manifest, Manifest) else manifest, "field": field, "rule": rule,
            "message": message, "file": getattr(manifest, "source", None)}


def _field(*parts):
    """``_field("spec", "containers", 0, "env")`` -> ``spec.containers[0].env``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        elif text:
            text += "." + part
        else:
            text = part
    return text


def _key_field(base, key):
    return '%s["%s"]' % (base, key)


# -- loading -----------------------------------------------------------------------------------------------------------

def manifest_files(path):
    """The YAML/JSON files of a directory (sorted, not recursive), or the file itself; or of each of a list."""
    if isinstance(path, (list, tuple)):
        return [name for item in path for name in manifest_files(item)]
    if os.path.isdir(path):
        return [os.path.join(path, name) for name in sorted(os.listdir(path))
                if name.endswith((".yaml", ".yml", ".json")) and not name.startswith(".")
                and os.path.isfile(os.path.join(path, name))]
    if os.path.isfile(path):
        return [path]
    raise PolicyError("path: %s does not exist" % path)


def load_manifests(paths):
    """Every object of every file, in file order; a document that is not an object fails."""
    manifests = []
    for path in paths:
        with open(path, "r", encoding="utf-8") as handle:
            try:
                documents = list(yaml.safe_load_all(handle))
            except yaml.YAMLError as exc:
                raise PolicyError("%s is not valid YAML: %s" % (path, exc))
        for index, doc in enumerate(documents):
            if doc is None:
                continue
            if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                manifests.extend(Manifest(item, path, index) for item in doc["items"])
                continue
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                raise PolicyError("%s: document %d is not a Kubernetes object (apiVersion and kind)" % (path, index))
            manifests.append(Manifest(doc, path, index))
    return manifests


# -- schemas -----------------------------------------------------------------------------------------------------------

def _version_key(text):
    return tuple(int(part) for part in text.split(".")[:2])


def schema_version(wanted, shipped):
    """``(version to validate against, note or None)`` for a wanted ``"1.34"`` and the shipped ``["1.33.0", ...]``.

    The exact minor when shipped; else the newest shipped (a newer cluster), the oldest
    shipped (an older one), or the nearest older one (a gap), with a note saying so.
    """
    match = re.match(r"^v?(\d+)\.(\d+)", str(wanted).strip())
    if not match:
        raise PolicyError("kubernetes_version: %r is not a version such as 1.34" % (wanted,))
    want = (int(match.group(1)), int(match.group(2)))
    versions = sorted(set(_version_key(v) for v in shipped))
    if not versions:
        raise PolicyError("kubernetes-validate ships no schema at all")
    if want in versions:
        return "%d.%d" % want, None
    if want > versions[-1]:
        chosen, why = versions[-1], "the newest it ships"
    elif want < versions[0]:
        chosen, why = versions[0], "the oldest it ships"
    else:
        chosen, why = [v for v in versions if v < want][-1], "the nearest older one it ships"
    note = ("kubernetes-validate has no schema for Kubernetes %d.%d; validated against %d.%d (%s)"
            % (want + chosen + (why,)))
    return "%d.%d" % chosen, note


def shipped_versions():
    if not HAS_KUBERNETES_VALIDATE:
        raise PolicyError("kubernetes-validate is required: %s" % KUBERNETES_VALIDATE_IMPORT_ERROR)
    return _kv_versions()


def validate_schemas(manifests, version, strict=True, versions=None):
    """``(schema version used, note, violations, warnings)``."""
    chosen, note = schema_version(version, versions if versions is not None else shipped_versions())
    violations, warnings = [], []
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest.obj, chosen + ".0", strict=strict)
        except kubernetes_validate.ValidationError as err:
            violations.append(violation(manifest, _field(*list(err.path)) or "(object)", RULE_SCHEMA,
                                        "not valid for Kubernetes %s: %s" % (chosen, err.message)))
        except kubernetes_validate.SchemaNotFoundError:
            warnings.append("%s: no schema for %s %s in Kubernetes %s; not validated"
                            % (manifest.ref, manifest.obj.get("apiVersion"), manifest.kind, chosen))
    return chosen, note, violations, warnings


# -- credentials -------------------------------------------------------------------------------------------------------

def _normal_name(name):
    return re.sub(r"[^A-Z0-9]+", "_", str(name).upper()).strip("_")


def credential_name(name, value=None):
    """Why ``name`` (with ``value``) is a credential, or None."""
    normal = _normal_name(name)
    if not normal or normal in NOT_CREDENTIALS:
        return None
    if normal in CREDENTIAL_NAMES:
        return "%s is a credential" % normal
    if CREDENTIAL_NAME_RE.search(normal):
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and value.strip().lower() in SWITCH_VALUES
                                                     and value.strip() != ""):
            return None
        return "the name %s looks like a credential" % name
    return None


def credential_value(value):
    """What kind of secret ``value`` looks like, or None."""
    if not isinstance(value, str):
        return None
    for what, pattern in CREDENTIAL_VALUES:
        if pattern.search(value):
            return "the value looks like %s" % what
    return None


def credential_arg(arg):
    """Why a command-line argument carries a credential (``--api-key``, ``--hf-token=...``), or None."""
    if not isinstance(arg, str):
        return None
    if arg.startswith("-"):
        flag, _sep, value = arg.lstrip("-").partition("=")
        why = credential_name(flag, None)
        if why:
            return "the option --%s passes a credential" % flag
        return credential_value(value)
    return credential_value(arg)


def find_credentials(data, prefix="", path="", with_values=False):
    """Credentials anywhere in plain data (role variables): ``[{field, rule, message}]``.

    Mapping keys are judged by name (with their value), strings by value, list items that
    are command-line options by their flag. No value is ever repeated in a message;
    ``with_values`` adds the suspect ``values`` (for a caller that must hide them in its logs).
    """
    findings = []

    def found(field, message, *values):
        finding = {"field": field, "rule": RULE_CREDENTIALS, "message": message}
        if with_values:
            finding["values"] = [v for v in values if isinstance(v, str) and v]
        findings.append(finding)

    def walk(value, where):
        if isinstance(value, dict):
            for key in value:
                child = "%s.%s" % (where, key) if where else str(key)
                reason = credential_name(key, value[key]) if not isinstance(value[key], (dict, list)) else (
                    credential_name(key, "") if _normal_name(key) in CREDENTIAL_NAMES else None)
                if reason:
                    found(child, "%s; the cluster's pods get no API key or token (keep it on the jump box, for the "
                                 "download)" % reason, value[key])
                    continue
                walk(value[key], child)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                child = "%s[%d]" % (where, index)
                reason = credential_arg(item) if isinstance(item, str) else None
                if reason:
                    following = value[index + 1] if index + 1 < len(value) else None
                    found(child, "%s; the cluster's pods get no API key or token" % reason, item,
                          following if "=" not in item else None)
                    continue
                walk(item, child)
        elif isinstance(value, str):
            reason = credential_value(value)
            if reason:
                found(where, "%s; the cluster's pods get no API key or token" % reason, value)

    if isinstance(data, dict) and not path:
        for key in data:
            field = prefix + str(key)
            reason = credential_name(field, data[key]) if not isinstance(data[key], (dict, list)) else None
            if reason:
                found(field, "%s; the cluster's pods get no API key or token" % reason, data[key])
                continue
            walk(data[key], field)
    else:
        walk(data, prefix + path)
    return findings


# -- pods --------------------------------------------------------------------------------------------------------------

def pod_spec_of(manifest):
    """``(pod spec, its field path, pod template metadata, its field path)`` or Nones."""
    path = POD_TEMPLATE_PATHS.get(manifest.kind)
    if not path:
        return None, None, None, None
    node = manifest.obj
    for key in path:
        node = (node or {}).get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None, None, None, None
    if manifest.kind == "Pod":
        return node, "spec", manifest.obj.get("metadata") or {}, "metadata"
    meta_path = path[:-1] + ("metadata",)
    meta = manifest.obj
    for key in meta_path:
        meta = (meta or {}).get(key) if isinstance(meta, dict) else None
    return node, ".".join(path), meta or {}, ".".join(meta_path)


def _containers(pod_spec, base):
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(group) or []):
            if isinstance(container, dict):
                yield container, _field(base, group, index)


def _gpus(container):
    resources = container.get("resources") or {}
    for part in ("limits", "requests"):
        value = (resources.get(part) or {}).get(GPU_RESOURCE)
        if value not in (None, 0, "0"):
            return True
    return False


def _env_value(container, name):
    for index, item in enumerate(container.get("env") or []):
        if isinstance(item, dict) and item.get("name") == name:
            return item.get("value"), index, item
    return None, None, None


# -- registry ----------------------------------------------------------------------------------------------------------

def split_image(reference):
    """``(registry host, repository path)``; a reference without a host is Docker Hub's."""
    text = str(reference or "").strip()
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.lower(), rest
    return "docker.io", text


def image_allowed(reference, allowed):
    host, path = split_image(reference)
    for entry in allowed:
        entry_host, sep, entry_path = str(entry).strip().rstrip("/").partition("/")
        if host != entry_host.lower():
            continue
        if not sep or path.startswith(entry_path + "/"):
            return True
    return False


def _check_images(manifest, pod_spec, base, allowed):
    found = []

    def judge(reference, field):
        if not reference:
            found.append(violation(manifest, field, RULE_REGISTRY, "no image reference"))
        elif not image_allowed(reference, allowed):
            host = split_image(reference)[0]
            found.append(violation(manifest, field, RULE_REGISTRY,
                                   "image %s comes from %s, not from the private registry (%s): the isolated "
                                   "cluster cannot pull it; bring it in through an ACR cache rule or import"
                                   % (reference, host, ", ".join(allowed))))

    for container, where in _containers(pod_spec, base):
        judge(container.get("image"), where + ".image")
    for index, volume in enumerate(pod_spec.get("volumes") or []):
        if isinstance(volume, dict) and isinstance(volume.get("image"), dict):
            judge(volume["image"].get("reference"), _field(base, "volumes", index, "image", "reference"))
    return found


# -- credentials in objects --------------------------------------------------------------------------------------------

def _check_mapping(manifest, mapping, base, what):
    found = []
    for key, value in (mapping or {}).items():
        reason = credential_name(key, value) or credential_value(value)
        if reason:
            found.append(violation(manifest, _key_field(base, key), RULE_CREDENTIALS,
                                   "%s %s: %s; no API key or token belongs in the manifests" % (what, key, reason)))
    return found


def _check_container_credentials(manifest, container, where):
    found = []
    for index, item in enumerate(container.get("env") or []):
        if not isinstance(item, dict):
            continue
        field = _field(where, "env", index)
        name = item.get("name") or ""
        value = item.get("value") if "value" in item else ""
        reason = credential_name(name, value) or credential_value(value)
        if reason:
            found.append(violation(manifest, field, RULE_CREDENTIALS,
                                   "env %s: %s; the pods get no API key or token" % (name, reason)))
        elif ((item.get("valueFrom") or {}).get("secretKeyRef")):
            found.append(violation(manifest, field, RULE_CREDENTIALS,
                                   "env %s comes from a Secret; the pods get no credentials" % name))
    for index, item in enumerate(container.get("envFrom") or []):
        if isinstance(item, dict) and item.get("secretRef"):
            found.append(violation(manifest, _field(where, "envFrom", index), RULE_CREDENTIALS,
                                   "the environment comes from Secret %s; the pods get no credentials"
                                   % (item["secretRef"].get("name"),)))
    for group in ("command", "args"):
        for index, arg in enumerate(container.get(group) or []):
            reason = credential_arg(arg)
            if reason:
                found.append(violation(manifest, _field(where, group, index), RULE_CREDENTIALS,
                                       "%s; no API key or token belongs in the manifests" % reason))
    return found


def _check_credentials(manifest, pod_spec, base, pod_meta, meta_base):
    meta = manifest.obj.get("metadata") or {}
    found = _check_mapping(manifest, meta.get("annotations"), "metadata.annotations", "annotation")
    found += _check_mapping(manifest, meta.get("labels"), "metadata.labels", "label")
    if manifest.kind == "ConfigMap":
        found += _check_mapping(manifest, manifest.obj.get("data"), "data", "key")
    if pod_spec is not None:
        if meta_base != "metadata":
            found += _check_mapping(manifest, pod_meta.get("annotations"), meta_base + ".annotations", "annotation")
            found += _check_mapping(manifest, pod_meta.get("labels"), meta_base + ".labels", "label")
        for container, where in _containers(pod_spec, base):
            found += _check_container_credentials(manifest, container, where)
    return found


# -- offline, GPU placement, model path --------------------------------------------------------------------------------

def _check_offline(manifest, container, where, runtime, cache_path):
    found = []
    required = list(VLLM_OFFLINE if runtime == "vllm" else NIM_OFFLINE)
    if runtime == "nim":
        value, index, _item = _env_value(container, "NIM_CACHE_PATH")
        if not value:
            found.append(violation(manifest, _field(where, "env"), RULE_OFFLINE,
                                   "NIM_CACHE_PATH is not set: NIM must read the model cache from the mounted share "
                                   "(%s)" % (cache_path or "the cache path")))
        elif cache_path and posixpath.normpath(value) != posixpath.normpath(cache_path):
            found.append(violation(manifest, _field(where, "env", index), RULE_OFFLINE,
                                   "NIM_CACHE_PATH is %s, not the model cache path %s" % (value, cache_path)))
    for name, want in required:
        value, index, _item = _env_value(container, name)
        if index is None:
            found.append(violation(manifest, _field(where, "env"), RULE_OFFLINE,
                                   "%s=%s is missing: without it the runtime tries to reach the internet and waits "
                                   "for it" % (name, want)))
        elif str(value) != want:
            found.append(violation(manifest, _field(where, "env", index), RULE_OFFLINE,
                                   "%s must be %s, not %r" % (name, want, value)))
    return found


def tolerates(tolerations, taint):
    """Whether any toleration matches the taint (Kubernetes' matching rules)."""
    for toleration in tolerations or []:
        if not isinstance(toleration, dict):
            continue
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect", "NoSchedule"):
            continue
        operator = toleration.get("operator") or "Equal"
        key = toleration.get("key") or ""
        if operator == "Exists":
            if not key or key == taint["key"]:
                return True
        elif key == taint["key"] and str(toleration.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def _describe_taint(taint):
    value = taint.get("value")
    return "%s%s:%s" % (taint["key"], "=" + value if value else "", taint.get("effect") or "NoSchedule")


def _selects_labels(pod_spec, labels):
    """Whether the pod can only land on nodes carrying every label."""
    missing = dict(labels)
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if missing.get(key) == str(value):
            missing.pop(key)
    if not missing:
        return True
    affinity = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = affinity.get("nodeSelectorTerms") or []
    if not terms:
        return False
    for term in terms:  # terms are ORed: each one must pin the pool
        pinned = dict(missing)
        for expr in term.get("matchExpressions") or []:
            values = [str(v) for v in expr.get("values") or []]
            if expr.get("operator") == "In" and expr.get("key") in pinned and values == [pinned[expr["key"]]]:
                pinned.pop(expr["key"])
        if pinned:
            return False
    return True


def _check_gpu_placement(manifest, pod_spec, base, taints, labels):
    found = []
    for taint in taints:
        if not tolerates(pod_spec.get("tolerations"), taint):
            found.append(violation(manifest, _field(base, "tolerations"), RULE_TOLERATION,
                                   "the pod asks for %s but does not tolerate the GPU pool's taint %s, so it can "
                                   "never be scheduled there" % (GPU_RESOURCE, _describe_taint(taint))))
    if labels and not _selects_labels(pod_spec, labels):
        found.append(violation(manifest, _field(base, "affinity"), RULE_AFFINITY,
                               "the pod asks for %s but is not pinned to the GPU pool (%s) by a node selector or a "
                               "required node affinity" % (GPU_RESOURCE, ", ".join(
                                   "%s=%s" % item for item in sorted(labels.items())))))
    return found


def path_within(path, base):
    path, base = posixpath.normpath(path), posixpath.normpath(base)
    return path == base or path.startswith(base.rstrip("/") + "/")


def model_path_of(container, runtime):
    """``(model path, field suffix)`` the runtime loads, or ``(None, None)`` when it names none (or not a path)."""
    if runtime == "nim":
        for name in ("NIM_MODEL_NAME", "NIM_MODEL_PATH"):
            value, index, _item = _env_value(container, name)
            if value and str(value).startswith("/"):
                return str(value), _field("env", index)
        return None, None
    args = [("args", i, a) for i, a in enumerate(container.get("args") or [])]
    tokens = [("command", i, a) for i, a in enumerate(container.get("command") or [])] + args
    for position, (group, index, token) in enumerate(tokens):
        token = str(token)
        if token == "--model" and position + 1 < len(tokens):
            group, index, value = tokens[position + 1]
            return str(value), _field(group, index)
        if token.startswith("--model="):
            return token.split("=", 1)[1], _field(group, index)
    for position, (group, index, token) in enumerate(tokens):
        if str(token) == "serve":
            for later_group, later_index, later in tokens[position + 1:]:
                if not str(later).startswith("-"):
                    return str(later), _field(later_group, later_index)
                break
    return None, None


def _check_model_path(manifest, container, where, runtime, cache_path, require_mount):
    found = []
    if require_mount:
        mounts = [m for m in container.get("volumeMounts") or [] if isinstance(m, dict) and m.get("mountPath")]
        if not any(path_within(cache_path, m["mountPath"]) for m in mounts):
            found.append(violation(manifest, _field(where, "volumeMounts"), RULE_MODEL_PATH,
                                   "no volume is mounted at the model cache path %s: the weights would not be there"
                                   % cache_path))
    model, suffix = model_path_of(container, runtime)
    if model is None:
        if runtime == "vllm":
            found.append(violation(manifest, _field(where, "args"), RULE_MODEL_PATH,
                                   "the model to serve is not named (vllm serve <path> or --model <path>)"))
        return found
    if not model.startswith("/"):
        found.append(violation(manifest, _field(where, suffix), RULE_MODEL_PATH,
                               "the model %s is not a path: offline, the runtime must load a directory under %s, not "
                               "a hub id" % (model, cache_path)))
    elif not path_within(model, cache_path):
        found.append(violation(manifest, _field(where, suffix), RULE_MODEL_PATH,
                               "the model path %s is not under the model cache path %s%s"
                               % (model, cache_path, " (the mounted weights)" if require_mount else "")))
    return found


# -- network policy and service ----------------------------------------------------------------------------------------

def _selects(selector, labels):
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _networks(cidrs):
    networks = []
    for cidr in cidrs or []:
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            continue
    return networks


def _check_network_policy(manifest, allowed_cidrs):
    found = []
    spec = manifest.obj.get("spec") or {}
    types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") is not None else ["Ingress"])
    if "Egress" in types:
        for index, rule in enumerate(spec.get("egress") or []):
            ports = rule.get("ports") or []
            if not ports:
                found.append(violation(manifest, _field("spec", "egress", index), RULE_NETWORK_POLICY,
                                       "this egress rule allows every port; only DNS (port %d) may leave the pods"
                                       % DNS_PORT))
                continue
            for port_index, port in enumerate(ports):
                if str(port.get("port")) != str(DNS_PORT) or port.get("endPort"):
                    found.append(violation(manifest, _field("spec", "egress", index, "ports", port_index),
                                           RULE_NETWORK_POLICY,
                                           "egress to port %s is allowed; only DNS (port %d) may leave the pods"
                                           % (port.get("port"), DNS_PORT)))
    if "Ingress" in types:
        networks = _networks(allowed_cidrs)
        for index, rule in enumerate(spec.get("ingress") or []):
            peers = rule.get("from") or []
            if not peers:
                found.append(violation(manifest, _field("spec", "ingress", index), RULE_NETWORK_POLICY,
                                       "this ingress rule lets in every source; only the client CIDRs may reach "
                                       "the model"))
                continue
            for peer_index, peer in enumerate(peers):
                field = _field("spec", "ingress", index, "from", peer_index)
                block = peer.get("ipBlock") or {}
                if not block or peer.get("podSelector") is not None or peer.get("namespaceSelector") is not None:
                    found.append(violation(manifest, field, RULE_NETWORK_POLICY,
                                           "ingress from pods or namespaces is allowed; only ipBlocks of the client "
                                           "CIDRs may reach the model"))
                    continue
                try:
                    net = ipaddress.ip_network(str(block.get("cidr")), strict=False)
                except ValueError:
                    found.append(violation(manifest, field + ".ipBlock.cidr", RULE_NETWORK_POLICY,
                                           "%r is not a CIDR" % (block.get("cidr"),)))
                    continue
                if networks and not any(net.version == n.version and net.subnet_of(n) for n in networks):
                    found.append(violation(manifest, field + ".ipBlock.cidr", RULE_NETWORK_POLICY,
                                           "%s is not inside the allowed client CIDRs (%s)"
                                           % (net, ", ".join(str(n) for n in networks))))
    return found, types


def _check_network_coverage(workloads, policies):
    """Each pod-bearing object must be selected by a policy with Egress and one with Ingress."""
    found = []
    for manifest, pod_meta in workloads:
        labels = dict((str(k), str(v)) for k, v in (pod_meta.get("labels") or {}).items())
        covering = [(p, types) for p, types in policies if p.namespace == manifest.namespace
                    and _selects((p.obj.get("spec") or {}).get("podSelector"), labels)]
        for kind in ("Egress", "Ingress"):
            if not any(kind in types for _p, types in covering):
                found.append(violation(manifest, "metadata.namespace", RULE_NETWORK_POLICY,
                                       "no NetworkPolicy in namespace %s restricts the %s of these pods%s"
                                       % (manifest.namespace, kind.lower(),
                                          ": all egress but DNS must be denied" if kind == "Egress" else
                                          ": only the client CIDRs may reach them")))
    return found


def _check_service(manifest):
    spec = manifest.obj.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return []
    annotations = (manifest.obj.get("metadata") or {}).get("annotations") or {}
    if str(annotations.get(INTERNAL_LB, "")).lower() != "true":
        return [violation(manifest, _key_field("metadata.annotations", INTERNAL_LB), RULE_SERVICE,
                          "a LoadBalancer Service must be internal (%s: \"true\"); the cluster has no public "
                          "ingress" % INTERNAL_LB)]
    return []


# -- the policy --------------------------------------------------------------------------------------------------------

class PolicyOptions:
    """What the policy checks against. ``runtime``: vllm, nim or None (no serving container)."""

    def __init__(self, allowed_registries, runtime=None, gpu_pool_taints=DEFAULT_GPU_TAINTS, gpu_pool_labels=None,
                 model_cache_path=None, require_cache_mount=False, require_network_policy=True, ingress_cidrs=None):
        self.allowed_registries = [str(r).strip() for r in allowed_registries or [] if str(r).strip()]
        self.runtime = runtime if runtime in ("vllm", "nim") else None
        self.gpu_pool_taints = [dict(t, effect=t.get("effect") or "NoSchedule", value=str(t.get("value") or ""))
                                for t in gpu_pool_taints or []]
        self.gpu_pool_labels = dict((str(k), str(v)) for k, v in (gpu_pool_labels or {}).items())
        self.model_cache_path = model_cache_path or None
        self.require_cache_mount = bool(require_cache_mount)
        self.require_network_policy = bool(require_network_policy)
        self.ingress_cidrs = list(ingress_cidrs or [])
        if not self.allowed_registries:
            raise PolicyError("allowed_registries: at least one registry (the private ACR login server) is required")


def check_policy(manifests, options):
    """Every violation of the collection's policy, in object order."""
    found, workloads, policies = [], [], []
    for manifest in manifests:
        pod_spec, base, pod_meta, meta_base = pod_spec_of(manifest)
        found += _check_credentials(manifest, pod_spec, base, pod_meta, meta_base)
        if manifest.kind == "NetworkPolicy":
            problems, types = _check_network_policy(manifest, options.ingress_cidrs)
            found += problems
            policies.append((manifest, types))
        elif manifest.kind == "Service":
            found += _check_service(manifest)
        if pod_spec is None:
            continue
        workloads.append((manifest, pod_meta))
        found += _check_images(manifest, pod_spec, base, options.allowed_registries)
        if any(_gpus(c) for c, _w in _containers(pod_spec, base)):
            found += _check_gpu_placement(manifest, pod_spec, base, options.gpu_pool_taints, options.gpu_pool_labels)
        for index, container in enumerate(pod_spec.get("containers") or []):
            if not isinstance(container, dict) or not options.runtime or not _gpus(container) or \
                    manifest.kind not in SERVING_KINDS:
                continue
            where = _field(base, "containers", index)
            cache = options.model_cache_path
            if options.runtime == "nim" and not cache:
                cache = _env_value(container, "NIM_CACHE_PATH")[0]
            found += _check_offline(manifest, container, where, options.runtime, cache)
            if cache:
                found += _check_model_path(manifest, container, where, options.runtime, cache,
                                           options.require_cache_mount)
    if options.require_network_policy:
        found += _check_network_coverage(workloads, policies)
    return found


def check(paths, version, options, strict=True, versions=None):
    """Load, validate and check; the result a module returns."""
    manifests = load_manifests(paths)
    chosen, note, schema_violations, warnings = validate_schemas(manifests, version, strict=strict, versions=versions)
    violations = schema_violations + check_policy(manifests, options)
    return {
        "objects": [{"object": m.ref, "kind": m.kind, "name": m.name, "namespace": m.namespace, "file": m.source}
                    for m in manifests],
        "schema_version": chosen,
        "schema_note": note,
        "violations": violations,
        "schema_warnings": warnings,
    }


def describe(violations, limit=10):
    """One line per violation, for a failure message."""
    lines = ["%s %s [%s]: %s" % (v["object"], v["field"], v["rule"], v["message"]) for v in violations[:limit]]
    if len(violations) > limit:
        lines.append("... and %d more" % (len(violations) - limit))
    return "; ".join(lines)
