# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stage model weights onto a mounted share, and verify a staged share.

``run(params, check_mode, runner)`` is everything the model_weights module does; the module only
declares its options and calls it.

A stage run goes through these steps, and the order is the guarantee:

1. read the share's manifest and marker; a manifest edited by hand fails the run (naming the field)
   and, outside check mode, the marker is removed: that share is not complete;
2. resolve the source (Hugging Face revision -> commit, NIM download, directory walk) into files
   with sizes and published hashes; the total is checked against ``quota_gib``;
3. compare (read only): a file at the destination with the right size whose hash is known -- from
   the state file when its size, mtime, ctime and inode are unchanged since staging wrote it, or by
   hashing it -- and matches is kept; everything else is to be copied. Check mode stops here;
4. if anything changes: the completion marker is removed first (durably), free space is checked,
   then files are copied by a small pool of threads (hash while copying, resume of partial copies,
   read back, owner and mode, rename into place); a hash that differs from what the source
   publishes fails the run and the share stays without a marker;
5. files the new manifest does not list are pruned (``prune: true``) or reported;
6. owner and mode of every file and directory are set;
7. the manifest, the state file and last the completion marker are written (temp + fsync + rename).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import grp
import json
import os
import pwd
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_io as wio
from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_manifest as wm
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import (
    Cancelled,
    ContentMismatch,
    ManifestError,
    WeightsError,
)
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_sources import (
    DirectorySource,
    HuggingFaceSource,
    NimSource,
)

MIB = 1024 * 1024
GIB = 1024 * MIB
STATE_FORMAT = "airgap.aks_inference/weights-state/v1"
STATE_SAVE_EVERY = 10.0  # seconds between saves of the state file while copying
NIM_DEFAULT_OWNER = 1000
NIM_DEFAULT_GROUP = 2000


# ----------------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------------
def parse_mode(value, field):
    if value is None:
        return None
    if isinstance(value, int):
        mode = value
    else:
        try:
            mode = int(str(value), 8)
        except ValueError:
            raise WeightsError("%s: %r is not an octal mode such as '0644'" % (field, value))
    if mode < 0 or mode > 0o7777:
        raise WeightsError("%s: %r is out of range" % (field, value))
    return mode


def resolve_id(value, field, database):
    """A user or group given by name or number -> number."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return database(text)
    except KeyError:
        raise WeightsError("%s: %r is not known on this host" % (field, value))


def perms_from(params):
    owner, group = params.get("owner"), params.get("group")
    if params.get("source") == "nim":
        owner = NIM_DEFAULT_OWNER if owner is None else owner
        group = NIM_DEFAULT_GROUP if group is None else group
    return wio.Perms(uid=resolve_id(owner, "owner", lambda n: pwd.getpwnam(n).pw_uid),
                     gid=resolve_id(group, "group", lambda n: grp.getgrnam(n).gr_gid),
                     file_mode=parse_mode(params.get("mode", "0644"), "mode"),
                     dir_mode=parse_mode(params.get("dir_mode", "0755"), "dir_mode"))


def make_source(params, runner=None, loader=None):
    kind = params.get("source")
    if kind == "huggingface":
        if not params.get("repo_id"):
            raise WeightsError("repo_id: required for source=huggingface")
        return HuggingFaceSource(params["repo_id"], revision=params.get("revision"),
                                 allow_unpinned=bool(params.get("allow_unpinned")),
                                 allow_patterns=params.get("allow_patterns"),
                                 ignore_patterns=params.get("ignore_patterns"), token=params.get("hf_token"),
                                 endpoint=params.get("endpoint"), cache_dir=params.get("download_dir"),
                                 loader=loader)
    if kind == "nim":
        for field in ("nim_image", "download_dir"):
            if not params.get(field):
                raise WeightsError("%s: required for source=nim" % field)
        user = params.get("nim_user")
        if user is None:
            user = "%d:%d" % (os.getuid(), os.getgid())
        return NimSource(params["nim_image"], os.path.abspath(params["download_dir"]),
                         profiles=params.get("nim_profile"),
                         runtime=params.get("container_runtime") or "docker",
                         cache_mount=params.get("nim_cache_mount") or "/opt/nim/.cache", user=user or None,
                         run_args=params.get("nim_run_args"), ngc_api_key=params.get("ngc_api_key"), runner=runner)
    if kind == "directory":
        if not params.get("src"):
            raise WeightsError("src: required for source=directory")
        return DirectorySource(params["src"], revision=params.get("revision"),
                               allow_patterns=params.get("allow_patterns"),
                               ignore_patterns=params.get("ignore_patterns"))
    raise WeightsError("source: must be one of huggingface, nim, directory (got %r)" % kind)


# ----------------------------------------------------------------------------------------------
# the share
# ----------------------------------------------------------------------------------------------
def mount_point(path):
    """The mount point of the filesystem holding ``path`` (or its nearest existing ancestor)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def fs_type(point):
    try:
        with open("/proc/self/mounts") as handle:
            types = [line.split()[2] for line in handle if len(line.split()) > 2
                     and line.split()[1].replace("\\040", " ") == point]
    except OSError:
        return None
    return types[-1] if types else None


