# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes objects of an inference workload, built from plain options.

``WorkloadSpec.from_params(params)`` checks the options (``RenderError`` names the
option) and ``render(spec)`` returns ``[(filename, object), ...]`` in apply order:
namespace, service account, storage, network policy, deployment, service,
disruption budget. ``write_manifests(dest, files)`` writes one YAML file per
object, rewriting only what changed and removing files an earlier render made
that the current one no longer has.

Three ways to get the weights into the pod:

* ``image``: baked into the serving image (vLLM); nothing is mounted.
* ``nfs``: the NFS share the jump box staged them to, as a read-only
  PersistentVolume (plain NFS, or an Azure Files CSI static volume with a
  private-endpoint StorageClass) mounted at the model cache path (vLLM or NIM).
* ``weights_image``: a weights-only image from the registry, mounted as an image
  volume on Kubernetes >= 1.35, else copied by an init container into an
  ``emptyDir`` (vLLM).

Pure Python, no cluster and no Ansible needed; unit-tested.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
import tempfile

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_YAML = False

from ansible_collections.airgap.aks_inference.plugins.module_utils import k8s_policy
from ansible_collections.airgap.aks_inference.plugins.module_utils.gpu_check import GpuCheckError, gpu_check_job

RUNTIMES = ("vllm", "nim")
WEIGHTS_SOURCES = ("image", "nfs", "weights_image")
STORAGE_PROVIDERS = ("nfs", "azure_files")
DEFAULT_CACHE_PATH = {"vllm": "/models", "nim": "/opt/nim/.cache"}
IMAGE_VOLUME_MINIMUM = (1, 35)
GPU_RESOURCE = "nvidia.com/gpu"
AGENTPOOL_LABEL = "kubernetes.azure.com/agentpool"
PORT_NAME = "http"
FIELD_MANAGER = "airgap.aks_inference"
PART_OF = "airgap-aks-inference"
AZURE_FILES_DRIVER = "file.csi.azure.com"
INTERNAL_LB = "service.beta.kubernetes.io/azure-load-balancer-internal"
INTERNAL_LB_SUBNET = "service.beta.kubernetes.io/azure-load-balancer-internal-subnet"
LB_IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
# First line of every file this module writes: how stale files are recognised.
HEADER = "# Rendered by airgap.aks_inference (role inference_workload). Change the role variables, not this file.\n"
COPY_MOUNT = "/airgap-weights"
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
PROBE_PERIOD = 10

VLLM_OFFLINE_ENV = (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("VLLM_NO_USAGE_STATS", "1"),
    ("DO_NOT_TRACK", "1"),
)
NIM_OFFLINE_ENV = (
    ("HF_HUB_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
)
PROBES = {
    # (startup, readiness, liveness) paths on the serving port
    "vllm": ("/health", "/v1/models", "/health"),
    "nim": ("/v1/health/ready", "/v1/health/ready", "/v1/health/live"),
}

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$")
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class RenderError(ValueError):
    """Bad input, found before anything is rendered; names the option at fault.

    ``secrets``: the suspected credentials that caused it, for the caller to keep out of its logs.
    """

    def __init__(self, field, problem, secrets=()):
        super().__init__("%s: %s" % (field, problem))
        self.field = field
        self.problem = problem
        self.secrets = list(secrets)


def parse_version(value, field="kubernetes_version"):
    """``"1.34"``, ``"v1.34.2"`` -> ``(1, 34)``."""
    match = _VERSION.match(str(value or "").strip())
    if not match:
        raise RenderError(field, "%r is not a Kubernetes version such as 1.34" % (value,))
    return int(match.group(1)), int(match.group(2))


def _abs_path(value, field):
    text = str(value or "").strip()
    if not text.startswith("/"):
        raise RenderError(field, "%r must be an absolute path" % (value,))
    if ".." in text.split("/"):
        raise RenderError(field, "%r must not contain '..'" % (value,))
    return posixpath.normpath(text)


def _quantity(value, field):
    text = str(value).strip()
    if not _QUANTITY.match(text):
        raise RenderError(field, "%r is not a Kubernetes quantity such as 16Gi" % (value,))
    return text


def _positive(value, field, minimum=1):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RenderError(field, "%r is not a whole number" % (value,))
    if number < minimum:
        raise RenderError(field, "must be at least %d, got %d" % (minimum, number))
    return number


def _taints(value, field):
    taints = []
    for index, taint in enumerate(value or []):
        where = "%s[%d]" % (field, index)
        if not isinstance(taint, dict) or not taint.get("key"):
            raise RenderError(where, "a taint needs a key (and value, effect), e.g. "
                                     "{key: sku, value: gpu, effect: NoSchedule}")
        effect = taint.get("effect") or "NoSchedule"
        if effect not in _TAINT_EFFECTS:
            raise RenderError(where + ".effect", "%r is not one of %s" % (effect, ", ".join(_TAINT_EFFECTS)))
        taints.append({"key": str(taint["key"]), "value": str(taint.get("value") or ""), "effect": effect})
    return taints


def tolerations_for(taints):
    """The tolerations that let a pod onto nodes with exactly these taints."""
    tolerations = []
    for taint in taints:
        toleration = {"key": taint["key"]}
        if taint.get("value"):
            toleration.update(operator="Equal", value=taint["value"])
        else:
            toleration["operator"] = "Exists"
        toleration["effect"] = taint["effect"]
        tolerations.append(toleration)
    return tolerations


def node_affinity_for(labels):
    """A required node affinity onto nodes carrying every label (the GPU pool)."""
    if not labels:
        return None
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
        "matchExpressions": [{"key": key, "operator": "In", "values": [str(labels[key])]} for key in sorted(labels)],
    }]}}}


