# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where weights come from: a directory on the jump box, a NIM cache, a Hugging Face repository.

Every source turns into the same thing: a list of SourceFile (relative path, size, what the bytes
must hash to when the source publishes it) and a ``fetch`` that returns a local path to read.

* DirectorySource -- a tree already on the jump box (removable media, a previous download). Symbolic
  links that stay inside the tree are kept as links (a NIM or Hugging Face cache links snapshots to
  blobs); links that leave it are followed. When the tree carries a complete manifest of ours
  (staged elsewhere and carried over), its hashes become the expectations.
* NimSource -- runs the NIM container's ``download-to-cache`` with the jump box's container runtime,
  the NGC key passed to that one process as an environment variable (``-e NGC_API_KEY``, no value on
  the command line), then reads the cache directory like a DirectorySource.
* HuggingFaceSource -- resolves the revision to a commit with huggingface_hub, lists the files with
  their published sizes, LFS sha256 and git blob ids (``files_metadata=True``), and downloads only
  what the share lacks into the jump box's Hugging Face cache (``endpoint=`` for mirrors).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re
import shutil
import stat
import subprocess
import traceback

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import (
    ManifestError,
    MissingLibrary,
    SourceError,
)

COMMIT_RE = re.compile(r"^[0-9a-fA-F]{40}$")
LIBRARY_NAME = "airgap.aks_inference"


class SourceFile:
    """One entry of the model: a regular file (``kind == 'file'``) or a kept symlink (``'link'``)."""

    __slots__ = ("path", "size", "kind", "link", "local", "expect_sha256", "expect_git_oid", "hint_sha256")

    def __init__(self, path, size=None, kind="file", link=None, local=None, expect_sha256=None,
                 expect_git_oid=None, hint_sha256=None):
        self.path = path
        self.size = size
        self.kind = kind
        self.link = link
        self.local = local
        self.expect_sha256 = expect_sha256
        self.expect_git_oid = expect_git_oid
        self.hint_sha256 = hint_sha256

    def __repr__(self):
        return "SourceFile(%r, size=%r, kind=%r)" % (self.path, self.size, self.kind)


def _wildcard(pattern):
    return pattern + "*" if pattern.endswith("/") else pattern


def filter_paths(paths, allow_patterns=None, ignore_patterns=None):
    """Keep paths matching any allow pattern and no ignore pattern (huggingface_hub's semantics)."""
    allow = [_wildcard(p) for p in allow_patterns or []]
    ignore = [_wildcard(p) for p in ignore_patterns or []]
    for path in paths:
        if allow and not any(fnmatch.fnmatchcase(path, p) for p in allow):
            continue
        if ignore and any(fnmatch.fnmatchcase(path, p) for p in ignore):
            continue
        yield path


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