def check_mount(dest, required):
    point = mount_point(dest)
    if required and point == "/":
        raise WeightsError("dest: %s is not on a mounted share (its filesystem is the root filesystem); mount the "
                           "share first, or set require_mount: false to stage onto a local disk" % dest,
                           mount_point=point)
    return point


def overlap(a, b):
    a, b = os.path.realpath(a), os.path.realpath(b)
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


class ShareLock:
    """An exclusive lock on ``dest/.weights-lock`` so two runs never stage into one share at once."""

    def __init__(self, dest):
        self.path = os.path.join(dest, wm.LOCK_NAME)
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self.fd)
            self.fd = None
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                raise WeightsError("dest: another run is staging into %s (it holds %s)" % (
                    os.path.dirname(self.path), self.path))
            raise
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock


class State:
    """What staging knows about files it wrote or read, keyed by their stat.

    An entry is trusted only while size, mtime, ctime and inode are unchanged; ctime cannot be set
    back by a user, so an edit in place is noticed even when the mtime was restored. Only a bit flip
    below the filesystem escapes it: that is what ``state: verified`` is for.
    """

    def __init__(self, data=None):
        data = data if isinstance(data, dict) and data.get("format") == STATE_FORMAT else {}
        self.dest = dict(data.get("dest") or {})
        self.source = dict(data.get("source") or {})
        self.lock = threading.Lock()
        self.dirty = False

    @staticmethod
    def key(st):
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]

    @classmethod
    def load(cls, dest):
        try:
            return cls(wm.read_json(os.path.join(dest, wm.STATE_NAME)))
        except (ManifestError, OSError):
            return cls()

    def _hit(self, table, name, st):
        rec = table.get(name)
        if isinstance(rec, dict) and rec.get("stat") == self.key(st) and isinstance(rec.get("sha256"), str):
            return rec
        return None

    def dest_hit(self, path, st):
        return self._hit(self.dest, path, st)

    def source_hit(self, local, st):
        rec = self._hit(self.source, local, st)
        return rec["sha256"] if rec else None

    def put_dest(self, path, st, sha256, git_oid=None):
        with self.lock:
            rec = {"stat": self.key(st), "sha256": sha256}
            if git_oid:
                rec["git_oid"] = git_oid
            self.dest[path] = rec
            self.dirty = True

    def put_source(self, local, st, sha256):
        with self.lock:
            self.source[local] = {"stat": self.key(st), "sha256": sha256}
            self.dirty = True

    def drop_dest(self, path):
        with self.lock:
            if self.dest.pop(path, None) is not None:
                self.dirty = True

    def recorded(self):
        return {p: {"size": r["stat"][0], "sha256": r.get("sha256")} for p, r in self.dest.items()
                if isinstance(r, dict) and isinstance(r.get("stat"), list) and r["stat"]}

    def save(self, dest, perms=None, keep=None):
        with self.lock:
            if keep is not None:
                self.dest = {p: r for p, r in self.dest.items() if p in keep}
            body = json.dumps({"format": STATE_FORMAT, "dest": self.dest, "source": self.source},
                              sort_keys=True, separators=(",", ":")).encode("utf-8")
            self.dirty = False
        wio.write_atomic(os.path.join(dest, wm.STATE_NAME), body, perms=perms)


