# -*- coding: utf-8 -*-
"""Staging a NIM cache: download-to-cache through a stand-in container runtime that records argv and env."""
import json
import os
import stat

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights as w
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import SourceError, WeightsError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
RUNTIME = os.path.join(ROOT, "tests", "fixtures", "fake_container_runtime.sh")
KEY = "nvapi-TESTKEY-0123456789-do-not-leak"
IMAGE = "registry.example/nim/meta/llama-3.1-8b-instruct:1.8.4"
PROFILE = "09e2f8e68f78ce94bf79d15b40a21333cea5d09dbe01ede63f6c957f4fcfab7b"
ROOT_USER = os.geteuid() == 0


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "runtime-log"
    monkeypatch.setenv("FAKE_RUNTIME_LOG", str(path))
    monkeypatch.delenv("NGC_API_KEY", raising=False)
    return path


def params(tmp_path, **kwargs):
    out = {"source": "nim", "nim_image": IMAGE, "nim_profile": [PROFILE], "container_runtime": RUNTIME,
           "ngc_api_key": KEY, "download_dir": str(tmp_path / "nim-cache"), "dest": str(tmp_path / "share" / "nim"),
           "require_mount": False}
    if not ROOT_USER:  # the NIM defaults (1000:2000) need root to chown
        out.update(owner=str(os.getuid()), group=str(os.getgid()))
    out.update(kwargs)
    return out


def argv_of(log):
    return open(str(log) + ".argv").read().splitlines()


def env_of(log):
    return dict(line.split("=", 1) for line in open(str(log) + ".env").read().splitlines() if "=" in line)


def test_key_goes_only_through_the_environment_of_the_runtime(tmp_path, log):
    res = w.run(params(tmp_path))
    argv = argv_of(log)
    assert argv == ["run", "--rm", "-e", "NGC_API_KEY", "-v", "%s:/opt/nim/.cache" % (tmp_path / "nim-cache"),
                    "-u", "%d:%d" % (os.getuid(), os.getgid()), IMAGE, "download-to-cache", "--profile", PROFILE]
    assert not any(KEY in arg for arg in argv)
    assert env_of(log)["NGC_API_KEY"] == KEY
    assert "NGC_API_KEY" not in os.environ  # set for that one child, not for the module process
    assert KEY not in json.dumps(res)
    dest = tmp_path / "share" / "nim"
    for name in os.listdir(str(dest)):
        if os.path.isfile(str(dest / name)):
            assert KEY not in open(str(dest / name), errors="replace").read()


def test_nim_cache_is_staged_with_its_links(tmp_path, log):
    res = w.run(params(tmp_path))
    assert res["complete"] and res["download"] == "download-to-cache ran"
    assert res["source"] == {"type": "nim", "image": IMAGE, "profiles": [PROFILE]} and res["revision"] == IMAGE
    dest = tmp_path / "share" / "nim"
    snap = dest / "ngc" / "hub" / "models--nim--meta--llama-3_1-8b-instruct" / "snapshots" / PROFILE
    assert os.readlink(str(snap / "model-00001-of-00002.safetensors")) == "../../blobs/5d1a9e"
    assert os.readlink(str(snap / "tokenizer" / "tokenizer.json")) == "../../../blobs/70cafe"
    assert (snap / "config.json").read_text() == '{"architectures": ["LlamaForCausalLM"]}'
    manifest = wm.validate(json.load(open(str(dest / wm.MANIFEST_NAME))))
    assert sum(1 for e in manifest["files"] if "link" in e) == 4
    assert manifest["total_bytes"] == 1500000 + 700000 + len('{"architectures": ["LlamaForCausalLM"]}') + len(
        '{"version": "1.0"}') + len(PROFILE) + 1


@pytest.mark.skipif(not ROOT_USER, reason="chown needs root")
def test_nim_files_belong_to_uid_1000_gid_2000_by_default(tmp_path, log):
    w.run(params(tmp_path))
    dest = tmp_path / "share" / "nim"
    for dirpath, dirnames, filenames in os.walk(str(dest)):
        for name in dirnames + filenames:
            if name.startswith(".weights-"):
                continue
            st = os.lstat(os.path.join(dirpath, name))
            assert (st.st_uid, st.st_gid) == (1000, 2000), name
            if stat.S_ISREG(st.st_mode):
                assert stat.S_IMODE(st.st_mode) == 0o644


def test_second_run_runs_the_download_again_and_copies_nothing(tmp_path, log):
    w.run(params(tmp_path))
    os.unlink(str(log) + ".argv")
    res = w.run(params(tmp_path))
    assert os.path.exists(str(log) + ".argv")  # download-to-cache is idempotent: it is asked again
    assert not res["changed"] and res["bytes_copied"] == 0


def test_key_from_the_task_environment(tmp_path, log, monkeypatch):
    monkeypatch.setenv("NGC_API_KEY", KEY)
    p = params(tmp_path)
    del p["ngc_api_key"]
    assert w.run(p)["complete"]
    assert env_of(log)["NGC_API_KEY"] == KEY and KEY not in argv_of(log)


def test_no_key_is_a_clear_error(tmp_path, log):
    p = params(tmp_path)
    del p["ngc_api_key"]
    with pytest.raises(SourceError) as err:
        w.run(p)
    assert err.value.msg.startswith("ngc_api_key: required")
    assert not os.path.exists(str(log) + ".argv")


def test_failed_download_is_reported_without_the_key(tmp_path, log, monkeypatch):
    monkeypatch.setenv("FAKE_RUNTIME_FAIL", "1")
    with pytest.raises(SourceError) as err:
        w.run(params(tmp_path))
    assert "download-to-cache failed (rc=1)" in err.value.msg and "401 Unauthorized" in err.value.msg
    assert KEY not in err.value.msg and "********" in err.value.msg
    assert not (tmp_path / "share" / "nim" / wm.MARKER_NAME).exists()


def test_check_mode_does_not_run_the_container(tmp_path, log):
    res = w.run(params(tmp_path), check_mode=True)
    assert res["download"] == "skipped in check mode" and res["files"] == 0
    assert not os.path.exists(str(log) + ".argv") and not (tmp_path / "share").exists()


def test_runtime_options(tmp_path, log):
    w.run(params(tmp_path, nim_profile=None, nim_user="", nim_cache_mount="/cache",
                 nim_run_args=["--network=none", "--pull=never"]))
    argv = argv_of(log)
    assert argv == ["run", "--rm", "-e", "NGC_API_KEY", "-v", "%s:/cache" % (tmp_path / "nim-cache"),
                    "--network=none", "--pull=never", IMAGE, "download-to-cache"]


@pytest.mark.parametrize("change, message", [
    ({"container_runtime": "no-such-runtime-xyz"}, "container_runtime: 'no-such-runtime-xyz' is not an executable"),
    ({"nim_run_args": ["-e", "NGC_API_KEY=" + KEY]}, "nim_run_args: must not carry the NGC key"),
    ({"nim_image": None}, "nim_image: required"),
    ({"download_dir": None}, "download_dir: required"),
])
def test_bad_input(tmp_path, log, change, message):
    with pytest.raises(WeightsError) as err:
        w.run(params(tmp_path, **change))
    assert message in err.value.msg and KEY not in err.value.msg
