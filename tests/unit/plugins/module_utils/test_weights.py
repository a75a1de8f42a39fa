# -*- coding: utf-8 -*-
"""Staging from a directory and verifying: the guarantees of weights.run, end to end on real files."""
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights as w
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_io as wio
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import (
    ContentMismatch,
    ManifestError,
    SourceError,
    WeightsError,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from weights_model import make_model  # noqa: E402  pylint: disable=wrong-import-position

MIB = 1024 * 1024


@pytest.fixture
def model(tmp_path):
    root = tmp_path / "model"
    sums = make_model(str(root), shards=3)
    return root, sums


def params(src, dest, **kwargs):
    out = {"source": "directory", "src": str(src), "dest": str(dest), "require_mount": False}
    out.update(kwargs)
    return out


def sha256(path):
    return hashlib.sha256(open(str(path), "rb").read()).hexdigest()


def tamper(path, offset=100, keep_times=True):
    """Flip one byte in place, restoring the mtime (as a careless tool or a bad disk would)."""
    st = os.stat(str(path))
    with open(str(path), "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    if keep_times:
        os.utime(str(path), ns=(st.st_atime_ns, st.st_mtime_ns))


def forge_state(dest, relpath):
    """Make the state file believe staging wrote ``relpath`` as it now is: what bit rot looks like."""
    state_path = os.path.join(str(dest), wm.STATE_NAME)
    state = json.load(open(state_path))
    st = os.lstat(os.path.join(str(dest), relpath))
    state["dest"][relpath]["stat"] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    with open(state_path, "w") as handle:
        json.dump(state, handle)


# -- first run, no-op run, check mode ----------------------------------------------------------
def test_first_run_copies_everything_and_writes_manifest_then_marker(model, tmp_path):
    src, sums = model
    dest = tmp_path / "share" / "m"
    res = w.run(params(src, dest, revision="label-1"))
    assert res["changed"] and res["complete"]
    assert res["files"] == len(sums) and sorted(res["copied"]) == sorted(sums)
    assert res["bytes"] == res["bytes_copied"] == res["bytes_read_back"] == sum(
        os.path.getsize(str(src / p)) for p in sums)
    assert res["seconds"] > 0 and res["throughput_mib_s"] >= 0
    for rel, digest in sums.items():
        assert sha256(dest / rel) == digest
        assert stat.S_IMODE((dest / rel).stat().st_mode) == 0o644
    manifest = json.load(open(str(dest / wm.MANIFEST_NAME)))
    wm.validate(manifest)
    assert {e["path"]: e["sha256"] for e in manifest["files"]} == sums
    assert manifest["source"] == {"type": "directory", "path": str(src)}
    assert manifest["revision"] == "label-1" and res["digest"] == manifest["digest"]
    marker = json.load(open(str(dest / wm.MARKER_NAME)))
    assert marker["digest"] == manifest["digest"]
    # the marker was written last
    assert (dest / wm.MARKER_NAME).stat().st_mtime_ns >= (dest / wm.MANIFEST_NAME).stat().st_mtime_ns
    assert not (dest / wm.PARTIAL_DIR).exists()


def test_second_run_is_a_no_op_that_reads_nothing(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    first = w.run(params(src, dest))
    before = {p: os.stat(str(dest / p)).st_mtime_ns for p in os.listdir(str(dest))}
    res = w.run(params(src, dest))
    assert not res["changed"] and res["copied"] == [] and res["complete"]
    assert res["bytes_copied"] == res["bytes_hashed"] == 0
    assert res["digest"] == first["digest"]
    assert {p: os.stat(str(dest / p)).st_mtime_ns for p in os.listdir(str(dest))} == before


def test_check_mode_reports_and_writes_nothing(model, tmp_path):
    src, sums = model
    dest = tmp_path / "m"
    res = w.run(params(src, dest), check_mode=True)
    assert res["changed"] and sorted(res["copied"]) == sorted(sums) and res["bytes_copied"] == 0
    assert res["bytes_to_copy"] == res["bytes"] and res["digest"] is None
    assert not dest.exists()
    w.run(params(src, dest))
    (src / "config.json").write_text('{"changed": true}')
    before = sorted(os.listdir(str(dest)))
    res = w.run(params(src, dest), check_mode=True)
    assert res["changed"] and res["copied"] == ["config.json"]
    assert (dest / wm.MARKER_NAME).exists() and sorted(os.listdir(str(dest))) == before
    assert sha256(dest / "config.json") == sums["config.json"]


def test_check_mode_on_a_complete_share_is_unchanged(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    res = w.run(params(src, dest), check_mode=True)
    assert not res["changed"] and res["complete"] and res["copied"] == []


def test_source_change_copies_only_that_file(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    (src / "tokenizer_config.json").write_text('{"model_max_length": 4096}')
    res = w.run(params(src, dest))
    assert res["changed"] and res["copied"] == ["tokenizer_config.json"]
    assert (dest / "tokenizer_config.json").read_text() == '{"model_max_length": 4096}'
    w.run(dict(params(src, dest), state="verified"))


def test_checksum_rehashes_everything(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    res = w.run(params(src, dest, checksum=True))
    assert not res["changed"] and res["bytes_hashed"] == 2 * res["bytes"]  # destination and source


# -- damage on the share -----------------------------------------------------------------------
def test_corrupted_file_is_recopied_even_with_its_mtime_restored(model, tmp_path):
    src, sums = model
    dest = tmp_path / "m"
    w.run(params(src, dest))
    tamper(dest / "model-00002-of-00003.safetensors")
    res = w.run(params(src, dest))
    assert res["changed"] and res["copied"] == ["model-00002-of-00003.safetensors"]
    assert res["bytes_hashed"] > 0  # its ctime changed: hashed, found different, copied
    assert sha256(dest / "model-00002-of-00003.safetensors") == sums["model-00002-of-00003.safetensors"]


def test_truncated_file_is_recopied(model, tmp_path):
    src, sums = model
    dest = tmp_path / "m"
    w.run(params(src, dest))
    with open(str(dest / "model-00001-of-00003.safetensors"), "r+b") as handle:
        handle.truncate(1000)
    res = w.run(params(src, dest))
    assert res["copied"] == ["model-00001-of-00003.safetensors"]
    assert sha256(dest / "model-00001-of-00003.safetensors") == sums["model-00001-of-00003.safetensors"]


def test_verify_finds_bit_rot_unmarks_the_share_and_the_next_stage_repairs_it(model, tmp_path):
    src, sums = model
    dest = tmp_path / "m"
    w.run(params(src, dest))
    tamper(dest / "model-00003-of-00003.safetensors")
    forge_state(dest, "model-00003-of-00003.safetensors")  # staging cannot see it from the metadata
    assert w.run(params(src, dest))["copied"] == []
    with pytest.raises(WeightsError) as err:
        w.run(dict(params(src, dest), state="verified"))
    assert "1 of 9 files" in err.value.msg and "model-00003-of-00003.safetensors (sha256 differs)" in err.value.msg
    bad = err.value.details["bad_files"]
    assert [b["path"] for b in bad] == ["model-00003-of-00003.safetensors"]
    assert bad[0]["expected"] == sums["model-00003-of-00003.safetensors"]
    assert err.value.details["changed"] is True and not (dest / wm.MARKER_NAME).exists()
    res = w.run(params(src, dest))
    assert res["copied"] == ["model-00003-of-00003.safetensors"] and res["complete"]
    assert w.run(dict(params(src, dest), state="verified"))["bad_files"] == []


def test_verify_reports_truncated_and_missing_files(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    with open(str(dest / "tokenizer.json"), "r+b") as handle:
        handle.truncate(10)
    os.unlink(str(dest / "config.json"))
    with pytest.raises(WeightsError) as err:
        w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    problems = {b["path"]: b["problem"] for b in err.value.details["bad_files"]}
    assert problems == {"tokenizer.json": "size differs", "config.json": "missing"}


def test_verify_in_check_mode_leaves_the_marker(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    os.unlink(str(dest / "config.json"))
    with pytest.raises(WeightsError):
        w.run({"state": "verified", "dest": str(dest), "require_mount": False}, check_mode=True)
    assert (dest / wm.MARKER_NAME).exists()


def test_verify_of_a_clean_share(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    staged = w.run(params(src, dest))
    res = w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    assert not res["changed"] and res["complete"] and res["bad_files"] == []
    assert res["bytes_verified"] == staged["bytes"] and res["digest"] == staged["digest"]


def test_verify_of_an_unfinished_share_fails(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    os.unlink(str(dest / wm.MARKER_NAME))
    with pytest.raises(WeightsError) as err:
        w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    assert "never finished" in err.value.msg


def test_verify_without_manifest(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(ManifestError) as err:
        w.run({"state": "verified", "dest": str(tmp_path / "m"), "require_mount": False})
    assert "has no manifest" in err.value.msg


# -- a manifest edited by hand -----------------------------------------------------------------
def _edit_manifest(dest, index=2, field="sha256", value="0" * 64):
    path = dest / wm.MANIFEST_NAME
    manifest = json.load(open(str(path)))
    manifest["files"][index][field] = value
    path.write_text(json.dumps(manifest))


def test_verify_of_a_hand_edited_manifest_fails_naming_the_field(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    _edit_manifest(dest)
    with pytest.raises(ManifestError) as err:
        w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    assert "field 'digest'" in err.value.msg and "edited" in err.value.msg
    assert "files[2].sha256 ('model-00001-of-00003.safetensors')" in err.value.msg
    assert not (dest / wm.MARKER_NAME).exists()


def test_stage_over_a_hand_edited_manifest_fails_and_unmarks(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    _edit_manifest(dest, index=0, field="size", value=12345)
    with pytest.raises(ManifestError) as err:
        w.run(params(src, dest))
    assert "field 'total_bytes'" in err.value.msg
    assert not (dest / wm.MARKER_NAME).exists()
    os.unlink(str(dest / wm.MANIFEST_NAME))  # what the message says to do
    res = w.run(params(src, dest))
    assert res["complete"] and res["copied"] == []


def test_a_manifest_with_a_recomputed_digest_still_needs_its_marker(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    path = dest / wm.MANIFEST_NAME
    manifest = json.load(open(str(path)))
    manifest["files"][2]["sha256"] = "0" * 64
    manifest["digest"] = wm.compute_digest(manifest)  # a careful forger
    path.write_text(json.dumps(manifest))
    with pytest.raises(WeightsError) as err:
        w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    assert "model-00001-of-00003.safetensors (sha256 differs)" in err.value.msg
    res = w.run(params(src, dest))  # the stage run rewrites the manifest from the source
    assert res["changed"] and res["copied"] == [] and res["complete"]
    w.run({"state": "verified", "dest": str(dest), "require_mount": False})


# -- interrupted copies ------------------------------------------------------------------------
@pytest.fixture
def big_model(tmp_path):
    root = tmp_path / "big"
    sums = make_model(str(root), shards=3, shard_bytes=3 * MIB)
    return root, sums


def test_interrupted_copy_leaves_no_marker_and_resumes(big_model, tmp_path, monkeypatch):
    src, sums = big_model
    dest = tmp_path / "m"
    w.run(params(src, dest, workers=1, chunk_mib=1))
    (src / "model-00002-of-00003.safetensors").write_bytes(os.urandom(3 * MIB + 3))
    (src / "model-00003-of-00003.safetensors").write_bytes(os.urandom(3 * MIB + 5))
    real = wio._write_all
    written = []

    def failing(fd, view):
        written.append(len(view))
        if len(written) == 6:  # shard 2 took writes 1-4 (3 MiB + 3 bytes); shard 3 fails on its second chunk
            raise KeyboardInterrupt()
        real(fd, view)

    monkeypatch.setattr(wio, "_write_all", failing)
    with pytest.raises(KeyboardInterrupt):
        w.run(params(src, dest, workers=1, chunk_mib=1))
    assert not (dest / wm.MARKER_NAME).exists()
    assert len(os.listdir(str(dest / wm.PARTIAL_DIR))) == 1
    monkeypatch.setattr(wio, "_write_all", real)
    res = w.run(params(src, dest, workers=1, chunk_mib=1))
    assert res["copied"] == ["model-00003-of-00003.safetensors"]  # the finished one is not copied again
    assert res["bytes_resumed"] == 1 * MIB
    assert res["complete"] and not (dest / wm.PARTIAL_DIR).exists()
    w.run(dict(params(src, dest), state="verified"))


def test_killed_copy_resumes(big_model, tmp_path):
    """A real SIGKILL in the middle of a copy (no finally block runs), then a normal run."""
    src, sums = big_model
    dest = tmp_path / "m"
    script = textwrap.dedent("""
        import os, signal, sys, json
        sys.path.insert(0, %r)
        from ansible_collections.airgap.aks_inference.plugins.module_utils import weights as w, weights_io as wio
        real, count = wio._write_all, [0]
        def killing(fd, view):
            real(fd, view)
            count[0] += 1
            if count[0] == 5:
                os.kill(os.getpid(), signal.SIGKILL)
        wio._write_all = killing
        w.run(json.loads(sys.argv[1]))
    """ % os.path.join(ROOT, ".collections"))
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(params(src, dest, workers=1, chunk_mib=1))],
                          check=False)
    assert proc.returncode == -signal.SIGKILL
    assert not (dest / wm.MARKER_NAME).exists()
    res = w.run(params(src, dest, workers=1, chunk_mib=1))
    # writes 1-2 were config.json and generation_config.json, 3-5 three 1 MiB chunks of the first shard
    assert res["bytes_resumed"] == 3 * MIB
    assert res["complete"]
    for rel, digest in sums.items():
        assert sha256(dest / rel) == digest


# -- extra files, prune ------------------------------------------------------------------------
def test_extra_files_are_reported_then_pruned(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    (dest / "stray.bin").write_bytes(b"x")
    (dest / "old" / "deep").mkdir(parents=True)
    (dest / "old" / "deep" / "shard.safetensors").write_bytes(b"y")
    res = w.run(params(src, dest))
    assert not res["changed"]
    assert res["extra_files"] == ["old/deep/shard.safetensors", "stray.bin", "old/", "old/deep/"]
    res = w.run(params(src, dest, prune=True), check_mode=True)
    assert res["changed"] and "stray.bin" in res["pruned"] and (dest / "stray.bin").exists()
    res = w.run(params(src, dest, prune=True))
    assert res["changed"] and res["pruned"] and res["complete"]
    assert not (dest / "stray.bin").exists() and not (dest / "old").exists()
    for name in (wm.MANIFEST_NAME, wm.MARKER_NAME, wm.STATE_NAME):
        assert (dest / name).exists()
    assert not w.run(params(src, dest, prune=True))["changed"]


def test_allow_patterns_shrink_the_manifest(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    res = w.run(params(src, dest, allow_patterns=["*.safetensors", "config.json"], prune=True))
    assert res["files"] == 4 and res["changed"]
    assert sorted(os.listdir(str(dest))) == sorted(
        [wm.MANIFEST_NAME, wm.MARKER_NAME, wm.STATE_NAME, wm.LOCK_NAME, "config.json",
         "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
         "model-00003-of-00003.safetensors"])


# -- bad input ---------------------------------------------------------------------------------
def test_quota_smaller_than_the_model_fails_before_copying(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    with pytest.raises(WeightsError) as err:
        w.run(params(src, dest, quota_gib=0.0001))
    assert err.value.msg.startswith("quota_gib: the model needs") and "nothing was copied" in err.value.msg
    assert not [n for n in os.listdir(str(dest)) if not n.startswith(".weights-")]
    assert not (dest / wm.MARKER_NAME).exists()


def test_quota_large_enough(model, tmp_path):
    src = model[0]
    assert w.run(params(src, tmp_path / "m", quota_gib=1))["complete"]


def test_not_a_mount_point_fails(model, tmp_path, monkeypatch):
    src = model[0]
    monkeypatch.setattr(w.os.path, "ismount", lambda p: p == "/")
    with pytest.raises(WeightsError) as err:
        w.run(params(src, tmp_path / "m", require_mount=True))
    assert err.value.msg.startswith("dest: ") and "is not on a mounted share" in err.value.msg
    assert not (tmp_path / "m").exists()
    with pytest.raises(WeightsError):
        w.run({"state": "verified", "dest": str(tmp_path / "m"), "require_mount": True})


def test_mount_point_found_above_dest(model, tmp_path, monkeypatch):
    src = model[0]
    share = str(tmp_path)
    monkeypatch.setattr(w.os.path, "ismount", lambda p: p in ("/", share))
    res = w.run(params(src, tmp_path / "models" / "m", require_mount=True))
    assert res["mount_point"] == share and res["complete"]


def test_not_enough_free_space(model, tmp_path, monkeypatch):
    src = model[0]

    class Tiny:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(w.os, "statvfs", lambda p: Tiny())
    with pytest.raises(WeightsError) as err:
        w.run(params(src, tmp_path / "m"))
    assert "free" in err.value.msg and not (tmp_path / "m" / wm.MARKER_NAME).exists()


def test_source_and_dest_must_not_overlap(model):
    src = model[0]
    with pytest.raises(WeightsError) as err:
        w.run(params(src, src / "staged"))
    assert "overlap" in err.value.msg


@pytest.mark.parametrize("change, message", [
    ({"src": "/nonexistent/dir"}, "src: /nonexistent/dir is not a directory"),
    ({"mode": "0999"}, "mode: "),
    ({"dir_mode": 99999}, "dir_mode: "),
    ({"owner": "no-such-user-xyz"}, "owner: 'no-such-user-xyz' is not known"),
    ({"group": "no-such-group-xyz"}, "group: 'no-such-group-xyz' is not known"),
    ({"quota_gib": 0}, "quota_gib: must be greater than 0"),
    ({"workers": 0}, "workers: "),
    ({"chunk_mib": 0}, "chunk_mib: "),
    ({"source": "ftp"}, "source: must be one of"),
    ({"source": None}, "source: required"),
])
def test_bad_input_names_the_field(model, tmp_path, change, message):
    src = model[0]
    p = params(src, tmp_path / "m")
    p.update(change)
    with pytest.raises(WeightsError) as err:
        w.run(p)
    assert message in err.value.msg


def test_a_second_run_cannot_stage_into_a_locked_share(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    dest.mkdir()
    with w.ShareLock(str(dest)):
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
            import sys, json
            sys.path.insert(0, %r)
            from ansible_collections.airgap.aks_inference.plugins.module_utils import weights as w
            from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import WeightsError
            try:
                w.run(json.loads(sys.argv[1]))
            except WeightsError as exc:
                print(exc.msg)
        """ % os.path.join(ROOT, ".collections")), json.dumps(params(src, dest))],
            stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert "another run is staging" in proc.stdout


# -- trees with links, carried manifests, ownership --------------------------------------------
def test_links_inside_the_tree_are_kept_and_links_outside_followed(tmp_path):
    src = tmp_path / "cache"
    blobs = src / "hub" / "models--m" / "blobs"
    snap = src / "hub" / "models--m" / "snapshots" / "abc"
    blobs.mkdir(parents=True)
    snap.mkdir(parents=True)
    (blobs / "1234").write_bytes(b"weights" * 1000)
    os.symlink("../../blobs/1234", str(snap / "model.safetensors"))
    os.symlink(str(blobs / "1234"), str(snap / "absolute.safetensors"))  # absolute, inside: made relative
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    os.symlink(str(outside), str(snap / "config.json"))
    dest = tmp_path / "m"
    res = w.run(params(src, dest))
    assert res["files"] == 4
    staged = dest / "hub" / "models--m" / "snapshots" / "abc"
    assert os.readlink(str(staged / "model.safetensors")) == "../../blobs/1234"
    assert os.readlink(str(staged / "absolute.safetensors")) == "../../blobs/1234"
    assert not (staged / "config.json").is_symlink() and (staged / "config.json").read_text() == "{}"
    assert (staged / "model.safetensors").read_bytes() == b"weights" * 1000
    manifest = json.load(open(str(dest / wm.MANIFEST_NAME)))
    assert {"path": "hub/models--m/snapshots/abc/model.safetensors", "link": "../../blobs/1234"} in manifest["files"]
    assert not w.run(params(src, dest))["changed"]
    w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    os.unlink(str(staged / "model.safetensors"))
    os.symlink("../../blobs/9999", str(staged / "model.safetensors"))
    with pytest.raises(WeightsError) as err:
        w.run({"state": "verified", "dest": str(dest), "require_mount": False})
    assert "link differs" in err.value.msg
    assert w.run(params(src, dest))["copied"] == ["hub/models--m/snapshots/abc/model.safetensors"]


def test_dangling_link_in_the_source_fails(tmp_path):
    src = tmp_path / "s"
    src.mkdir()
    os.symlink("missing", str(src / "x"))
    with pytest.raises(SourceError) as err:
        w.run(params(src, tmp_path / "m"))
    assert "dangling" in err.value.msg


def test_carried_manifest_makes_the_media_copy_verifiable(model, tmp_path):
    src, sums = model
    media = tmp_path / "usb" / "m"
    w.run(params(src, media))  # staged on the connected side, carried over on the media
    res = w.run(params(media, tmp_path / "share" / "m"))
    assert res["complete"] and res["source"]["carried_manifest"].startswith("sha256:")
    tamper(media / "model-00002-of-00003.safetensors", keep_times=False)
    with pytest.raises(ContentMismatch) as err:
        w.run(params(media, tmp_path / "share" / "m2"))
    assert "model-00002-of-00003.safetensors: sha256 is" in err.value.msg
    assert "the source directory's manifest records " + sums["model-00002-of-00003.safetensors"] in err.value.msg
    assert not (tmp_path / "share" / "m2" / wm.MARKER_NAME).exists()


def test_unfinished_media_copy_is_refused(model, tmp_path):
    src = model[0]
    media = tmp_path / "usb"
    w.run(params(src, media))
    os.unlink(str(media / wm.MARKER_NAME))
    with pytest.raises(ManifestError) as err:
        w.run(params(media, tmp_path / "m"))
    assert "no matching completion marker" in err.value.msg


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_group_and_modes(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    res = w.run(params(src, dest, owner="1000", group="2000", mode="0640", dir_mode="0750"))
    for path in [dest] + [dest / p for p in os.listdir(str(dest)) if not p.startswith(".weights")]:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (1000, 2000), path
        assert stat.S_IMODE(st.st_mode) == (0o750 if path.is_dir() else 0o640), path
    assert res["complete"]
    os.chmod(str(dest / "config.json"), 0o600)
    res = w.run(params(src, dest, owner="1000", group="2000", mode="0640", dir_mode="0750"))
    assert res["changed"] and res["perms_changed"] == 1 and res["copied"] == []
    res = w.run(params(src, dest, owner="1000", group="2000", mode="0640", dir_mode="0750"))
    assert not res["changed"] and res["bytes_hashed"] == 0  # the chmod did not invalidate the state


def test_leftovers_of_a_crash_are_cleaned_by_the_next_changing_run(model, tmp_path):
    src = model[0]
    dest = tmp_path / "m"
    w.run(params(src, dest))
    (dest / (wm.MANIFEST_NAME + ".tmp-4242")).write_text("{half")
    (dest / wm.PARTIAL_DIR).mkdir()
    (dest / wm.PARTIAL_DIR / "0123.part").write_bytes(b"stale")
    (src / "config.json").write_text("{}")
    res = w.run(params(src, dest, prune=True))
    assert res["copied"] == ["config.json"] and res["pruned"] == []
    assert not (dest / (wm.MANIFEST_NAME + ".tmp-4242")).exists() and not (dest / wm.PARTIAL_DIR).exists()
