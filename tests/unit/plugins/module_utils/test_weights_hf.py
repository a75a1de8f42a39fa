# -*- coding: utf-8 -*-
"""Staging from a Hugging Face repository: the real huggingface_hub against a fake Hub on 127.0.0.1."""
import hashlib
import json
import os
import sys

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights as w
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import (
    ContentMismatch,
    MissingLibrary,
    SourceError,
    WeightsError,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_sources import load_huggingface_hub

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from hf_hub_server import HubServer, loopback_only  # noqa: E402  pylint: disable=wrong-import-position
from weights_model import make_model  # noqa: E402  pylint: disable=wrong-import-position

pytest.importorskip("huggingface_hub")
REPO = "acme/tiny-llm"
SHARD2 = "model-00002-of-00003.safetensors"


@pytest.fixture
def hub(tmp_path):
    sums = make_model(str(tmp_path / "model-v1"), shards=3)
    with loopback_only() as refused, HubServer() as server:
        server.sums = sums
        server.commit1 = server.add_repo(REPO, str(tmp_path / "model-v1"), refs=("main", "v1.0"))
        server.refused = refused
        yield server
        assert refused == [], "something tried to reach a host other than 127.0.0.1"
        assert not server.log(contains="xet"), "huggingface_hub must not try Xet storage"


def params(hub, tmp_path, **kwargs):
    out = {"source": "huggingface", "repo_id": REPO, "revision": hub.commit1, "endpoint": hub.endpoint,
           "download_dir": str(tmp_path / "hf-cache"), "dest": str(tmp_path / "share" / "m"),
           "require_mount": False}
    out.update(kwargs)
    return out


def sha256(path):
    return hashlib.sha256(open(str(path), "rb").read()).hexdigest()


def test_first_run_downloads_checks_and_stages(hub, tmp_path):
    res = w.run(params(hub, tmp_path))
    dest = tmp_path / "share" / "m"
    assert res["complete"] and res["changed"] and res["revision"] == hub.commit1
    assert res["source"] == {"type": "huggingface", "repo_id": REPO, "endpoint": hub.endpoint}
    assert sorted(res["copied"]) == sorted(hub.sums)
    for rel, digest in hub.sums.items():
        assert sha256(dest / rel) == digest
    manifest = wm.validate(json.load(open(str(dest / wm.MANIFEST_NAME))))
    assert manifest["revision"] == hub.commit1
    # what huggingface_hub asked for: the model info with blobs, then HEAD + GET per file
    info = hub.log(server="hub", contains="/api/models/")
    assert [r["path"] for r in info] == ["/api/models/%s/revision/%s?blobs=true" % (REPO, hub.commit1)]
    assert len(hub.log(server="hub", method="HEAD", contains="/resolve/")) == len(hub.sums)
    assert len(hub.log(server="cdn", method="GET")) == 3  # the LFS shards, from the "CDN" origin


def test_no_op_run_asks_the_hub_once_and_copies_nothing(hub, tmp_path):
    w.run(params(hub, tmp_path))
    hub.clear_log()
    res = w.run(params(hub, tmp_path))
    assert not res["changed"] and res["copied"] == [] and res["bytes_copied"] == 0 and res["bytes_hashed"] == 0
    assert [r["path"].split("?")[0] for r in hub.requests] == ["/api/models/%s/revision/%s" % (REPO, hub.commit1)]


def test_no_op_without_the_download_cache(hub, tmp_path):
    w.run(params(hub, tmp_path))
    import shutil
    shutil.rmtree(str(tmp_path / "hf-cache"))
    hub.clear_log()
    assert not w.run(params(hub, tmp_path))["changed"]
    assert len(hub.requests) == 1


def test_check_mode_downloads_nothing(hub, tmp_path):
    res = w.run(params(hub, tmp_path), check_mode=True)
    assert res["changed"] and sorted(res["copied"]) == sorted(hub.sums) and res["bytes_to_copy"] == res["bytes"]
    assert not (tmp_path / "share").exists() and not (tmp_path / "hf-cache").exists()
    assert not hub.log(contains="/resolve/") and not hub.log(server="cdn")


def test_token_goes_to_the_hub_never_to_the_cdn(hub, tmp_path):
    hub.require_token(REPO, "hf_secret_token_123")
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path))
    assert err.value.msg.startswith("repo_id: ") and "private" in err.value.msg
    hub.clear_log()
    res = w.run(params(hub, tmp_path, hf_token="hf_secret_token_123"))
    assert res["complete"]
    assert all(r["authorization"] for r in hub.log(server="hub"))
    assert hub.log(server="cdn") and not any(r["authorization"] for r in hub.log(server="cdn"))
    assert "hf_secret_token_123" not in json.dumps(res)
    assert "hf_secret_token_123" not in open(str(tmp_path / "share" / "m" / wm.MANIFEST_NAME)).read()


