# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The weights manifest: what a staged share holds, and how to tell it was not edited.

A staged share (the destination directory on the NFS share) carries, at its root:

* ``.weights-manifest.json`` -- per file ``path``, ``size``, ``sha256`` (or ``link`` for a
  symbolic link kept inside the tree), the ``source`` it came from, the ``revision`` and one
  ``digest`` over all of that;
* ``.weights-complete`` -- the completion marker, written last, holding the same digest. A share
  without it (or whose marker names another digest) is never complete.

Everything here is pure: no I/O beyond reading and writing those two small files.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import ManifestError

MANIFEST_NAME = ".weights-manifest.json"
MARKER_NAME = ".weights-complete"
STATE_NAME = ".weights-state.json"
LOCK_NAME = ".weights-lock"
PARTIAL_DIR = ".weights-partial"
# Names at the root of a share that belong to the staging machinery, never to the model.
RESERVED_NAMES = frozenset((MANIFEST_NAME, MARKER_NAME, STATE_NAME, LOCK_NAME, PARTIAL_DIR))

FORMAT = "airgap.aks_inference/weights-manifest/v1"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_relpath(path, field="path"):
    """Return ``path`` if it is a clean relative POSIX path inside the tree, else raise."""
    if not isinstance(path, str) or not path:
        raise ManifestError("%s: must be a non-empty string" % field)
    if path.startswith("/") or "\\" in path or "\x00" in path:
        raise ManifestError("%s: %r must be a relative POSIX path" % (field, path))
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ManifestError("%s: %r must not contain empty, '.' or '..' components" % (field, path))
    if parts[0] in RESERVED_NAMES:
        raise ManifestError("%s: %r clashes with a name the staging machinery reserves" % (field, path))
    return path


def file_entry(path, size, sha256):
    return {"path": path, "size": int(size), "sha256": sha256}


def link_entry(path, target):
    return {"path": path, "link": target}


def compute_digest(manifest):
    """One sha256 over the format, the source, the revision and every entry (sorted by path)."""
    body = {
        "format": manifest.get("format"),
        "source": manifest.get("source"),
        "revision": manifest.get("revision"),
        "files": sorted(manifest.get("files") or [], key=lambda e: e.get("path") if isinstance(e, dict) else ""),
    }
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


def build_manifest(source, revision, entries):
    """Build a manifest dict (with its digest) from entries made by file_entry / link_entry."""
    files = sorted(entries, key=lambda e: e["path"])
    manifest = {
        "format": FORMAT,
        "source": source,
        "revision": revision,
        "file_count": len(files),
        "total_bytes": sum(e.get("size", 0) for e in files),
        "files": files,
    }
    manifest["digest"] = compute_digest(manifest)
    return manifest


def dumps(manifest):
    return (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def validate(manifest, where="manifest"):
    """Check the structure of a manifest read from disk; raise ManifestError naming the field.

    The digest is checked too: a manifest edited by hand fails here, whatever was edited.
    """
    if not isinstance(manifest, dict):
        raise ManifestError("%s: must be a JSON object" % where)
    if manifest.get("format") != FORMAT:
        raise ManifestError("%s: field 'format' is %r, expected %r" % (where, manifest.get("format"), FORMAT))
    for field in ("source", "files", "digest"):
        if field not in manifest:
            raise ManifestError("%s: field '%s' is missing" % (where, field))
    if not isinstance(manifest["source"], dict) or "type" not in manifest["source"]:
        raise ManifestError("%s: field 'source' must be an object with a 'type'" % where)
    if manifest.get("revision") is not None and not isinstance(manifest["revision"], str):
        raise ManifestError("%s: field 'revision' must be a string or null" % where)
    if not isinstance(manifest["files"], list):
        raise ManifestError("%s: field 'files' must be a list" % where)
    seen = set()
    total = 0
    for index, entry in enumerate(manifest["files"]):
        name = "%s: files[%d]" % (where, index)
        if not isinstance(entry, dict):
            raise ManifestError("%s must be an object" % name)
        check_relpath(entry.get("path"), field="%s.path" % name)
        if entry["path"] in seen:
            raise ManifestError("%s.path: %r is listed twice" % (name, entry["path"]))
        seen.add(entry["path"])
        if "link" in entry:
            if not isinstance(entry["link"], str) or not entry["link"]:
                raise ManifestError("%s.link: must be a non-empty string" % name)
            unknown = set(entry) - {"path", "link"}
        else:
            size = entry.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ManifestError("%s.size: must be a non-negative integer, got %r" % (name, size))
            if not isinstance(entry.get("sha256"), str) or not _SHA256_RE.match(entry["sha256"]):
                raise ManifestError("%s.sha256: must be 64 lowercase hex digits, got %r" % (name, entry.get("sha256")))
            total += size
            unknown = set(entry) - {"path", "size", "sha256"}
        if unknown:
            raise ManifestError("%s: unknown field(s) %s" % (name, ", ".join(sorted(unknown))))
    if manifest.get("file_count") != len(manifest["files"]):
        raise ManifestError("%s: field 'file_count' is %r but %d files are listed"
                            % (where, manifest.get("file_count"), len(manifest["files"])))
    if manifest.get("total_bytes") != total:
        raise ManifestError("%s: field 'total_bytes' is %r but the listed sizes add up to %d"
                            % (where, manifest.get("total_bytes"), total))
    if not isinstance(manifest["digest"], str) or not _DIGEST_RE.match(manifest["digest"]):
        raise ManifestError("%s: field 'digest' must be 'sha256:' and 64 hex digits" % where)
    actual = compute_digest(manifest)
    if actual != manifest["digest"]:
        raise ManifestError(
            "%s: field 'digest' (%s) does not match the manifest's content (%s): the manifest was edited "
            "after staging" % (where, manifest["digest"], actual))
    return manifest


def explain_edit(manifest, recorded):
    """Name the entries of an edited manifest that differ from what staging recorded.

    ``recorded`` maps path -> {"size", "sha256"} (the share's state file). Returns a list of
    strings such as ``files[2].sha256 ('model-00002-of-00003.safetensors')``.
    """
    hints = []
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return hints
    for index, entry in enumerate(manifest["files"]):
        if not isinstance(entry, dict):
            continue
        known = recorded.get(entry.get("path"))
        if known is None:
            if "link" not in entry:
                hints.append("files[%d].path (%r was never staged)" % (index, entry.get("path")))
            continue
        for field in ("size", "sha256"):
            if field in entry and known.get(field) is not None and entry[field] != known[field]:
                hints.append("files[%d].%s (%r)" % (index, field, entry.get("path")))
    return hints


def read_json(path):
    """Read a small JSON file; None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise ManifestError("%s: not valid JSON (%s)" % (path, exc))


def load(dest):
    """Return (manifest or None, marker or None) as found at the root of ``dest``; nothing validated."""
    manifest = read_json(os.path.join(dest, MANIFEST_NAME))
    marker = read_json(os.path.join(dest, MARKER_NAME))
    return manifest, marker


def marker_body(manifest):
    return {"format": FORMAT, "digest": manifest["digest"], "files": manifest["file_count"],
            "bytes": manifest["total_bytes"], "revision": manifest.get("revision")}


def marker_matches(marker, manifest):
    return isinstance(marker, dict) and isinstance(manifest, dict) and marker.get("digest") == manifest.get("digest")