def partial_path(dest, relpath):
    import hashlib  # pylint: disable=import-outside-toplevel
    return os.path.join(dest, wm.PARTIAL_DIR, hashlib.sha256(relpath.encode("utf-8")).hexdigest()[:40] + ".part")


def ensure_dirs(dest, reldir, perms):
    """Create dest/reldir component by component, each with the directory owner and mode."""
    path = dest
    for part in [p for p in reldir.split("/") if p]:
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not os.path.isdir(path) or os.path.islink(path):
                raise WeightsError("dest: %s is in the way of a directory the model needs" % path)
            continue
        perms.apply_path(path)
    return path


def scan_extras(dest, wanted):
    """Files, links and directories under dest that the new manifest does not need."""
    keep_dirs = {""}
    for path in wanted:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            keep_dirs.add("/".join(parts[:i]))
    extra_files, extra_dirs = [], []
    if not os.path.isdir(dest):
        return extra_files, extra_dirs
    for dirpath, dirnames, filenames in os.walk(dest, followlinks=False):
        rel_dir = os.path.relpath(dirpath, dest)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        if not rel_dir:
            dirnames[:] = [d for d in dirnames if d not in wm.RESERVED_NAMES]
            filenames = [f for f in filenames if f not in wm.RESERVED_NAMES and not f.startswith(".weights-")]
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames[:] = [d for d in dirnames if d not in links]
        for name in list(filenames) + links:
            rel = rel_dir + "/" + name if rel_dir else name
            if rel not in wanted:
                extra_files.append(rel)
        for name in dirnames:
            rel = rel_dir + "/" + name if rel_dir else name
            if rel not in keep_dirs and rel not in wanted:
                extra_dirs.append(rel)
    return sorted(extra_files), sorted(extra_dirs)


