# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming I/O for weights staging: hash while copying, resume, read back, rename into place.

Memory is constant whatever the file size: every worker owns one fixed buffer (``CHUNK`` bytes,
page-aligned, allocated once with a private anonymous mmap) and streams through it. The source is
read once; its sha256 (and, when asked for, its git blob id) is computed on the bytes that are
written. The copy goes to a temporary file under ``.weights-partial/``, written with O_DIRECT where
the filesystem allows it (the jump box's page cache is neither filled nor flushed: on the machines
measured this took a fifth of the CPU and half the time of buffered writes), fsynced, optionally
read back from the storage (O_DIRECT, or with the page cache dropped first) and compared, gets its
owner and mode, and only then is renamed into place; the directory is fsynced after the rename.

hashlib, os.readv and os.write release the GIL on large buffers, so a few worker threads copy
several files at once on separate cores.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import hmac
import mmap
import os
import stat

from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import (
    Cancelled,
    ContentMismatch,
    SourceError,
    WeightsError,
)

CHUNK = 8 * 1024 * 1024
ALIGN = 4096  # O_DIRECT needs offsets, lengths and buffer addresses aligned to the logical block size
O_DIRECT = getattr(os, "O_DIRECT", 0)


def alloc_buffer(size=CHUNK):
    """A page-aligned buffer of ``size`` bytes (a multiple of ALIGN), as a writable memoryview."""
    size = max(ALIGN, size - size % ALIGN)
    try:
        return memoryview(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS))
    except (AttributeError, TypeError, ValueError):
        return memoryview(mmap.mmap(-1, size))


def _open_direct(path, flags, mode, direct):
    """Open with O_DIRECT when asked and the filesystem takes it; else without."""
    if direct and O_DIRECT:
        try:
            return os.open(path, flags | O_DIRECT, mode)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    return os.open(path, flags, mode)


def _drop_direct(fd):
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if flags & O_DIRECT:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~O_DIRECT)


def _fadvise(fd, advice):
    try:
        os.posix_fadvise(fd, 0, 0, advice)
    except (AttributeError, OSError):
        pass


def _check_cancel(cancel):
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _read_full(fd, view):
    """Fill ``view`` unless the file ends first; return the number of bytes read."""
    got = 0
    while got < len(view):
        n = os.readv(fd, [view[got:]])
        if n == 0:
            break
        got += n
    return got


def _write_all(fd, view):
    """Write all of ``view``; an O_DIRECT descriptor goes buffered for a tail that is not aligned
    (or when the filesystem refuses the direct write)."""
    done = 0
    while done < len(view):
        rest = view[done:]
        if len(rest) % ALIGN:
            _drop_direct(fd)
        try:
            done += os.write(fd, rest)
        except OSError as exc:
            if exc.errno != errno.EINVAL or not fcntl.fcntl(fd, fcntl.F_GETFL) & O_DIRECT:
                raise
            _drop_direct(fd)


def git_blob_hasher(size):
    """sha1 over git's blob header and the content: the blob id the Hub publishes for non-LFS files."""
    hasher = hashlib.sha1(b"blob %d\x00" % size)  # nosec B324 - git's object id, not a security hash
    return hasher


