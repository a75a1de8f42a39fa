# -*- coding: utf-8 -*-
"""The manifest: digest, validation that names the field, explanations of hand edits."""
import copy
import json

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import ManifestError
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_sources import filter_paths

SHA_A = "a" * 64
SHA_B = "b" * 64


def sample():
    return wm.build_manifest({"type": "directory", "path": "/media/usb/m"}, "v1", [
        wm.file_entry("model-00002-of-00002.safetensors", 20, SHA_B),
        wm.file_entry("config.json", 10, SHA_A),
        wm.link_entry("snapshots/x/config.json", "../../config.json"),
    ])


def test_build_sorts_counts_and_digests():
    m = sample()
    assert [e["path"] for e in m["files"]] == ["config.json", "model-00002-of-00002.safetensors",
                                               "snapshots/x/config.json"]
    assert m["file_count"] == 3 and m["total_bytes"] == 30
    assert m["digest"].startswith("sha256:") and len(m["digest"]) == 71
    assert wm.validate(copy.deepcopy(m)) == m


def test_digest_ignores_entry_order_but_not_content():
    m = sample()
    shuffled = copy.deepcopy(m)
    shuffled["files"].reverse()
    assert wm.compute_digest(shuffled) == m["digest"]
    for field, value in (("revision", "v2"), ("source", {"type": "directory", "path": "/other"})):
        changed = copy.deepcopy(m)
        changed[field] = value
        assert wm.compute_digest(changed) != m["digest"], field


def test_dumps_round_trips():
    m = sample()
    assert json.loads(wm.dumps(m).decode()) == m


def _edit(path, value):
    m = sample()
    target = m
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return m


@pytest.mark.parametrize("path, value, message", [
    (("format",), "other/v9", "field 'format'"),
    (("files",), KeyError, "field 'files' is missing"),
    (("digest",), KeyError, "field 'digest' is missing"),
    (("source",), "hf", "field 'source'"),
    (("revision",), 5, "field 'revision'"),
    (("files", 0, "size"), -1, "files[0].size"),
    (("files", 0, "size"), True, "files[0].size"),
    (("files", 0, "size"), "10", "files[0].size"),
    (("files", 1, "sha256"), "XYZ", "files[1].sha256"),
    (("files", 1, "sha256"), SHA_A.upper(), "files[1].sha256"),
    (("files", 0, "path"), "../etc/passwd", "files[0].path"),
    (("files", 0, "path"), "/etc/passwd", "files[0].path"),
    (("files", 0, "path"), ".weights-complete", "files[0].path"),
    (("files", 1, "path"), "config.json", "listed twice"),
    (("files", 2, "link"), "", "files[2].link"),
    (("files", 0, "mode"), "0644", "files[0]: unknown field(s) mode"),
    (("file_count",), 4, "field 'file_count'"),
    (("total_bytes",), 31, "field 'total_bytes'"),
    (("digest",), "md5:abc", "field 'digest' must be"),
])
def test_validate_names_the_field(path, value, message):
    with pytest.raises(ManifestError) as err:
        wm.validate(_edit(path, value), where="manifest X")
    assert message in err.value.msg
    assert err.value.msg.startswith("manifest X")


def test_hand_edited_hash_fails_on_the_digest_and_is_explained():
    m = sample()
    m["files"][1]["sha256"] = SHA_A  # someone "fixed" a hash by hand
    with pytest.raises(ManifestError) as err:
        wm.validate(m)
    assert "field 'digest'" in err.value.msg and "edited" in err.value.msg
    recorded = {"config.json": {"size": 10, "sha256": SHA_A},
                "model-00002-of-00002.safetensors": {"size": 20, "sha256": SHA_B}}
    assert wm.explain_edit(m, recorded) == ["files[1].sha256 ('model-00002-of-00002.safetensors')"]


def test_explain_edit_names_entries_never_staged():
    m = sample()
    m["files"].append({"path": "extra.bin", "size": 1, "sha256": SHA_A})
    hints = wm.explain_edit(m, {"config.json": {"size": 10, "sha256": SHA_A}})
    assert "files[3].path ('extra.bin' was never staged)" in hints


def test_marker_matches_only_its_manifest():
    m = sample()
    body = wm.marker_body(m)
    assert wm.marker_matches(body, m)
    other = copy.deepcopy(m)
    other["digest"] = "sha256:" + "0" * 64
    assert not wm.marker_matches(body, other)
    assert not wm.marker_matches(None, m)


def test_read_json_reports_garbage(tmp_path):
    path = tmp_path / "x.json"
    assert wm.read_json(str(path)) is None
    path.write_text("{not json")
    with pytest.raises(ManifestError) as err:
        wm.read_json(str(path))
    assert "not valid JSON" in err.value.msg


@pytest.mark.parametrize("allow, ignore, expected", [
    (None, None, ["a.json", "model-1.safetensors", "original/consolidated.pth", "tok/vocab.txt"]),
    (["*.json", "*.safetensors"], None, ["a.json", "model-1.safetensors"]),
    (None, ["original/"], ["a.json", "model-1.safetensors", "tok/vocab.txt"]),
    (["tok/"], None, ["tok/vocab.txt"]),
    (["*"], ["*.pth", "*.txt"], ["a.json", "model-1.safetensors"]),
])
def test_filter_paths_like_huggingface_hub(allow, ignore, expected):
    paths = ["a.json", "model-1.safetensors", "original/consolidated.pth", "tok/vocab.txt"]
    assert list(filter_paths(paths, allow, ignore)) == expected