class DirectorySource:
    """A directory tree on the jump box."""

    kind = "directory"
    authority = "the source directory's manifest records"

    def __init__(self, path, revision=None, allow_patterns=None, ignore_patterns=None, field="src"):
        self.root = os.path.abspath(path) if path else path
        self.label = revision
        self.allow_patterns = allow_patterns
        self.ignore_patterns = ignore_patterns
        self.field = field
        self._files = None
        self._carried = None
        self.notes = {}

    # -- what the manifest records --------------------------------------------------------
    def describe(self):
        out = {"type": self.kind, "path": self.root}
        if self.allow_patterns:
            out["allow_patterns"] = list(self.allow_patterns)
        if self.ignore_patterns:
            out["ignore_patterns"] = list(self.ignore_patterns)
        if self._carried is not None:
            out["carried_manifest"] = self._carried["digest"]
        return out

    @property
    def revision(self):
        if self.label is not None:
            return self.label
        return self._carried.get("revision") if self._carried is not None else None

    @property
    def revision_ref(self):
        return None

    # -- listing --------------------------------------------------------------------------
    def prepare(self, check_mode=False, previous=None, state=None):
        if not self.root or not os.path.isdir(self.root):
            raise SourceError("%s: %s is not a directory" % (self.field, self.root))
        self._files = self._walk(state)

    def files(self):
        return self._files

    def _carried_manifest(self):
        manifest, marker = wm.load(self.root)
        if manifest is None:
            return None
        where = "%s: carried manifest %s" % (self.field, os.path.join(self.root, wm.MANIFEST_NAME))
        wm.validate(manifest, where=where)
        if not wm.marker_matches(marker, manifest):
            raise ManifestError("%s has no matching completion marker (%s): the copy it describes was never "
                                "finished; finish it or remove the manifest" % (where, wm.MARKER_NAME))
        return manifest

    def _walk(self, state):
        root = self.root
        real_root = os.path.realpath(root)
        found = {}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            if not rel_dir:
                dirnames[:] = [d for d in dirnames if d not in wm.RESERVED_NAMES]
                filenames = [f for f in filenames if f not in wm.RESERVED_NAMES and not f.startswith(".weights-")]
            names = list(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d)))
            for name in names:
                rel = rel_dir + "/" + name if rel_dir else name
                found[rel] = os.path.join(dirpath, name)
        keep = set(filter_paths(sorted(found), self.allow_patterns, self.ignore_patterns))
        files = [self._entry(rel, found[rel], real_root, state) for rel in sorted(keep)]
        self._carried = self._carried_manifest()
        if self._carried is not None:
            listed = {e["path"]: e for e in self._carried["files"]}
            wanted = set(filter_paths(sorted(listed), self.allow_patterns, self.ignore_patterns))
            missing = sorted(wanted - keep)
            if missing:
                raise SourceError("%s: %d file(s) listed in the carried manifest are missing from %s: %s"
                                  % (self.field, len(missing), root, ", ".join(missing[:5])))
            for sf in files:
                entry = listed.get(sf.path)
                if entry is None:
                    raise SourceError("%s: %s is not listed in the carried manifest of %s"
                                      % (self.field, sf.path, root))
                if sf.kind == "file" and "sha256" in entry:
                    if entry["size"] != sf.size:
                        raise SourceError("%s: %s has %d bytes but the carried manifest records %d"
                                          % (self.field, sf.path, sf.size, entry["size"]))
                    sf.expect_sha256 = entry["sha256"]
        return files

    def _entry(self, rel, full, real_root, state):
        wm.check_relpath(rel, field="%s: %s" % (self.field, full))
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(full)
            real = os.path.realpath(full)
            if not os.path.exists(real):
                raise SourceError("%s: %s is a dangling symbolic link (-> %s)" % (self.field, full, target))
            if _inside(real, real_root):
                # Kept as a link, rewritten relative to its own directory so the tree stays relocatable.
                target = os.path.relpath(real, os.path.realpath(os.path.dirname(full)))
                return SourceFile(rel, size=0, kind="link", link=target)
            if os.path.isdir(real):
                raise SourceError("%s: %s links to a directory outside the tree (%s); copy it in or remove the link"
                                  % (self.field, full, real))
            st = os.stat(full)
        elif not stat.S_ISREG(st.st_mode):
            raise SourceError("%s: %s is neither a regular file nor a symbolic link" % (self.field, full))
        hint = state.source_hit(full, st) if state is not None else None
        return SourceFile(rel, size=st.st_size, local=full, hint_sha256=hint)

    # -- reading --------------------------------------------------------------------------
    def fetch(self, sf):
        return sf.local

    def discard(self, sf):
        """Bytes did not match what the source publishes; nothing to evict for a plain directory."""


