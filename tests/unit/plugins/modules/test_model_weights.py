# -*- coding: utf-8 -*-
"""The model_weights module: its spec, and main() end to end on real files (results as JSON on stdout)."""
import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.airgap.aks_inference.plugins.modules import model_weights

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from weights_model import make_model  # noqa: E402  pylint: disable=wrong-import-position

RUNTIME = os.path.join(ROOT, "tests", "fixtures", "fake_container_runtime.sh")
KEY = "nvapi-MODULE-TEST-KEY-42"


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            model_weights.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_rc"] = exit_info.value.code
    result["_stdout"] = out
    return result


@pytest.fixture
def model(tmp_path):
    make_model(str(tmp_path / "model"), shards=2)
    return tmp_path / "model"


def test_secrets_are_no_log():
    spec = model_weights.ARGUMENT_SPEC
    assert spec["hf_token"]["no_log"] and spec["ngc_api_key"]["no_log"]
    assert not [name for name, opt in spec.items() if opt.get("no_log") and name not in ("hf_token", "ngc_api_key")]


def test_documentation_lists_every_option():
    import yaml
    doc = yaml.safe_load(model_weights.DOCUMENTATION)
    assert set(doc["options"]) == set(model_weights.ARGUMENT_SPEC)
    for name, opt in model_weights.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == opt["type"], name
        assert doc["options"][name].get("default") == opt.get("default"), name
    yaml.safe_load(model_weights.EXAMPLES)
    yaml.safe_load(model_weights.RETURN)


def test_stage_then_no_op(model, tmp_path, capsys):
    args = {"source": "directory", "src": str(model), "dest": str(tmp_path / "m"), "require_mount": False}
    first = run_module(args, capsys)
    assert first["_rc"] == 0 and first["changed"] and first["complete"] and first["files"] == 8
    assert first["manifest"].endswith(".weights-manifest.json") and first["digest"].startswith("sha256:")
    for field in ("bytes", "bytes_copied", "seconds", "throughput_mib_s", "revision"):
        assert field in first
    second = run_module(args, capsys)
    assert second["_rc"] == 0 and not second["changed"] and second["bytes_copied"] == 0


def test_check_mode(model, tmp_path, capsys):
    res = run_module({"source": "directory", "src": str(model), "dest": str(tmp_path / "m"),
                      "require_mount": False, "_ansible_check_mode": True}, capsys)
    assert res["changed"] and len(res["copied"]) == 8 and not (tmp_path / "m").exists()


def test_verify_failure_returns_bad_files(model, tmp_path, capsys):
    dest = tmp_path / "m"
    run_module({"source": "directory", "src": str(model), "dest": str(dest), "require_mount": False}, capsys)
    (dest / "config.json").write_text("{}")
    res = run_module({"state": "verified", "dest": str(dest), "require_mount": False}, capsys)
    assert res["_rc"] == 1 and res["failed"]
    assert res["bad_files"][0]["path"] == "config.json" and "do not match the manifest" in res["msg"]


@pytest.mark.parametrize("args, message", [
    ({"source": "huggingface"}, "source is huggingface but all of the following are missing: repo_id"),
    ({"source": "nim"}, "source is nim but all of the following are missing: nim_image, download_dir"),
    ({"source": "directory"}, "source is directory but all of the following are missing: src"),
    ({}, "state is present but all of the following are missing: source"),
])
def test_required_if(tmp_path, capsys, args, message):
    args = dict(args, dest=str(tmp_path / "m"))
    res = run_module(args, capsys)
    assert res["failed"] and message in res["msg"]


def test_weights_error_becomes_a_failure_with_the_field(model, tmp_path, capsys):
    res = run_module({"source": "directory", "src": str(model), "dest": str(tmp_path / "m"),
                      "require_mount": False, "quota_gib": 0.00001}, capsys)
    assert res["failed"] and res["msg"].startswith("quota_gib:")


def test_missing_huggingface_hub_fails_with_missing_required_lib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import now raises ImportError
    res = run_module({"source": "huggingface", "repo_id": "a/b", "revision": "a" * 40,
                      "dest": str(tmp_path / "m"), "require_mount": False}, capsys)
    assert res["failed"] and "Failed to import the required Python library (huggingface_hub)" in res["msg"]


def test_module_imports_without_huggingface_hub():
    code = ("import sys; sys.modules['huggingface_hub'] = None; sys.path.insert(0, %r); "
            "from ansible_collections.airgap.aks_inference.plugins.modules import model_weights; print('ok')"
            % os.path.join(ROOT, ".collections"))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert out.stdout.strip() == "ok"


def test_nim_key_only_in_the_runtime_environment(tmp_path, capsys, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("FAKE_RUNTIME_LOG", str(log))
    monkeypatch.delenv("NGC_API_KEY", raising=False)
    args = {"source": "nim", "nim_image": "registry.example/nim/x:1", "container_runtime": RUNTIME,
            "ngc_api_key": KEY, "download_dir": str(tmp_path / "cache"), "dest": str(tmp_path / "share"),
            "require_mount": False}
    if os.geteuid() != 0:
        args.update(owner=str(os.getuid()), group=str(os.getgid()))
    res = run_module(args, capsys)
    assert res["_rc"] == 0 and res["complete"]
    assert KEY not in res["_stdout"]
    argv = open(str(log) + ".argv").read()
    assert KEY not in argv and "-e\nNGC_API_KEY\n" in argv
    assert "NGC_API_KEY=" + KEY in open(str(log) + ".env").read()


def test_nim_failure_does_not_leak_the_key(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_RUNTIME_LOG", str(tmp_path / "log"))
    monkeypatch.setenv("FAKE_RUNTIME_FAIL", "1")
    res = run_module({"source": "nim", "nim_image": "x:1", "container_runtime": RUNTIME, "ngc_api_key": KEY,
                      "download_dir": str(tmp_path / "cache"), "dest": str(tmp_path / "share"),
                      "require_mount": False}, capsys)
    assert res["failed"] and "download-to-cache failed" in res["msg"] and KEY not in res["_stdout"]
