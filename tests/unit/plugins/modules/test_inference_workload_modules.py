# -*- coding: utf-8 -*-
"""render_inference_manifests, k8s_manifest_check, aks_run_command, aks_token: specs match their
documentation; main() of the two file modules end to end (results as JSON on stdout)."""
import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_auth import AUTH_ARGUMENT_SPEC
from ansible_collections.airgap.aks_inference.plugins.module_utils.azure_module import WAIT_ARGUMENT_SPEC
from ansible_collections.airgap.aks_inference.plugins.modules import (
    aks_run_command,
    aks_token,
    k8s_manifest_check,
    render_inference_manifests,
)

REGISTRY = "contosoacr.azurecr.io"
ARGS = {
    "image": REGISTRY + "/vllm/vllm-openai:v0.8.5",
    "served_model_name": "llama",
    "model_path": "/models/llama",
    "ingress_cidrs": ["10.40.0.0/16"],
    "storage": {"server": "acct.file.core.windows.net", "path": "/acct/models"},
}


def run_main(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            module.main()
    result = json.loads(capsys.readouterr().out)
    result["_rc"] = exit_info.value.code
    return result


@pytest.mark.parametrize("module, extra", [
    (render_inference_manifests, {}),
    (k8s_manifest_check, {}),
    (aks_run_command, dict(AUTH_ARGUMENT_SPEC, **WAIT_ARGUMENT_SPEC)),
    (aks_token, dict(AUTH_ARGUMENT_SPEC)),
])
def test_documentation_lists_every_option(module, extra):
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = dict(extra, **module.ARGUMENT_SPEC)
    own = set(doc["options"])
    assert own == set(module.ARGUMENT_SPEC)
    for name, opt in module.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == opt["type"], name
        assert doc["options"][name].get("default") == opt.get("default"), name
        for sub, sub_opt in (opt.get("options") or {}).items():
            assert doc["options"][name]["suboptions"][sub]["type"] == sub_opt["type"], (name, sub)
            assert doc["options"][name]["suboptions"][sub].get("default") == sub_opt.get("default"), (name, sub)
    assert spec
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


def test_render_then_check(tmp_path, capsys):
    dest = str(tmp_path / "m")
    first = run_main(render_inference_manifests, dict(ARGS, dest=dest, gpu_check_dest=dest + "-gpu"), capsys)
    assert first["_rc"] == 0 and first["changed"] and len(first["written"]) == 9
    assert first["gpu_check"] == {"dest": dest + "-gpu", "file": "job-llm-gpu-check.yaml", "name": "llm-gpu-check"}
    assert "diff" not in first
    second = run_main(render_inference_manifests, dict(ARGS, dest=dest, gpu_check_dest=dest + "-gpu"), capsys)
    assert second["_rc"] == 0 and not second["changed"]

    checked = run_main(k8s_manifest_check, {
        "path": [dest, dest + "-gpu"], "kubernetes_version": "1.34", "allowed_registries": [REGISTRY],
        "runtime": "vllm", "model_cache_path": "/models", "require_cache_mount": True,
        "gpu_pool_labels": {"kubernetes.azure.com/agentpool": "gpu"}, "ingress_cidrs": ["10.40.0.0/16"]}, capsys)
    assert checked["_rc"] == 0 and checked["violations"] == [] and not checked["changed"]
    assert checked["schema_version"] == "1.34" and checked["schema_note"] is None
    assert [o["object"] for o in checked["objects"]][-1] == "Job/inference/llm-gpu-check"


def test_render_refuses_a_credential_and_writes_nothing(tmp_path, capsys):
    dest = tmp_path / "m"
    result = run_main(render_inference_manifests, dict(ARGS, dest=str(dest), variable_prefix="inference_workload_",
                                                       env={"HF_TOKEN": "hf_" + "x" * 30}), capsys)
    assert result["_rc"] == 1 and result["field"] == "inference_workload_env.HF_TOKEN"
    assert "nothing was written" in result["msg"] and "xxxxxxxx" not in json.dumps(result)
    assert not dest.exists()


def test_check_fails_listing_the_violations(tmp_path, capsys):
    dest = str(tmp_path / "m")
    run_main(render_inference_manifests, dict(ARGS, dest=dest, image="nvcr.io/nim/x:1"), capsys)
    result = run_main(k8s_manifest_check, {"path": [dest], "kubernetes_version": "1.40",
                                           "allowed_registries": [REGISTRY]}, capsys)
    assert result["_rc"] == 1 and result["failed"]
    assert [v["rule"] for v in result["violations"]] == ["private-registry"]
    assert result["msg"].startswith("1 violation(s) in %s, nothing was applied: Deployment/inference/llm " % dest)
    assert "1.40" in result["schema_note"]


def test_check_of_an_empty_directory(tmp_path, capsys):
    result = run_main(k8s_manifest_check, {"path": [str(tmp_path)], "kubernetes_version": "1.34",
                                           "allowed_registries": [REGISTRY]}, capsys)
    assert result["_rc"] == 1 and "holds no manifest file" in result["msg"]