class NimSource(DirectorySource):
    """A NIM model cache made by the NIM container's ``download-to-cache``."""

    kind = "nim"
    authority = "the NIM cache records"

    def __init__(self, image, download_dir, profiles=None, runtime="docker", cache_mount="/opt/nim/.cache",
                 user=None, run_args=None, ngc_api_key=None, runner=None, environ=None):
        super(NimSource, self).__init__(download_dir, field="download_dir")
        self.image = image
        self.profiles = list(profiles or [])
        self.runtime = runtime
        self.cache_mount = cache_mount
        self.user = user
        self.run_args = list(run_args or [])
        self.ngc_api_key = ngc_api_key
        self.runner = runner or run_subprocess
        self.environ = os.environ if environ is None else environ

    def describe(self):
        out = {"type": self.kind, "image": self.image}
        if self.profiles:
            out["profiles"] = list(self.profiles)
        return out

    @property
    def revision(self):
        return self.image

    def command(self):
        """The argv of the download: the key is named (``-e NGC_API_KEY``), never given a value."""
        argv = [self.runtime, "run", "--rm", "-e", "NGC_API_KEY", "-v", "%s:%s" % (self.root, self.cache_mount)]
        if self.user:
            argv += ["-u", self.user]
        argv += self.run_args
        argv += [self.image, "download-to-cache"]
        if self.profiles:
            argv += ["--profile"] + self.profiles
        return argv

    def prepare(self, check_mode=False, previous=None, state=None):
        for arg in self.run_args:
            if "NGC_API_KEY" in arg or (self.ngc_api_key and self.ngc_api_key in arg):
                raise SourceError("nim_run_args: must not carry the NGC key; it is passed through the environment")
        runtime = self.runtime if os.path.isabs(self.runtime) else shutil.which(self.runtime)
        if not runtime or not os.access(runtime, os.X_OK):
            raise SourceError("container_runtime: %r is not an executable on this host's PATH" % self.runtime)
        self.runtime = runtime
        key = self.ngc_api_key or self.environ.get("NGC_API_KEY")
        if not key:
            raise SourceError("ngc_api_key: required for source=nim (or NGC_API_KEY in the task's environment)")
        if check_mode:
            self.notes["download"] = "skipped in check mode"
            if not os.path.isdir(self.root):
                self._files = []
                return
        else:
            if not os.path.isdir(self.root):
                os.makedirs(self.root, 0o755)
            env_update = {"NGC_API_KEY": key}
            rc, out, err = self.runner(self.command(), env_update)
            if rc != 0:
                tail = ((err or "") + (out or "")).replace(key, "********").strip()[-1500:]
                raise SourceError("nim: %s download-to-cache failed (rc=%s): %s"
                                  % (os.path.basename(self.runtime), rc, tail))
            self.notes["download"] = "download-to-cache ran"
        super(NimSource, self).prepare(check_mode, previous, state)


def run_subprocess(argv, env_update):
    """Run argv without a shell; env_update goes to that one child's environment only."""
    env = dict(os.environ)
    env.update(env_update)
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # nosec B603
                          check=False, universal_newlines=True)
    return proc.returncode, proc.stdout, proc.stderr


def load_huggingface_hub():
    """Import huggingface_hub on first use; MissingLibrary (with the traceback) when it is absent."""
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import huggingface_hub  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MissingLibrary("huggingface_hub", traceback.format_exc())
    return huggingface_hub