class WorkloadSpec:
    """The checked, normalized options of one workload."""

    def __init__(self, **values):
        self.__dict__.update(values)

    @property
    def image_volume(self):
        return self.weights_source == "weights_image" and self.version >= IMAGE_VOLUME_MINIMUM

    @property
    def mounts_weights(self):
        return self.weights_source in ("nfs", "weights_image")

    @classmethod
    def from_params(cls, params, prefix=""):  # noqa: C901 - one flat list of checks
        """Check ``params`` (module options) and return the spec; RenderError names ``prefix + option``."""
        def field(name):
            return prefix + name

        def get(name, default=None):
            value = params.get(name)
            return default if value is None else value

        name = str(get("name", "llm"))
        if not _DNS1035.match(name) or len(name) > 50:
            raise RenderError(field("name"), "%r must be a DNS-1035 label of at most 50 characters "
                                             "(lower case letters, digits, '-', starting with a letter)" % name)
        namespace = str(get("namespace", "inference"))
        if not _DNS1123_LABEL.match(namespace) or len(namespace) > 63:
            raise RenderError(field("namespace"), "%r is not a valid namespace name" % namespace)
        runtime = get("runtime", "vllm")
        if runtime not in RUNTIMES:
            raise RenderError(field("runtime"), "%r is not one of %s" % (runtime, ", ".join(RUNTIMES)))
        source = get("weights_source", "nfs")
        if source not in WEIGHTS_SOURCES:
            raise RenderError(field("weights_source"), "%r is not one of %s" % (source, ", ".join(WEIGHTS_SOURCES)))
        if runtime == "nim" and source != "nfs":
            raise RenderError(field("weights_source"),
                              "NIM reads its model cache from the NFS share: use weights_source=nfs with runtime=nim "
                              "(image and weights_image are for vLLM)")
        image = str(get("image", "")).strip()
        if not image:
            raise RenderError(field("image"), "the serving image is required (from the private registry)")
        version = parse_version(get("kubernetes_version", "1.34"), field("kubernetes_version"))
        cache_path = _abs_path(get("model_cache_path") or DEFAULT_CACHE_PATH[runtime], field("model_cache_path"))
        model_path = get("model_path") or ""
        if model_path:
            model_path = _abs_path(model_path, field("model_path"))
        elif runtime == "vllm":
            raise RenderError(field("model_path"), "vLLM needs the path of the model directory (under %s)" % cache_path)
        served = str(get("served_model_name", "")).strip()
        if not served:
            raise RenderError(field("served_model_name"), "required: the model id clients ask for")
        weights_image = str(get("weights_image", "")).strip()
        if source == "weights_image" and not weights_image:
            raise RenderError(field("weights_image"), "required with weights_source=weights_image")
        weights_image_path = _abs_path(get("weights_image_path", "/models"), field("weights_image_path"))

        storage = None
        if source == "nfs":
            storage = cls._storage(get("storage", {}) or {}, field("storage"))

        service = dict(get("service", {}) or {})
        static_ip = str(service.get("static_ip") or "").strip()
        if static_ip:
            try:
                ipaddress.IPv4Address(static_ip)
            except ValueError:
                raise RenderError(field("service.static_ip"), "%r is not an IPv4 address" % static_ip)
        cidrs = []
        for index, cidr in enumerate(get("ingress_cidrs", []) or []):
            try:
                cidrs.append(str(ipaddress.ip_network(str(cidr).strip(), strict=True)))
            except ValueError as exc:
                raise RenderError("%s[%d]" % (field("ingress_cidrs"), index),
                                  "%r is not a CIDR prefix: %s" % (cidr, exc))
        if not cidrs:
            raise RenderError(field("ingress_cidrs"), "at least one client CIDR is required: the NetworkPolicy lets "
                                                      "nothing else reach the model")
        taints = _taints(get("gpu_pool_taints", []), field("gpu_pool_taints"))
        tolerations = get("tolerations") or []
        if not isinstance(tolerations, list):
            raise RenderError(field("tolerations"), "must be a list of tolerations")
        labels = dict((str(k), str(v)) for k, v in (get("gpu_pool_labels", {}) or {}).items())
        resources = get("resources", {}) or {}
        if not isinstance(resources, dict) or set(resources) - {"requests", "limits"}:
            raise RenderError(field("resources"), "must be a mapping with requests and/or limits")
        env = get("env", {}) or {}
        if not isinstance(env, dict):
            raise RenderError(field("env"), "must be a mapping of variable name to value")
        extra_args = [str(arg) for arg in (get("extra_args", []) or [])]
        vllm_command = [str(arg) for arg in (get("vllm_command") or ["vllm", "serve"])]
        copy_command = [str(arg) for arg in (get("weights_copy_command") or [])]

        spec = cls(
            name=name,
            namespace=namespace,
            runtime=runtime,
            weights_source=source,
            image=image,
            image_pull_policy=get("image_pull_policy", "IfNotPresent"),
            version=version,
            model_cache_path=cache_path,
            model_path=model_path,
            served_model_name=served,
            gpu_count=_positive(get("gpu_count", 1), field("gpu_count")),
            replicas=_positive(get("replicas", 1), field("replicas")),
            resources=resources,
            shm_size=_quantity(get("shm_size", "16Gi"), field("shm_size")),
            port=_positive(get("port", 8000), field("port")),
            vllm_command=vllm_command,
            extra_args=extra_args,
            env=dict((str(k), "" if v is None else str(v)) for k, v in env.items()),
            nim_model_profile=str(get("nim_model_profile", "") or ""),
            weights_image=weights_image,
            weights_image_path=weights_image_path,
            weights_copy_command=copy_command,
            weights_copy_size_limit=_quantity(get("weights_copy_size_limit", "64Gi"), field("weights_copy_size_limit")),
            storage=storage,
            service_port=_positive(service.get("port") or get("port", 8000), field("service.port")),
            service_static_ip=static_ip,
            service_subnet=str(service.get("subnet") or "").strip(),
            service_annotations=dict((str(k), str(v)) for k, v in (service.get("annotations") or {}).items()),
            ingress_cidrs=cidrs,
            gpu_pool_taints=taints,
            gpu_pool_labels=labels,
            tolerations=[dict(t) for t in tolerations] if tolerations else tolerations_for(taints),
            startup_budget=_positive(get("startup_budget", 1800), field("startup_budget"), minimum=60),
            run_as_user=_positive(get("run_as_user", 1000), field("run_as_user")),
            run_as_group=_positive(get("run_as_group", 1000), field("run_as_group")),
            fs_group=_positive(get("fs_group", 1000), field("fs_group")),
            pod_security_level=get("pod_security_level", "restricted"),
            pdb_max_unavailable=get("pdb_max_unavailable", 1),
            labels=dict((str(k), str(v)) for k, v in (get("labels", {}) or {}).items()),
            annotations=dict((str(k), str(v)) for k, v in (get("annotations", {}) or {}).items()),
        )
        findings = k8s_policy.find_credentials(
            {"env": spec.env, "extra_args": spec.extra_args, "labels": spec.labels, "annotations": spec.annotations,
             "service": {"annotations": spec.service_annotations}}, prefix=prefix, with_values=True)
        if findings:
            raise RenderError(findings[0]["field"], findings[0]["message"],
                              [value for finding in findings for value in finding["values"]])
        return spec

    @staticmethod
    def _storage(storage, field):
        provider = storage.get("provider") or "nfs"
        if provider not in STORAGE_PROVIDERS:
            raise RenderError(field + ".provider", "%r is not one of %s" % (provider, ", ".join(STORAGE_PROVIDERS)))
        result = {
            "provider": provider,
            "capacity": _quantity(storage.get("capacity") or "1Ti", field + ".capacity"),
            "sub_path": str(storage.get("sub_path") or "").strip("/"),
        }
        if ".." in result["sub_path"].split("/"):
            raise RenderError(field + ".sub_path", "must not contain '..'")
        if provider == "nfs":
            for key in ("server", "path"):
                if not storage.get(key):
                    raise RenderError(field + "." + key, "required for the NFS share (e.g. server "
                                      "<account>.file.core.windows.net, path /<account>/<share>)")
            result.update(server=str(storage["server"]).strip(), path=_abs_path(storage["path"], field + ".path"))
            result["mount_options"] = [str(o) for o in (storage.get("mount_options") or
                                                        ["vers=4", "minorversion=1", "sec=sys", "nconnect=4"])]
        else:
            for key in ("resource_group", "storage_account", "share_name"):
                if not storage.get(key):
                    raise RenderError(field + "." + key, "required for an Azure Files CSI volume")
            result.update(
                resource_group=str(storage["resource_group"]),
                storage_account=str(storage["storage_account"]),
                share_name=str(storage["share_name"]),
                storage_class_name=str(storage.get("storage_class_name") or "azurefile-nfs-private"),
                sku_name=str(storage.get("sku_name") or "Premium_LRS"),
                mount_options=[str(o) for o in (storage.get("mount_options") or
                                                ["nconnect=4", "noresvport", "actimeo=30"])],
            )
        return result