def test_unknown_revision_is_a_clear_error(hub, tmp_path):
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path, revision="0" * 40))
    assert err.value.msg.startswith("revision: '%s' does not exist in %s" % ("0" * 40, REPO))
    assert "404 RevisionNotFound" in err.value.msg
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path, revision="no-such-branch"))
    assert "revision: 'no-such-branch' does not exist" in err.value.msg
    assert not (tmp_path / "share" / "m" / wm.MARKER_NAME).exists()


def test_unknown_repo_is_a_clear_error(hub, tmp_path):
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path, repo_id="acme/nope"))
    assert err.value.msg.startswith("repo_id: acme/nope")


def test_unreachable_endpoint(hub, tmp_path):
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path, endpoint="http://127.0.0.1:9"))
    assert err.value.msg.startswith("endpoint: cannot fetch the model info")


def test_wrong_published_hash_fails_and_nothing_is_marked_complete(hub, tmp_path):
    hub.publish_sha256(REPO, SHARD2, "e" * 64)
    with pytest.raises(ContentMismatch) as err:
        w.run(params(hub, tmp_path, workers=1))
    assert err.value.msg.startswith(SHARD2 + ": sha256 is " + hub.sums[SHARD2])
    assert "the Hub publishes " + "e" * 64 in err.value.msg
    assert len(hub.log(server="cdn", contains=SHARD2)) == 2  # downloaded once more before giving up
    dest = tmp_path / "share" / "m"
    assert not (dest / wm.MARKER_NAME).exists() and not (dest / wm.MANIFEST_NAME).exists()
    assert not (dest / SHARD2).exists()
    assert not os.path.exists(w.partial_path(str(dest), SHARD2))  # its bad bytes are not kept for a resume
    # the bad download was evicted from the jump box's cache: once the Hub is right, it is fetched again
    hub.publish_sha256(REPO, SHARD2, hub.sums[SHARD2])
    hub.clear_log()
    res = w.run(params(hub, tmp_path))
    assert res["complete"] and SHARD2 in res["copied"]
    assert hub.log(server="cdn", contains=SHARD2)


def test_corrupted_file_on_the_share_is_found_and_recopied(hub, tmp_path):
    w.run(params(hub, tmp_path))
    dest = tmp_path / "share" / "m"
    with open(str(dest / SHARD2), "r+b") as handle:
        handle.seek(4096)
        handle.write(b"\x00\x01\x02")
    with pytest.raises(WeightsError) as err:
        w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    assert err.value.details["bad_files"][0]["path"] == SHARD2
    hub.clear_log()
    res = w.run(params(hub, tmp_path))
    assert res["copied"] == [SHARD2] and res["complete"]
    assert not hub.log(server="cdn")  # it came from the jump box's download cache
    assert sha256(dest / SHARD2) == hub.sums[SHARD2]


def test_corrupted_download_cache_is_downloaded_again(hub, tmp_path):
    w.run(params(hub, tmp_path, dest=str(tmp_path / "first")))
    blob = os.path.join(str(tmp_path / "hf-cache"), "models--acme--tiny-llm", "blobs", hub.sums[SHARD2])
    with open(blob, "r+b") as handle:  # bit rot on the jump box's own disk
        handle.seek(100)
        handle.write(b"\xff\xfe")
    hub.clear_log()
    res = w.run(params(hub, tmp_path))
    assert res["complete"] and sha256(tmp_path / "share" / "m" / SHARD2) == hub.sums[SHARD2]
    assert [r["path"].split("?")[0].rsplit("/", 1)[-1] for r in hub.log(server="cdn")] == [SHARD2]
    assert sha256(blob) == hub.sums[SHARD2]


