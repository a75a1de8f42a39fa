# -*- coding: utf-8 -*-
"""The filters of the inference_workload role: credential_findings, nvidia_smi_gpus."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.airgap.aks_inference.plugins.filter.credential_findings import credential_findings
from ansible_collections.airgap.aks_inference.plugins.filter.nvidia_smi_gpus import nvidia_smi_gpus


def test_credential_findings():
    assert credential_findings({"inference_workload_env": {"A": "1"}}) == []
    (finding,) = credential_findings({"inference_workload_env": {"NGC_API_KEY": "x"}})
    assert finding["field"] == "inference_workload_env.NGC_API_KEY" and finding["rule"] == "no-credentials"
    with pytest.raises(AnsibleFilterError):
        credential_findings(["not", "a", "mapping"])


def test_nvidia_smi_gpus_after_a_marker():
    logs = ("deployment.apps/x serverside-applied\n--- nvidia-smi ---\n"
            "NVIDIA A100 80GB PCIe, 81920 MiB, 550.54.15\n")
    assert nvidia_smi_gpus(logs, "--- nvidia-smi ---") == [
        {"index": 0, "name": "NVIDIA A100 80GB PCIe", "memory_total_mib": 81920, "driver_version": "550.54.15"}]
    with pytest.raises(AnsibleFilterError, match="marker"):
        nvidia_smi_gpus(logs, "--- other ---")
    with pytest.raises(AnsibleFilterError, match="NVIDIA-SMI has failed"):
        nvidia_smi_gpus("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