# -- objects -----------------------------------------------------------------------------------------------------------

def _labels(spec, extra=None):
    labels = {
        "app.kubernetes.io/name": spec.name,
        "app.kubernetes.io/component": "inference",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": FIELD_MANAGER,
    }
    labels.update(spec.labels)
    labels.update(extra or {})
    return labels


def _selector(spec):
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/component": "inference"}


def _meta(spec, name, namespaced=True, labels=None, annotations=None):
    meta = {"name": name}
    if namespaced:
        meta["namespace"] = spec.namespace
    meta["labels"] = labels if labels is not None else _labels(spec)
    if annotations:
        meta["annotations"] = annotations
    return meta


def namespace(spec):
    level = spec.pod_security_level
    version = "v%d.%d" % spec.version
    labels = _labels(spec, {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": version,
        "pod-security.kubernetes.io/audit": level,
        "pod-security.kubernetes.io/audit-version": version,
        "pod-security.kubernetes.io/warn": level,
        "pod-security.kubernetes.io/warn-version": version,
    })
    labels.pop("app.kubernetes.io/component")
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(spec, spec.namespace, False, labels)}


def service_account(spec):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec, spec.name),
            "automountServiceAccountToken": False}


def volume_names(spec):
    pv = "%s-%s-weights" % (spec.namespace, spec.name)
    return pv, "%s-weights" % spec.name


