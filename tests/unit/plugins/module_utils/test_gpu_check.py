"""Unit tests of plugins/module_utils/gpu_check.py: the nvidia-smi parser and the Job manifest."""
import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils.gpu_check import (
    GPU_QUERY_FIELDS,
    GpuCheckError,
    gpu_check_job,
    parse_memory_mib,
    parse_nvidia_smi,
)

IMAGE = "contosoacr.azurecr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"


@pytest.mark.parametrize("output, expected", [
    ("NVIDIA A100 80GB PCIe, 81920 MiB, 550.54.15\n",
     [{"index": 0, "name": "NVIDIA A100 80GB PCIe", "memory_total_mib": 81920, "driver_version": "550.54.15"}]),
    ("Tesla T4, 15360 MiB, 535.161.08\r\nTesla T4, 15360 MiB, 535.161.08\r\n\r\n",
     [{"index": 0, "name": "Tesla T4", "memory_total_mib": 15360, "driver_version": "535.161.08"},
      {"index": 1, "name": "Tesla T4", "memory_total_mib": 15360, "driver_version": "535.161.08"}]),
    ("NVIDIA H100 NVL, 95830, 560.35.03",  # --format=csv,noheader,nounits
     [{"index": 0, "name": "NVIDIA H100 NVL", "memory_total_mib": 95830, "driver_version": "560.35.03"}]),
    ("Some GPU, rev 2, [N/A], [Not Supported]",  # a comma in the name; nothing reported
     [{"index": 0, "name": "Some GPU, rev 2", "memory_total_mib": None, "driver_version": None}]),
])
def test_parse_nvidia_smi(output, expected):
    assert parse_nvidia_smi(output) == expected


@pytest.mark.parametrize("output, match", [
    ("", "no GPU"),
    ("\n  \n", "no GPU"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "line 1"),
    ("Tesla T4, 15360 MiB, 535.161.08\nNo devices were found", "line 2"),
    ("Tesla T4, lots, 535.161.08", "memory.total 'lots'"),
    (", 15360 MiB, 535.161.08", "line 1"),
])
def test_parse_nvidia_smi_rejects(output, match):
    with pytest.raises(GpuCheckError, match=match):
        parse_nvidia_smi(output)


@pytest.mark.parametrize("text, mib", [
    ("81920 MiB", 81920), ("81920", 81920), ("80 GiB", 81920), (" 1024 KiB ", 1), ("[N/A]", None), ("", None),
])
def test_parse_memory_mib(text, mib):
    assert parse_memory_mib(text) == mib


def test_job_runs_nvidia_smi_on_the_gpu_pool():
    job = gpu_check_job("gpu-check", "inference", IMAGE, "gpunp", image_pull_secrets=["acr"])
    assert (job["apiVersion"], job["kind"], job["metadata"]["namespace"]) == ("batch/v1", "Job", "inference")
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"kubernetes.azure.com/agentpool": "gpunp"}
    assert pod["tolerations"] == [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    assert pod["automountServiceAccountToken"] is False
    assert pod["imagePullSecrets"] == [{"name": "acr"}]
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 1}}
    assert container["command"] == ["nvidia-smi", "--query-gpu=" + ",".join(GPU_QUERY_FIELDS),
                                    "--format=csv,noheader"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert job["spec"]["template"]["metadata"]["labels"] == job["metadata"]["labels"]


def test_job_without_pull_secrets_and_with_more_gpus():
    job = gpu_check_job("gpu-check", "default", IMAGE, "gpu", gpus=2, labels={"run": "42"})
    pod = job["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in pod
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert job["metadata"]["labels"]["run"] == "42"


@pytest.mark.parametrize("image, gpus", [("", 1), ("cuda", 1), (IMAGE, 0)])
def test_job_rejects(image, gpus):
    with pytest.raises(GpuCheckError):
        gpu_check_job("gpu-check", "default", image, "gpu", gpus=gpus)


def test_job_is_a_valid_kubernetes_object():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    # AKS >= 1.34 (DESIGN)
    kubernetes_validate.validate(gpu_check_job("gpu-check", "default", IMAGE, "gpu"), "1.34", strict=True)