class Workers:
    """A small thread pool where every worker owns one fixed buffer; the first failure stops the rest."""

    def __init__(self, count, chunk):
        self.count = max(1, int(count))
        self.chunk = chunk
        self.local = threading.local()
        self.cancel = threading.Event()

    def buffer(self):
        buf = getattr(self.local, "buf", None)
        if buf is None:
            buf = self.local.buf = wio.alloc_buffer(self.chunk)
        return buf

    def map(self, func, items):
        """Run func(item, buf) for every item; return results in order; raise the first real error."""
        results = [None] * len(items)
        if not items:
            return results
        first = []
        with ThreadPoolExecutor(max_workers=min(self.count, len(items))) as pool:
            futures = {pool.submit(self._call, func, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                except Cancelled:
                    pass
                except BaseException as exc:  # pylint: disable=broad-except
                    if not first:
                        first.append(exc)
                    self.cancel.set()
        if first:
            raise first[0]
        return results

    def _call(self, func, item):
        if self.cancel.is_set():
            raise Cancelled()
        return func(item, self.buffer())


def workers_from(params):
    count = params.get("workers")
    chunk = params.get("chunk_mib")
    return Workers(4 if count is None else count, (8 if chunk is None else int(chunk)) * MIB)


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = {}

    def add(self, **kwargs):
        with self.lock:
            for name, value in kwargs.items():
                self.values[name] = self.values.get(name, 0) + (value or 0)

    def get(self, name):
        return self.values.get(name, 0)


# ----------------------------------------------------------------------------------------------
# staging
# ----------------------------------------------------------------------------------------------
class Stager:
    def __init__(self, params, check_mode=False, runner=None, loader=None):
        self.params = params
        self.check_mode = check_mode
        self.dest = os.path.abspath(params["dest"])
        self.perms = perms_from(params)
        self.source = make_source(params, runner=runner, loader=loader)
        self.workers = workers_from(params)
        self.verify_copy = params.get("verify_copy", True)
        self.checksum = bool(params.get("checksum"))
        self.counters = Counters()
        self.state = None
        self.last_save = time.monotonic()

    # -- steps ----------------------------------------------------------------------------
    def read_share(self):
        manifest, marker = (None, None)
        if os.path.isdir(self.dest):
            manifest, marker = wm.load(self.dest)
        self.state = State.load(self.dest) if os.path.isdir(self.dest) else State()
        if manifest is not None:
            try:
                wm.validate(manifest, where="manifest %s" % os.path.join(self.dest, wm.MANIFEST_NAME))
            except ManifestError as exc:
                hints = wm.explain_edit(manifest, self.state.recorded())
                if not self.check_mode:
                    wio.remove_durably(os.path.join(self.dest, wm.MARKER_NAME))
                explained = " (entries that differ from what staging recorded: %s)" % ", ".join(hints) if hints else ""
                raise ManifestError(
                    "%s%s. The share is not complete (its completion marker was %s); remove the manifest to "
                    "re-stage from the source, every file is then checked again"
                    % (exc.msg, explained, "left absent" if self.check_mode else "removed"), edited=hints)
        return manifest, marker

    def check_quota(self, files):
        total = sum(sf.size or 0 for sf in files)
        quota = self.params.get("quota_gib")
        if quota is not None and total > quota * GIB:
            raise WeightsError("quota_gib: the model needs %.2f GiB (%d files, %d bytes) but the share quota is "
                               "%s GiB; nothing was copied" % (total / GIB, len(files), total, quota),
                               bytes=total, files=len(files))
        return total

    def compare(self, sf, buf):
        """Read-only: ('ok', sha256, git_oid) when the destination already holds sf, else ('copy', reason)."""
        dst = os.path.join(self.dest, sf.path)
        try:
            st = os.lstat(dst)
        except FileNotFoundError:
            return ("copy", "missing")
        except NotADirectoryError:
            return ("copy", "missing")
        if sf.kind == "link":
            if stat.S_ISLNK(st.st_mode) and os.readlink(dst) == sf.link:
                return ("ok", None, None)
            return ("copy", "link differs")
        if not stat.S_ISREG(st.st_mode):
            return ("copy", "not a regular file")
        if sf.size is not None and st.st_size != sf.size:
            return ("copy", "size differs")
        need_git = bool(sf.expect_git_oid and not sf.expect_sha256)
        rec = None if self.checksum else self.state.dest_hit(sf.path, st)
        if rec is not None and (not need_git or rec.get("git_oid")):
            sha, git = rec["sha256"], rec.get("git_oid")
        else:
            sha, git, size = wio.hash_file(dst, buf, want_git=need_git, cancel=self.workers.cancel)
            self.counters.add(bytes_hashed=size)
            if not self.check_mode:
                self.state.put_dest(sf.path, st, sha, git)
        if sf.expect_sha256:
            return ("ok", sha, git) if sha == sf.expect_sha256 else ("copy", "sha256 differs")
        if need_git:
            return ("ok", sha, git) if git == sf.expect_git_oid else ("copy", "git blob id differs")
        src_sha = None if self.checksum else sf.hint_sha256
        if src_sha is None:
            src_sha, dummy, size = wio.hash_file(sf.local, buf, cancel=self.workers.cancel)
            self.counters.add(bytes_hashed=size)
            if not self.check_mode:
                self.state.put_source(sf.local, os.stat(sf.local), src_sha)
        return ("ok", sha, git) if sha == src_sha else ("copy", "content differs")

    def copy(self, sf, buf):
        """Fetch (download) and copy one file into place; return its sha256 (None for a link)."""
        dst = os.path.join(self.dest, sf.path)
        parent = os.path.dirname(sf.path)
        try:
            st = os.lstat(dst)
            if stat.S_ISDIR(st.st_mode):
                raise WeightsError("dest: %s is a directory where the source has a %s" % (dst, sf.kind))
        except (FileNotFoundError, NotADirectoryError):
            pass
        ensure_dirs(self.dest, parent, self.perms)
        part = partial_path(self.dest, sf.path)
        if sf.kind == "link":
            wio.make_symlink(sf.link, dst, part, perms=self.perms)
            return None
        attempts = 2 if getattr(self.source, "refetch_on_mismatch", False) else 1
        for attempt in range(1, attempts + 1):
            local = self.source.fetch(sf)
            try:
                res = wio.copy_file(local, part, buf, expect_size=sf.size, expect_sha256=sf.expect_sha256,
                                    expect_git_oid=None if sf.expect_sha256 else sf.expect_git_oid,
                                    verify_copy=self.verify_copy, perms=self.perms, cancel=self.workers.cancel,
                                    label=sf.path, what=self.source.authority,
                                    direct_io=self.params.get("direct_io", True))
                break
            except ContentMismatch:
                # a download cache may hold bad bytes: evict them, and download once more before failing
                self.source.discard(sf)
                if attempt == attempts:
                    raise
        wio.place(part, dst)
        self.state.put_dest(sf.path, os.lstat(dst), res.sha256, res.git_oid)
        if isinstance(self.source, DirectorySource) and local:
            self.state.put_source(local, os.stat(local), res.sha256)
        self.counters.add(bytes_copied=res.bytes_written, bytes_resumed=res.bytes_resumed,
                          bytes_read_back=res.bytes_read_back)
        self.maybe_save_state()
        return res.sha256

    def maybe_save_state(self):
        now = time.monotonic()
        if now - self.last_save >= STATE_SAVE_EVERY:
            self.last_save = now
            self.state.save(self.dest, perms=self.perms)

    def prune(self, extra_files, extra_dirs):
        for rel in extra_files:
            os.unlink(os.path.join(self.dest, rel))
            self.state.drop_dest(rel)
        for rel in sorted(extra_dirs, key=lambda p: -p.count("/")):
            path = os.path.join(self.dest, rel)
            for dirpath, dirnames, filenames in os.walk(path, topdown=False):
                for name in filenames:
                    os.unlink(os.path.join(dirpath, name))
                for name in dirnames:
                    full = os.path.join(dirpath, name)
                    if os.path.islink(full):
                        os.unlink(full)
                    else:
                        os.rmdir(full)
            os.rmdir(path)
        if extra_files or extra_dirs:
            wio.fsync_dir(self.dest)

    def fix_perms(self, files, apply):
        """Count (and, when ``apply``, fix) owner/mode of the model's files and directories."""
        dirs = {""}
        changed = 0
        for sf in files:
            parts = sf.path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for rel in sorted(dirs):
            path = os.path.join(self.dest, rel) if rel else self.dest
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if self.perms.differs(st):
                changed += 1
                if apply:
                    self.perms.apply_path(path, st)
        for sf in files:
            path = os.path.join(self.dest, sf.path)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if self.perms.differs(st):
                changed += 1
                if apply:
                    rec = self.state.dest_hit(sf.path, st)
                    self.perms.apply_path(path, st)
                    if rec is not None:
                        self.state.put_dest(sf.path, os.lstat(path), rec["sha256"], rec.get("git_oid"))
        return changed

    def clean_partials(self):
        """Remove what interrupted runs left: partial copies, temporary manifest/state/marker files."""
        part_dir = os.path.join(self.dest, wm.PARTIAL_DIR)
        if os.path.isdir(part_dir):
            for name in os.listdir(part_dir):
                os.unlink(os.path.join(part_dir, name))
            os.rmdir(part_dir)
        for name in os.listdir(self.dest):
            if name.startswith(".weights-") and ".tmp-" in name:
                os.unlink(os.path.join(self.dest, name))

    def check_free_space(self, todo):
        need = 0
        for sf in todo:
            if sf.kind != "file":
                continue
            part = partial_path(self.dest, sf.path)
            have = os.path.getsize(part) if os.path.exists(part) else 0
            need += max(0, (sf.size or 0) - have)
        vfs = os.statvfs(self.dest)
        free = vfs.f_bavail * vfs.f_frsize
        if need > free:
            raise WeightsError("dest: the share has %.2f GiB free but %.2f GiB are still to copy; nothing was "
                               "marked complete" % (free / GIB, need / GIB), bytes_to_copy=need)

    # -- the run --------------------------------------------------------------------------
    def run(self):
        started = time.monotonic()
        point = check_mount(self.dest, self.params.get("require_mount", True))
        src_root = getattr(self.source, "root", None)
        if src_root and overlap(src_root, self.dest):
            raise WeightsError("dest: %s and the source %s overlap" % (self.dest, src_root))
        if not self.check_mode:
            if not os.path.isdir(self.dest):
                os.makedirs(self.dest, 0o755)
                self.perms.apply_path(self.dest)
            with ShareLock(self.dest):
                return self._run(started, point)
        return self._run(started, point)

    def _run(self, started, point):
        old_manifest, old_marker = self.read_share()
        self.source.prepare(check_mode=self.check_mode, previous=old_manifest, state=self.state)
        files = self.source.files()
        total = self.check_quota(files)

        verdicts = self.workers.map(self.compare, files)
        todo = [sf for sf, v in zip(files, verdicts) if v[0] == "copy"]
        known = {sf.path: v[1] for sf, v in zip(files, verdicts) if v[0] == "ok"}
        wanted = {sf.path for sf in files}
        extra_files, extra_dirs = scan_extras(self.dest, wanted)
        prune = bool(self.params.get("prune"))

        new_manifest = None
        if not todo:
            new_manifest = self.build_manifest(files, known)
        manifest_changes = new_manifest is None or old_manifest is None or \
            new_manifest["digest"] != old_manifest.get("digest") or not wm.marker_matches(old_marker, old_manifest)
        content_changes = bool(todo) or (prune and bool(extra_files or extra_dirs)) or manifest_changes

        result = {
            "dest": self.dest, "mount_point": point, "fstype": fs_type(point),
            "source": self.source.describe(), "revision": self.source.revision,
            "revision_ref": self.source.revision_ref, "files": len(files), "bytes": total,
            "copied": [sf.path for sf in todo], "bytes_to_copy": sum(sf.size or 0 for sf in todo),
            "pruned": (extra_files + [d + "/" for d in extra_dirs]) if prune else [],
            "extra_files": [] if prune else extra_files + [d + "/" for d in extra_dirs],
            "manifest": os.path.join(self.dest, wm.MANIFEST_NAME),
            "marker": os.path.join(self.dest, wm.MARKER_NAME),
        }
        result.update(self.source.notes)

        if self.check_mode:
            perms_changed = self.fix_perms(files, apply=False)
            result.update(changed=content_changes or perms_changed > 0, perms_changed=perms_changed,
                          digest=new_manifest["digest"] if new_manifest else None,
                          complete=not content_changes and old_marker is not None)
            return self.finish(result, started)

        marker_path = os.path.join(self.dest, wm.MARKER_NAME)
        try:
            if content_changes:
                wio.remove_durably(marker_path)
                self.check_free_space(todo)
                if todo and not os.path.isdir(os.path.join(self.dest, wm.PARTIAL_DIR)):
                    os.mkdir(os.path.join(self.dest, wm.PARTIAL_DIR), 0o700)
                sums = self.workers.map(self.copy, todo)
                known.update({sf.path: s for sf, s in zip(todo, sums)})
                if prune:
                    self.prune(extra_files, extra_dirs)
                self.clean_partials()
            perms_changed = self.fix_perms(files, apply=True)
            if content_changes:
                new_manifest = self.build_manifest(files, known)
                wio.write_atomic(os.path.join(self.dest, wm.MANIFEST_NAME), wm.dumps(new_manifest), perms=self.perms)
            sources = {sf.local for sf in files if sf.local} if isinstance(self.source, DirectorySource) else set()
            if set(self.state.source) - sources:  # forget source files this model no longer reads
                self.state.source = {k: v for k, v in self.state.source.items() if k in sources}
                self.state.dirty = True
            if content_changes or self.state.dirty:
                self.state.save(self.dest, perms=self.perms, keep=wanted if prune else None)
            if content_changes:
                wio.write_atomic(marker_path, wm.dumps(wm.marker_body(new_manifest)), perms=self.perms)
        finally:
            if self.state.dirty:
                try:
                    self.state.save(self.dest, perms=self.perms)
                except OSError:
                    pass
        result.update(changed=content_changes or perms_changed > 0, perms_changed=perms_changed,
                      digest=new_manifest["digest"], complete=True)
        return self.finish(result, started)

    def build_manifest(self, files, known):
        entries = []
        for sf in files:
            if sf.kind == "link":
                entries.append(wm.link_entry(sf.path, sf.link))
            else:
                entries.append(wm.file_entry(sf.path, sf.size, known[sf.path]))
        return wm.build_manifest(self.source.describe(), self.source.revision, entries)

    def finish(self, result, started):
        seconds = time.monotonic() - started
        copied = self.counters.get("bytes_copied")
        result.update(seconds=round(seconds, 3), bytes_copied=copied,
                      bytes_resumed=self.counters.get("bytes_resumed"),
                      bytes_hashed=self.counters.get("bytes_hashed"),
                      bytes_read_back=self.counters.get("bytes_read_back"),
                      throughput_mib_s=round(copied / MIB / seconds, 1) if seconds > 0 else 0.0)
        return result


# ----------------------------------------------------------------------------------------------
# verification
# ----------------------------------------------------------------------------------------------
def verify_share(params, check_mode=False):
    """Hash every file the manifest lists; fail listing the bad ones (and un-mark the share)."""
    started = time.monotonic()
    dest = os.path.abspath(params["dest"])
    point = check_mount(dest, params.get("require_mount", True))
    manifest_path = os.path.join(dest, wm.MANIFEST_NAME)
    if not os.path.isdir(dest):
        raise WeightsError("dest: %s does not exist" % dest)
    manifest, marker = wm.load(dest)
    if manifest is None:
        raise ManifestError("dest: %s has no manifest (%s): nothing was staged there" % (dest, wm.MANIFEST_NAME))
    state = State.load(dest)
    try:
        wm.validate(manifest, where="manifest %s" % manifest_path)
    except ManifestError as exc:
        hints = wm.explain_edit(manifest, state.recorded())
        if not check_mode:
            wio.remove_durably(os.path.join(dest, wm.MARKER_NAME))
        raise ManifestError("%s%s" % (exc.msg, (" (entries that differ from what staging recorded: %s)"
                                                % ", ".join(hints)) if hints else ""), edited=hints)
    workers = workers_from(params)
    counters = Counters()

    def check(entry, buf):
        path = os.path.join(dest, entry["path"])
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return {"path": entry["path"], "field": "path", "problem": "missing"}
        if "link" in entry:
            if not stat.S_ISLNK(st.st_mode) or os.readlink(path) != entry["link"]:
                return {"path": entry["path"], "field": "link", "problem": "link differs",
                        "expected": entry["link"]}
            return None
        if not stat.S_ISREG(st.st_mode):
            return {"path": entry["path"], "field": "path", "problem": "not a regular file"}
        if st.st_size != entry["size"]:
            return {"path": entry["path"], "field": "size", "problem": "size differs",
                    "expected": entry["size"], "actual": st.st_size}
        sha, dummy, size = wio.hash_file(path, buf, cancel=workers.cancel)
        counters.add(bytes_verified=size)
        if sha != entry["sha256"]:
            return {"path": entry["path"], "field": "sha256", "problem": "sha256 differs",
                    "expected": entry["sha256"], "actual": sha}
        state.put_dest(entry["path"], st, sha, (state.dest.get(entry["path"]) or {}).get("git_oid"))
        return None

    bad = [b for b in workers.map(check, manifest["files"]) if b]
    wanted = {e["path"] for e in manifest["files"]}
    extra_files, extra_dirs = scan_extras(dest, wanted)
    complete = wm.marker_matches(marker, manifest)
    seconds = time.monotonic() - started
    verified = counters.get("bytes_verified")
    result = {
        "changed": False, "dest": dest, "mount_point": point, "manifest": manifest_path,
        "marker": os.path.join(dest, wm.MARKER_NAME), "digest": manifest["digest"],
        "revision": manifest.get("revision"), "source": manifest["source"], "files": manifest["file_count"],
        "bytes": manifest["total_bytes"], "bytes_verified": verified, "bad_files": bad,
        "extra_files": extra_files + [d + "/" for d in extra_dirs], "complete": complete and not bad,
        "seconds": round(seconds, 3),
        "throughput_mib_s": round(verified / MIB / seconds, 1) if seconds > 0 else 0.0,
    }
    if bad:
        if not check_mode:
            with ShareLock(dest):
                if wio.remove_durably(os.path.join(dest, wm.MARKER_NAME)):
                    result["changed"] = True
                for entry in bad:
                    state.drop_dest(entry["path"])
                state.save(dest)
        names = ", ".join("%s (%s)" % (b["path"], b["problem"]) for b in bad[:10])
        raise WeightsError("%d of %d files on %s do not match the manifest: %s%s. The completion marker %s; the "
                           "next stage run copies them again" % (
                               len(bad), len(manifest["files"]), dest, names, " ..." if len(bad) > 10 else "",
                               "is left as it was (check mode)" if check_mode else "was removed"), **result)
    if not complete:
        raise WeightsError("dest: every file matches the manifest but %s is %s: the staging run that wrote it never "
                           "finished; run the stage again" % (
                               wm.MARKER_NAME, "missing" if marker is None else "for another manifest"), **result)
    if state.dirty and not check_mode:
        try:
            with ShareLock(dest):
                state.save(dest)
        except WeightsError:
            pass  # a stage run holds the share; the state is only a cache
    return result


def run(params, check_mode=False, runner=None, loader=None):
    """Everything the model_weights module does. Returns the result dict; raises WeightsError."""
    if params.get("state", "present") == "verified":
        return verify_share(params, check_mode=check_mode)
    if not params.get("dest"):
        raise WeightsError("dest: required")
    if not params.get("source"):
        raise WeightsError("source: required when state is present")
    quota = params.get("quota_gib")
    if quota is not None and quota <= 0:
        raise WeightsError("quota_gib: must be greater than 0")
    workers = params.get("workers")
    if workers is not None and not 1 <= int(workers) <= 64:
        raise WeightsError("workers: must be between 1 and 64")
    chunk = params.get("chunk_mib")
    if chunk is not None and not 1 <= int(chunk) <= 256:
        raise WeightsError("chunk_mib: must be between 1 and 256")
    return Stager(params, check_mode=check_mode, runner=runner, loader=loader).run()