def storage_class(spec):
    storage = spec.storage
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _meta(spec, storage["storage_class_name"], False),
        "provisioner": AZURE_FILES_DRIVER,
        "parameters": {
            "protocol": "nfs",
            "skuName": storage["sku_name"],
            "networkEndpointType": "privateEndpoint",
            "resourceGroup": storage["resource_group"],
            "storageAccount": storage["storage_account"],
        },
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": False,
        "mountOptions": list(storage["mount_options"]),
    }


def persistent_volume(spec):
    storage = spec.storage
    pv_name, claim = volume_names(spec)
    pv_spec = {
        "capacity": {"storage": storage["capacity"]},
        "accessModes": ["ReadOnlyMany"],
        "persistentVolumeReclaimPolicy": "Retain",
        "volumeMode": "Filesystem",
        "mountOptions": list(storage["mount_options"]),
        "claimRef": {"namespace": spec.namespace, "name": claim},
    }
    if storage["provider"] == "nfs":
        pv_spec["storageClassName"] = ""
        pv_spec["nfs"] = {"server": storage["server"], "path": storage["path"], "readOnly": True}
    else:
        pv_spec["storageClassName"] = storage["storage_class_name"]
        pv_spec["csi"] = {
            "driver": AZURE_FILES_DRIVER,
            "volumeHandle": "%s#%s#%s" % (storage["resource_group"], storage["storage_account"], storage["share_name"]),
            "readOnly": True,
            "volumeAttributes": {
                "resourceGroup": storage["resource_group"],
                "storageAccount": storage["storage_account"],
                "shareName": storage["share_name"],
                "protocol": "nfs",
            },
        }
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": _meta(spec, pv_name, False), "spec": pv_spec}


