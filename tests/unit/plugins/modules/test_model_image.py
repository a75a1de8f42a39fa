# -*- coding: utf-8 -*-
"""The model_image module: its spec and documentation, and main() in check mode with a fake skopeo
that records the environment it was given (no credential may be in it)."""
import json
import os
import stat

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights
from ansible_collections.airgap.aks_inference.plugins.modules import model_image

FAKE_SKOPEO = """#!/bin/sh
env >> "{envlog}"
for last; do :; done
case "$last" in
  *serving*) echo '{{"Digest": "sha256:{base}", "Labels": {{}}, "Layers": []}}' ;;
  *) echo 'level=fatal msg="reading manifest: manifest unknown"' >&2; exit 1 ;;
esac
"""


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            model_image.main()
    result = json.loads(capsys.readouterr().out)
    result["_rc"] = exit_info.value.code
    return result


@pytest.fixture
def share(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(b"w" * 4096)
    dest = str(tmp_path / "share" / "tiny")
    assert weights.run({"source": "directory", "src": str(src), "dest": dest, "require_mount": False})["complete"]
    return dest


@pytest.fixture
def tools(tmp_path):
    envlog = tmp_path / "skopeo-env.log"
    skopeo = tmp_path / "skopeo"
    skopeo.write_text(FAKE_SKOPEO.format(envlog=envlog, base="b" * 64))
    skopeo.chmod(skopeo.stat().st_mode | stat.S_IXUSR)
    runtime = tmp_path / "podman"
    runtime.write_text("#!/bin/sh\necho 'unexpected runtime call' >&2\nexit 99\n")
    runtime.chmod(runtime.stat().st_mode | stat.S_IXUSR)
    return {"skopeo": str(skopeo), "runtime_path": str(runtime), "envlog": envlog}


def test_documentation_lists_every_option():
    doc = yaml.safe_load(model_image.DOCUMENTATION)
    assert set(doc["options"]) == set(model_image.ARGUMENT_SPEC)
    for name, opt in model_image.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == opt["type"], name
        assert doc["options"][name].get("default") == opt.get("default"), name
        assert doc["options"][name].get("choices") == opt.get("choices"), name
    yaml.safe_load(model_image.EXAMPLES)
    yaml.safe_load(model_image.RETURN)
    assert not [name for name, opt in model_image.ARGUMENT_SPEC.items() if opt.get("no_log")]  # nothing secret


def test_check_mode_with_credentials_in_the_environment(share, tools, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_" + "Q" * 30)
    monkeypatch.setenv("NGC_API_KEY", "nvapi-" + "K" * 30)
    monkeypatch.setenv("HARMLESS", "1")
    result = run_module({"weights_dir": share, "registry": "127.0.0.1:5000", "base_image": "serving/vllm:1",
                         "fat_image": "models/tiny:{digest}", "weights_image": "models/tiny-w:{digest}",
                         "skopeo": tools["skopeo"], "runtime_path": tools["runtime_path"], "_ansible_check_mode": True,
                         "_ansible_diff": True}, capsys)
    assert result["_rc"] == 0, result
    assert result["changed"] and [i["action"] for i in result["images"]] == ["build", "build"]
    assert result["scrubbed_env"] == ["HF_TOKEN", "NGC_API_KEY"]
    assert result["diff"]["before"] == {"fat": None, "weights": None}
    seen = tools["envlog"].read_text()
    assert "HARMLESS=1" in seen and "HF_TOKEN" not in seen and "NGC_API_KEY" not in seen
    assert "hf_QQQ" not in json.dumps(result)


def test_missing_skopeo_is_named(share, tools, capsys):
    result = run_module({"weights_dir": share, "images": ["weights"], "registry": "127.0.0.1:5000",
                         "weights_image": "models/tiny-w:1", "skopeo": "no-such-skopeo-binary",
                         "runtime_path": tools["runtime_path"]}, capsys)
    assert result["_rc"] == 1 and result["msg"].startswith("skopeo: no-such-skopeo-binary is not installed")


def test_bad_input_fails_naming_the_option(share, tools, capsys):
    result = run_module({"weights_dir": share, "registry": "127.0.0.1:5000", "base_image": "docker.io/vllm/vllm:1",
                         "fat_image": "models/tiny:1", "weights_image": "models/tiny-w:1",
                         "skopeo": tools["skopeo"], "runtime_path": tools["runtime_path"]}, capsys)
    assert result["_rc"] == 1 and result["msg"].startswith("base_image: 'docker.io/vllm/vllm:1' is not in the private")
    assert not os.path.exists(str(tools["envlog"]))  # nothing ran