def hash_file(path, buf, want_git=False, cancel=None):
    """Return (sha256 hex, git blob id or None, size) of ``path`` in one streaming read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        _fadvise(fd, getattr(os, "POSIX_FADV_SEQUENTIAL", 2))
        sha = hashlib.sha256()
        git = git_blob_hasher(size) if want_git else None
        total = 0
        while True:
            _check_cancel(cancel)
            n = os.readv(fd, [buf])
            if n == 0:
                break
            chunk = buf[:n]
            sha.update(chunk)
            if git is not None:
                git.update(chunk)
            total += n
        _fadvise(fd, getattr(os, "POSIX_FADV_DONTNEED", 4))
    finally:
        os.close(fd)
    if total != size:
        raise SourceError("%s: changed size while it was being read (%d bytes, then %d)" % (path, size, total))
    return sha.hexdigest(), (git.hexdigest() if git is not None else None), total


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


class Perms:
    """Owner, group and modes the serving container needs; None leaves that attribute alone."""

    def __init__(self, uid=None, gid=None, file_mode=None, dir_mode=None):
        self.uid = uid
        self.gid = gid
        self.file_mode = file_mode
        self.dir_mode = dir_mode

    def _owner_args(self, st):
        uid = self.uid if self.uid is not None and st.st_uid != self.uid else -1
        gid = self.gid if self.gid is not None and st.st_gid != self.gid else -1
        return uid, gid

    def differs(self, st):
        """True when the node described by lstat result ``st`` needs a chown or chmod."""
        uid, gid = self._owner_args(st)
        if uid != -1 or gid != -1:
            return True
        if stat.S_ISLNK(st.st_mode):
            return False
        mode = self.dir_mode if stat.S_ISDIR(st.st_mode) else self.file_mode
        return mode is not None and stat.S_IMODE(st.st_mode) != mode

    def apply_fd(self, fd):
        st = os.fstat(fd)
        uid, gid = self._owner_args(st)
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        if self.file_mode is not None and stat.S_IMODE(st.st_mode) != self.file_mode:
            os.fchmod(fd, self.file_mode)

    def apply_path(self, path, st=None):
        """chown/chmod ``path`` (never following a symlink); return True when something changed."""
        st = st if st is not None else os.lstat(path)
        if not self.differs(st):
            return False
        uid, gid = self._owner_args(st)
        if uid != -1 or gid != -1:
            os.lchown(path, uid, gid)
        if not stat.S_ISLNK(st.st_mode):
            mode = self.dir_mode if stat.S_ISDIR(st.st_mode) else self.file_mode
            if mode is not None and stat.S_IMODE(st.st_mode) != mode:
                os.chmod(path, mode)
        return True


class CopyResult:
    __slots__ = ("sha256", "git_oid", "size", "bytes_written", "bytes_resumed", "bytes_read_back")

    def __init__(self, **kwargs):
        for name in self.__slots__:
            setattr(self, name, kwargs.get(name))


def _resume_offset(src_fd, part_fd, size, buf, spare, hashers, cancel):
    """Check the partial copy against the source prefix; return how many bytes can be kept.

    Both prefixes are read chunk by chunk; the source chunks feed the hashers, so the copy goes on
    from the first byte that differs (rounded down to a chunk) without reading the source twice.
    """
    part_size = os.fstat(part_fd).st_size
    if part_size == 0 or part_size > size:
        return 0
    kept = 0
    while kept < part_size:
        _check_cancel(cancel)
        want = min(len(buf), part_size - kept)
        want -= want % ALIGN  # stay aligned for O_DIRECT: an unaligned tail is copied again
        if want == 0:
            break
        got_src = _read_full(src_fd, buf[:want])
        got_part = _read_full(part_fd, spare[:want])
        if got_src != want or got_part != want or not hmac.compare_digest(buf[:want], spare[:want]):
            break
        for hasher in hashers:
            hasher.update(buf[:want])
        kept += want
    return kept


def copy_file(src, part, buf, expect_size=None, expect_sha256=None, expect_git_oid=None,
              verify_copy=True, perms=None, cancel=None, label=None, what="the source publishes", direct_io=True):
    """Copy ``src`` to the temporary ``part`` (resuming it), hash, check and read back.

    Returns a CopyResult; the caller renames ``part`` into place. A hash that differs from
    ``expect_*`` removes the partial file and raises ContentMismatch; any other failure keeps it,
    so that the next run resumes it.
    """
    label = label or src
    src_fd = os.open(src, os.O_RDONLY)
    try:
        size = os.fstat(src_fd).st_size
        if expect_size is not None and size != expect_size:
            raise SourceError("%s: source file has %d bytes but %s %d" % (label, size, what, expect_size),
                              bad_file={"path": label, "field": "size", "expected": expect_size, "actual": size})
        _fadvise(src_fd, getattr(os, "POSIX_FADV_SEQUENTIAL", 2))
        sha = hashlib.sha256()
        git = git_blob_hasher(size) if expect_git_oid else None
        hashers = [h for h in (sha, git) if h is not None]
        part_fd = _open_direct(part, os.O_RDWR | os.O_CREAT, 0o600, direct_io)
        try:
            kept = 0
            if os.fstat(part_fd).st_size:
                kept = _resume_offset(src_fd, part_fd, size, buf, alloc_buffer(len(buf)), hashers, cancel)
                if kept == 0:  # nothing reusable: start over from the first byte
                    sha = hashlib.sha256()
                    git = git_blob_hasher(size) if expect_git_oid else None
                    hashers = [h for h in (sha, git) if h is not None]
            os.lseek(src_fd, kept, os.SEEK_SET)
            os.ftruncate(part_fd, kept)
            os.lseek(part_fd, kept, os.SEEK_SET)
            total = kept
            while True:
                _check_cancel(cancel)
                n = _read_full(src_fd, buf)  # full chunks keep the direct writes aligned
                if n == 0:
                    break
                chunk = buf[:n]
                for hasher in hashers:
                    hasher.update(chunk)
                _write_all(part_fd, chunk)
                total += n
            if total != size:
                raise SourceError("%s: source changed size while it was copied (%d bytes, then %d)"
                                  % (label, size, total))
            os.fsync(part_fd)
            digest = sha.hexdigest()
            git_oid = git.hexdigest() if git is not None else None
            mismatch = None
            if expect_sha256 and digest != expect_sha256:
                mismatch = ContentMismatch(label, "sha256", expect_sha256, digest, what)
            elif expect_git_oid and git_oid != expect_git_oid:
                mismatch = ContentMismatch(label, "git blob id", expect_git_oid, git_oid, what)
            if mismatch is not None:
                os.close(part_fd)
                part_fd = None
                os.unlink(part)
                raise mismatch
            read_back = 0
            if verify_copy:
                read_back = _read_back(part_fd, buf, digest, label, cancel)
            if perms is not None:
                perms.apply_fd(part_fd)
        finally:
            if part_fd is not None:
                os.close(part_fd)
        _fadvise(src_fd, getattr(os, "POSIX_FADV_DONTNEED", 4))
    finally:
        os.close(src_fd)
    return CopyResult(sha256=digest, git_oid=git_oid, size=size, bytes_written=size - kept,
                      bytes_resumed=kept, bytes_read_back=read_back)


def _read_back(fd, buf, digest, label, cancel):
    """Hash what the storage returns: O_DIRECT reads when the copy was written so, else reads with
    the written pages dropped from the cache first."""
    _fadvise(fd, getattr(os, "POSIX_FADV_DONTNEED", 4))
    sha = hashlib.sha256()
    offset = 0
    while True:
        _check_cancel(cancel)
        n = os.preadv(fd, [buf], offset)
        if n == 0:
            break
        sha.update(buf[:n])
        offset += n
    _fadvise(fd, getattr(os, "POSIX_FADV_DONTNEED", 4))
    if sha.hexdigest() != digest:
        raise WeightsError("%s: the bytes read back from the share (sha256 %s) differ from the bytes written "
                           "(sha256 %s); the storage is not returning what was written"
                           % (label, sha.hexdigest(), digest),
                           bad_file={"path": label, "field": "sha256", "expected": digest,
                                     "actual": sha.hexdigest()})
    return offset


def place(part, dst):
    """Rename the finished temporary file into place and make the rename durable."""
    os.replace(part, dst)
    fsync_dir(os.path.dirname(dst))


def write_atomic(path, data, perms=None, mode=0o644):
    """Write a small file under a temporary name, fsync, rename into place, fsync the directory."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        _write_all(fd, memoryview(data))
        if perms is not None:
            perms.apply_fd(fd)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(path))


def remove_durably(path):
    """Unlink ``path`` if it exists and make that durable; True when something was removed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_dir(os.path.dirname(path))
    return True


def make_symlink(target, dst, part, perms=None):
    """Create (or replace) the symlink ``dst`` -> ``target`` through a temporary name."""
    try:
        os.unlink(part)
    except FileNotFoundError:
        pass
    os.symlink(target, part)
    if perms is not None:
        perms.apply_path(part)
    os.replace(part, dst)
    fsync_dir(os.path.dirname(dst))