def persistent_volume_claim(spec):
    pv_name, claim = volume_names(spec)
    storage = spec.storage
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(spec, claim),
        "spec": {
            "accessModes": ["ReadOnlyMany"],
            "storageClassName": "" if storage["provider"] == "nfs" else storage["storage_class_name"],
            "volumeName": pv_name,
            "resources": {"requests": {"storage": storage["capacity"]}},
        },
    }


def network_policy(spec):
    dns_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": DNS_NAMESPACE}},
                "podSelector": {"matchLabels": dict(DNS_POD_LABELS)}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(spec, "%s-isolation" % spec.name),
        "spec": {
            # Every pod of the namespace: the workload and the GPU check alike.
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{
                "from": [{"ipBlock": {"cidr": cidr}} for cidr in spec.ingress_cidrs],
                "ports": [{"protocol": "TCP", "port": spec.port}],
            }],
            "egress": [{
                "to": [dns_peer],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
    }


def _probe(path, period, failures, timeout=5):
    return {"httpGet": {"path": path, "port": PORT_NAME}, "periodSeconds": period, "timeoutSeconds": timeout,
            "failureThreshold": failures}


def _env(pairs):
    return [{"name": name, "value": value} for name, value in pairs]


def _container_security():
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}


def serving_container(spec):
    startup, readiness, liveness = PROBES[spec.runtime]
    env = []
    if spec.runtime == "vllm":
        command = list(spec.vllm_command)
        args = [spec.model_path, "--served-model-name", spec.served_model_name, "--host", "0.0.0.0",
                "--port", str(spec.port), "--tensor-parallel-size", str(spec.gpu_count)] + spec.extra_args
        env.extend(VLLM_OFFLINE_ENV)
        env.extend([("HOME", "/tmp"), ("XDG_CACHE_HOME", "/tmp/.cache")])
    else:
        command = None
        args = list(spec.extra_args)
        env.extend([("NIM_CACHE_PATH", spec.model_cache_path), ("NIM_SERVED_MODEL_NAME", spec.served_model_name),
                    ("NIM_SERVER_PORT", str(spec.port))])
        if spec.model_path:
            env.append(("NIM_MODEL_NAME", spec.model_path))
        if spec.nim_model_profile:
            env.append(("NIM_MODEL_PROFILE", spec.nim_model_profile))
        env.extend(NIM_OFFLINE_ENV)
    rendered = set(name for name, _value in env)
    env.extend((name, spec.env[name]) for name in sorted(spec.env) if name not in rendered)
    env = [(name, spec.env.get(name, value)) for name, value in env]

    resources = {key: dict(value or {}) for key, value in spec.resources.items()}
    resources.setdefault("limits", {})[GPU_RESOURCE] = spec.gpu_count
    mounts = [{"name": "dshm", "mountPath": "/dev/shm"}, {"name": "tmp", "mountPath": "/tmp"}]
    if spec.mounts_weights:
        mount = {"name": "weights", "mountPath": spec.model_cache_path, "readOnly": True}
        if spec.weights_source == "nfs" and spec.storage.get("sub_path"):
            mount["subPath"] = spec.storage["sub_path"]
        elif spec.image_volume and spec.weights_image_path != "/":
            mount["subPath"] = spec.weights_image_path.lstrip("/")
        mounts.append(mount)

    container = {"name": spec.runtime, "image": spec.image, "imagePullPolicy": spec.image_pull_policy}
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    container.update({
        "ports": [{"name": PORT_NAME, "containerPort": spec.port, "protocol": "TCP"}],
        "env": _env(env),
        "resources": resources,
        "startupProbe": _probe(startup, PROBE_PERIOD, -(-spec.startup_budget // PROBE_PERIOD)),
        "readinessProbe": _probe(readiness, PROBE_PERIOD, 3),
        "livenessProbe": _probe(liveness, 20, 3, timeout=10),
        "securityContext": _container_security(),
        "volumeMounts": mounts,
    })
    return container


def weights_copy_container(spec):
    """The init container that copies a weights-only image into the emptyDir (Kubernetes < 1.35)."""
    command = spec.weights_copy_command or ["cp", "-R", spec.weights_image_path.rstrip("/") + "/.", COPY_MOUNT + "/"]
    return {
        "name": "copy-weights",
        "image": spec.weights_image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": command,
        "securityContext": _container_security(),
        "volumeMounts": [{"name": "weights", "mountPath": COPY_MOUNT}],
    }


def _volumes(spec):
    volumes = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": spec.shm_size}},
               {"name": "tmp", "emptyDir": {}}]
    if spec.weights_source == "nfs":
        volumes.append({"name": "weights", "persistentVolumeClaim": {"claimName": volume_names(spec)[1],
                                                                     "readOnly": True}})
    elif spec.weights_source == "weights_image":
        if spec.image_volume:
            image = {"reference": spec.weights_image, "pullPolicy": spec.image_pull_policy}
            volumes.append({"name": "weights", "image": image})
        else:
            volumes.append({"name": "weights", "emptyDir": {"sizeLimit": spec.weights_copy_size_limit}})
    return volumes


def deployment(spec):
    pod_spec = {
        "serviceAccountName": spec.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": spec.run_as_user,
            "runAsGroup": spec.run_as_group,
            "fsGroup": spec.fs_group,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "tolerations": spec.tolerations,
    }
    affinity = node_affinity_for(spec.gpu_pool_labels)
    if affinity:
        pod_spec["affinity"] = affinity
    if spec.weights_source == "weights_image" and not spec.image_volume:
        pod_spec["initContainers"] = [weights_copy_container(spec)]
    pod_spec["containers"] = [serving_container(spec)]
    pod_spec["volumes"] = _volumes(spec)
    pod_spec["terminationGracePeriodSeconds"] = 60
    template_meta = {"labels": _labels(spec)}
    if spec.annotations:
        template_meta["annotations"] = dict(sorted(spec.annotations.items()))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, spec.name),
        "spec": {
            "replicas": spec.replicas,
            "revisionHistoryLimit": 3,
            # A rollout may take as long as loading the weights, and then some.
            "progressDeadlineSeconds": spec.startup_budget + 600,
            "selector": {"matchLabels": _selector(spec)},
            # GPUs are scarce: replace pods rather than surge.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {"metadata": template_meta, "spec": pod_spec},
        },
    }