def test_non_lfs_file_changed_on_the_share_is_recopied(hub, tmp_path):
    w.run(params(hub, tmp_path))
    dest = tmp_path / "share" / "m"
    (dest / "config.json").write_text('{"hacked": 1}')
    res = w.run(params(hub, tmp_path))
    assert res["copied"] == ["config.json"] and sha256(dest / "config.json") == hub.sums["config.json"]


def test_branch_is_resolved_once_and_recorded(hub, tmp_path):
    res = w.run(params(hub, tmp_path, revision="v1.0"))
    assert res["revision"] == hub.commit1 and res["revision_ref"] == "v1.0"
    manifest = json.load(open(str(tmp_path / "share" / "m" / wm.MANIFEST_NAME)))
    assert manifest["source"]["revision_ref"] == "v1.0" and manifest["revision"] == hub.commit1
    # the tag moves on the Hub
    make_model(str(tmp_path / "model-v2"), shards=3, seed=7)
    commit2 = hub.add_repo(REPO, str(tmp_path / "model-v2"), refs=("main", "v1.0"))
    res = w.run(params(hub, tmp_path, revision="v1.0"))
    assert not res["changed"] and res["revision"] == hub.commit1 and res["revision_pinned_from"] == "manifest"
    res = w.run(params(hub, tmp_path, revision="v1.0", allow_unpinned=True))
    assert res["changed"] and res["revision"] == commit2
    # only what differs between the commits is copied; identical files match their published git blob id
    assert res["copied"] == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                             "model-00003-of-00003.safetensors", "tokenizer_config.json"]
    w.run({"state": "verified", "dest": str(tmp_path / "share" / "m"), "require_mount": False})


def test_unpinned_needs_to_be_asked_for(hub, tmp_path):
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path, revision=None))
    assert err.value.msg.startswith("revision: required") and "allow_unpinned" in err.value.msg
    res = w.run(params(hub, tmp_path, revision=None, allow_unpinned=True))
    assert res["revision"] == hub.commit1 and res["revision_ref"] == "main"


def test_allow_patterns(hub, tmp_path):
    res = w.run(params(hub, tmp_path, allow_patterns=["*.safetensors", "config.json"]))
    assert res["files"] == 4
    assert not hub.log(contains="tokenizer")
    with pytest.raises(SourceError) as err:
        w.run(params(hub, tmp_path, allow_patterns=["*.gguf"]))
    assert err.value.msg.startswith("allow_patterns: no file")


def test_quota_is_checked_against_the_published_sizes_before_downloading(hub, tmp_path):
    with pytest.raises(WeightsError) as err:
        w.run(params(hub, tmp_path, quota_gib=0.0001))
    assert err.value.msg.startswith("quota_gib:")
    assert not hub.log(contains="/resolve/")


def test_missing_library_is_reported_only_when_used(tmp_path):
    def missing():
        raise MissingLibrary("huggingface_hub", "Traceback: No module named 'huggingface_hub'")

    with pytest.raises(MissingLibrary) as err:
        w.run({"source": "huggingface", "repo_id": REPO, "revision": "a" * 40, "dest": str(tmp_path / "m"),
               "require_mount": False}, loader=missing)
    assert err.value.library == "huggingface_hub"
    make_model(str(tmp_path / "model"), shards=1)
    assert w.run({"source": "directory", "src": str(tmp_path / "model"), "dest": str(tmp_path / "d"),
                  "require_mount": False}, loader=missing)["complete"]


def test_loader_disables_telemetry_and_progress_bars():
    hub = load_huggingface_hub()
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert hasattr(hub, "HfApi") and hasattr(hub, "hf_hub_download")
