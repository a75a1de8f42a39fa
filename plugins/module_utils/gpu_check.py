# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU check of the GPU node pool: a Job manifest that runs ``nvidia-smi``, and a parser for its output.

How the verify role uses it (the role comes later):

1. ``gpu_check_job(...)`` renders a ``batch/v1`` Job whose pod lands on the GPU pool
   (``nodeSelector kubernetes.azure.com/agentpool: <pool>``), tolerates the pool's taint
   ``sku=gpu:NoSchedule``, asks for ``nvidia.com/gpu: 1`` (so the managed NVIDIA device plugin
   must have advertised the GPU), and runs an image from the private registry (the isolated
   cluster pulls from nowhere else), e.g. the serving image or a CUDA base image brought in
   through the ACR cache: the NVIDIA container runtime of the GPU nodes injects the driver's
   ``nvidia-smi`` into containers that ask for the ``utility`` driver capability, which the Job
   sets. The pod gets no service-account token, runs unprivileged and prints
   ``nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader``.
2. The role applies it with ``kubernetes.core.k8s`` (``wait`` for the Job's ``Complete``
   condition), reads the pod log with ``kubernetes.core.k8s_log``, and
3. hands the log to ``parse_nvidia_smi(...)`` (through a module or filter of the role) to
   check the GPU model, memory and driver version it expects, then deletes the Job.

Nothing here talks to a cluster; both functions are pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

import re

GPU_QUERY_FIELDS = ("name", "memory.total", "driver_version")
NVIDIA_SMI_COMMAND = ("nvidia-smi", "--query-gpu=%s" % ",".join(GPU_QUERY_FIELDS), "--format=csv,noheader")
GPU_TAINT = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
GPU_RESOURCE = "nvidia.com/gpu"
AGENTPOOL_LABEL = "kubernetes.azure.com/agentpool"
NOT_AVAILABLE = ("[N/A]", "[Not Supported]", "N/A", "")

_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(MiB|GiB|KiB|MB|GB)?\s*$", re.IGNORECASE)
_MIB_PER_UNIT = {None: 1, "kib": 1.0 / 1024, "mib": 1, "gib": 1024, "mb": 1, "gb": 1024}


class GpuCheckError(ValueError):
    """Output that is not what ``nvidia-smi --query-gpu=... --format=csv,noheader`` prints."""


def parse_memory_mib(text):
    """``'81920 MiB'`` (or ``'81920'`` with ``nounits``) -> ``81920``; ``None`` when not reported."""
    text = (text or "").strip()
    if text in NOT_AVAILABLE:
        return None
    match = _MEMORY_RE.match(text)
    if not match:
        raise GpuCheckError("memory.total %r is not a size in MiB" % text)
    unit = match.group(2).lower() if match.group(2) else None
    return int(round(float(match.group(1)) * _MIB_PER_UNIT[unit]))


def parse_nvidia_smi(output):
    """One dict per GPU (``index``, ``name``, ``memory_total_mib``, ``driver_version``).

    Splits each line at its last two commas so a GPU name that contains a comma stays whole;
    blank lines are skipped; anything else that does not have three fields raises ``GpuCheckError``
    (``nvidia-smi`` prints its errors, e.g. "NVIDIA-SMI has failed ...", on stdout too).
    """
    gpus = []
    for number, line in enumerate((output or "").splitlines(), 1):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.rsplit(",", 2)]
        if len(fields) != 3 or not fields[0]:
            raise GpuCheckError("line %d of the nvidia-smi output is not 'name, memory.total, driver_version': %r"
                                % (number, line.strip()))
        name, memory, driver = fields
        gpus.append({
            "index": len(gpus),
            "name": name,
            "memory_total_mib": parse_memory_mib(memory),
            "driver_version": None if driver in NOT_AVAILABLE else driver,
        })
    if not gpus:
        raise GpuCheckError("the nvidia-smi output lists no GPU")
    return gpus


def gpu_check_job(name, namespace, image, node_pool, gpus=1, image_pull_secrets=None,
                  active_deadline_seconds=600, ttl_seconds_after_finished=3600, labels=None):
    """The Job that runs ``nvidia-smi`` once on a node of ``node_pool`` (a dict, ready for kubernetes.core.k8s)."""
    if not image or "/" not in image:
        raise GpuCheckError("image must be a full reference into the private registry, got %r" % (image,))
    if int(gpus) < 1:
        raise GpuCheckError("gpus must be at least 1, got %r" % (gpus,))
    meta_labels = {"app.kubernetes.io/name": "gpu-check", "app.kubernetes.io/part-of": "airgap-aks-inference"}
    meta_labels.update(labels or {})
    pod_spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "nodeSelector": {AGENTPOOL_LABEL: node_pool},
        "tolerations": [dict(GPU_TAINT)],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "nvidia-smi",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": list(NVIDIA_SMI_COMMAND),
            "env": [{"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"}],
            "resources": {"limits": {GPU_RESOURCE: int(gpus)}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }],
    }
    if image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": secret} for secret in image_pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(active_deadline_seconds),
            "ttlSecondsAfterFinished": int(ttl_seconds_after_finished),
            "template": {"metadata": {"labels": dict(meta_labels)}, "spec": pod_spec},
        },
    }