def service(spec):
    annotations = {INTERNAL_LB: "true"}
    if spec.service_subnet:
        annotations[INTERNAL_LB_SUBNET] = spec.service_subnet
    if spec.service_static_ip:
        annotations[LB_IPV4] = spec.service_static_ip
    for key in sorted(spec.service_annotations):
        annotations.setdefault(key, spec.service_annotations[key])
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(spec, spec.name, annotations=annotations),
        "spec": {
            "type": "LoadBalancer",
            # Keeps the client address, so the NetworkPolicy's ipBlock sees it.
            "externalTrafficPolicy": "Local",
            "loadBalancerSourceRanges": list(spec.ingress_cidrs),
            "selector": _selector(spec),
            "ports": [{"name": PORT_NAME, "port": spec.service_port, "targetPort": PORT_NAME, "protocol": "TCP"}],
        },
    }


def pod_disruption_budget(spec):
    budget = spec.pdb_max_unavailable
    if isinstance(budget, str) and budget.isdigit():
        budget = int(budget)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec, spec.name),
        "spec": {"maxUnavailable": budget, "selector": {"matchLabels": _selector(spec)}},
    }


def render(spec):
    """``[(filename, object)]`` in the order they must be applied."""
    objects = [namespace(spec), service_account(spec)]
    if spec.weights_source == "nfs":
        if spec.storage["provider"] == "azure_files":
            objects.append(storage_class(spec))
        objects.extend([persistent_volume(spec), persistent_volume_claim(spec)])
    objects.extend([network_policy(spec), deployment(spec), service(spec), pod_disruption_budget(spec)])
    return [("%02d-%s-%s.yaml" % (index * 10, obj["kind"].lower(), obj["metadata"]["name"]), obj)
            for index, obj in enumerate(objects)]