class HuggingFaceSource:
    """A model repository on the Hugging Face Hub or a mirror of it."""

    kind = "huggingface"
    authority = "the Hub publishes"
    refetch_on_mismatch = True  # a bad file in the jump box's download cache is downloaded again once

    def __init__(self, repo_id, revision=None, allow_unpinned=False, allow_patterns=None, ignore_patterns=None,
                 token=None, endpoint=None, cache_dir=None, loader=None):
        self.repo_id = repo_id
        self.requested = revision
        self.allow_unpinned = allow_unpinned
        self.allow_patterns = allow_patterns
        self.ignore_patterns = ignore_patterns
        self.token = token
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.cache_dir = cache_dir
        self.loader = loader or load_huggingface_hub
        self.commit = None
        self.ref = None
        self._files = None
        self._hub = None
        self.notes = {}

    def describe(self):
        out = {"type": self.kind, "repo_id": self.repo_id,
               "endpoint": self.endpoint or (self._hub.constants.ENDPOINT if self._hub else None)}
        if self.ref:
            out["revision_ref"] = self.ref
        if self.allow_patterns:
            out["allow_patterns"] = list(self.allow_patterns)
        if self.ignore_patterns:
            out["ignore_patterns"] = list(self.ignore_patterns)
        return out

    @property
    def revision(self):
        return self.commit

    @property
    def revision_ref(self):
        return self.ref

    def _pick_revision(self, previous):
        """Return (ref or None, commit or None): the commit to use, or the ref to resolve now."""
        rev = self.requested
        if rev is None:
            if not self.allow_unpinned:
                raise SourceError("revision: required for source=huggingface (a commit id, or a branch or tag that "
                                  "is resolved once and recorded); set allow_unpinned: true to follow 'main'")
            return "main", None
        if COMMIT_RE.match(rev):
            return None, rev.lower()
        if self.allow_unpinned:
            return rev, None
        recorded = (previous or {}).get("source") or {}
        if (recorded.get("type") == self.kind and recorded.get("repo_id") == self.repo_id
                and recorded.get("revision_ref") == rev and previous.get("revision")):
            self.notes["revision_pinned_from"] = "manifest"
            return rev, previous["revision"]
        return rev, None

    def prepare(self, check_mode=False, previous=None, state=None):
        hub = self._hub = self.loader()
        self.ref, commit = self._pick_revision(previous)
        api = hub.HfApi(endpoint=self.endpoint, token=self.token, library_name=LIBRARY_NAME)
        asked = commit or self.ref
        try:
            info = api.model_info(self.repo_id, revision=asked, files_metadata=True)
        except Exception as exc:  # pylint: disable=broad-except
            raise hub_error(exc, self, asked)
        if not info.sha or not COMMIT_RE.match(info.sha):
            raise SourceError("revision: the Hub did not return a commit id for %r of %s" % (asked, self.repo_id))
        if commit and info.sha.lower() != commit:
            raise SourceError("revision: the Hub answered commit %s for %s" % (info.sha, commit))
        self.commit = info.sha.lower()
        siblings = {s.rfilename: s for s in (info.siblings or [])}
        files = []
        for path in filter_paths(sorted(siblings), self.allow_patterns, self.ignore_patterns):
            wm.check_relpath(path, field="repo_id: file %r" % path)
            sib = siblings[path]
            if sib.lfs:
                files.append(SourceFile(path, size=sib.lfs.size, expect_sha256=sib.lfs.sha256.lower()))
            else:
                files.append(SourceFile(path, size=sib.size, expect_git_oid=sib.blob_id))
        if not files:
            raise SourceError("allow_patterns: no file of %s at %s matches (%d files in the repository)"
                              % (self.repo_id, self.commit, len(siblings)))
        self._files = files

    def files(self):
        return self._files

    def fetch(self, sf):
        try:
            return self._hub.hf_hub_download(self.repo_id, sf.path, revision=self.commit, cache_dir=self.cache_dir,
                                             endpoint=self.endpoint, token=self.token, library_name=LIBRARY_NAME)
        except Exception as exc:  # pylint: disable=broad-except
            raise hub_error(exc, self, self.commit, path=sf.path)

    def discard(self, sf):
        """Evict a downloaded file whose bytes do not match, so that the next run downloads it again."""
        try:
            pointer = self._hub.try_to_load_from_cache(self.repo_id, sf.path, cache_dir=self.cache_dir,
                                                       revision=self.commit)
        except Exception:  # pylint: disable=broad-except
            return
        if isinstance(pointer, str):
            for path in (os.path.realpath(pointer), pointer):
                try:
                    os.unlink(path)
                except OSError:
                    pass


def hub_error(exc, source, revision, path=None):
    """Turn a huggingface_hub exception into a SourceError that names the field to fix."""
    name = type(exc).__name__
    names = {k.__name__ for k in type(exc).__mro__}
    where = "%s at %s" % (source.repo_id, source.endpoint or "the default endpoint")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if "RevisionNotFoundError" in names:
        return SourceError("revision: %r does not exist in %s (the Hub answered %s RevisionNotFound)"
                           % (revision, where, status or 404), hub_error=name)
    if "GatedRepoError" in names:
        return SourceError("hf_token: %s is gated; the token is missing or has no access (HTTP %s)"
                           % (where, status), hub_error=name)
    if "RepositoryNotFoundError" in names:
        return SourceError("repo_id: %s was not found, or is private and hf_token is missing or has no access "
                           "(HTTP %s)" % (where, status), hub_error=name)
    if "RemoteEntryNotFoundError" in names or "EntryNotFoundError" in names:
        return SourceError("repo_id: %s lists %s at %s but the Hub does not serve it (HTTP %s)"
                           % (where, path, revision, status), hub_error=name)
    if "HfHubHTTPError" in names:
        return SourceError("endpoint: HTTP %s from %s: %s" % (status, where, str(exc).splitlines()[0]), hub_error=name)
    if isinstance(exc, (OSError, ValueError)) or "HTTPError" in name or "ConnectError" in names \
            or "TimeoutException" in names or "TransportError" in names:
        return SourceError("endpoint: cannot fetch %s from %s: %s: %s"
                           % (path or "the model info", where, name, str(exc).splitlines()[0] if str(exc) else ""),
                           hub_error=name)
    raise exc