def gpu_check(spec, image=None, name=None, prefix=""):
    """``(filename, Job)``: ``nvidia-smi`` once on the GPU pool (tolerating its taints, pinned to its labels)."""
    name = name or "%s-gpu-check" % spec.name
    if not _DNS1123_LABEL.match(name) or len(name) > 63:
        raise RenderError(prefix + "gpu_check_name", "%r is not a valid Job name" % name)
    try:
        job = gpu_check_job(name, spec.namespace, image or spec.image,
                            spec.gpu_pool_labels.get(AGENTPOOL_LABEL, ""))
    except GpuCheckError as err:
        raise RenderError(prefix + "gpu_check_image", str(err))
    pod = job["spec"]["template"]["spec"]
    if spec.gpu_pool_labels:
        pod["nodeSelector"] = dict(sorted(spec.gpu_pool_labels.items()))
    pod["tolerations"] = spec.tolerations
    job["metadata"]["labels"].update(spec.labels)
    job["spec"]["template"]["metadata"]["labels"].update(spec.labels)
    return "job-%s.yaml" % name, job


def summary(spec):
    """What later tasks need to know about the rendered workload."""
    return {
        "namespace": spec.namespace,
        "deployment": spec.name,
        "service_name": spec.name,
        "service_port": spec.service_port,
        "service_ip": spec.service_static_ip or None,
        "served_model_name": spec.served_model_name,
        "runtime": spec.runtime,
        "weights_source": spec.weights_source,
        "model_cache_path": spec.model_cache_path,
        "model_path": spec.model_path or None,
        "image_volume": spec.image_volume,
        "kubernetes_version": "%d.%d" % spec.version,
    }


# -- files -------------------------------------------------------------------------------------------------------------

def dump(obj):
    """One object as YAML, stable across runs (insertion order, no line wrapping)."""
    return HEADER + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=4096, allow_unicode=True)


def _read(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _ours(path):
    text = _read(path)
    return text is not None and text.startswith(HEADER)


def write_manifests(dest, files, check_mode=False):
    """Write ``[(filename, text)]`` into ``dest``; remove stale files of an earlier render.

    Returns ``{changed, written, removed, unchanged, diff}``; in check mode nothing is touched.
    """
    written, unchanged, removed, diffs = [], [], [], []
    wanted = set(name for name, _text in files)
    exists = os.path.isdir(dest)
    for name, text in files:
        path = os.path.join(dest, name)
        before = _read(path) if exists else None
        if before == text:
            unchanged.append(name)
            continue
        written.append(name)
        diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": text})
        if check_mode:
            continue
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o755)
            exists = True
        handle, tmp = tempfile.mkstemp(dir=dest, prefix=".%s." % name)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    if exists:
        for name in sorted(os.listdir(dest)):
            path = os.path.join(dest, name)
            if name in wanted or not name.endswith(".yaml") or not os.path.isfile(path) or not _ours(path):
                continue
            removed.append(name)
            diffs.append({"before_header": path, "after_header": path, "before": _read(path), "after": ""})
            if not check_mode:
                os.remove(path)
    return {"changed": bool(written or removed), "written": written, "removed": removed, "unchanged": unchanged,
            "diff": diffs}
