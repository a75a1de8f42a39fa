# -*- coding: utf-8 -*-
"""The streaming copy: hash while copying, resume, read back, mismatch handling, permissions."""
import hashlib
import os
import stat

import pytest

from ansible_collections.airgap.aks_inference.plugins.module_utils import weights_io as wio
from ansible_collections.airgap.aks_inference.plugins.module_utils.weights_errors import (
    ContentMismatch,
    SourceError,
    WeightsError,
)

SMALL = 4096  # a tiny buffer so that small files span many chunks


def data(n, seed=1):
    out = bytearray()
    block = hashlib.sha256(b"%d" % seed).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "src.bin"
    path.write_bytes(data(10 * SMALL + 123))
    return path


def git_blob_id(content):
    return hashlib.sha1(b"blob %d\x00" % len(content) + content).hexdigest()


def test_git_blob_id_of_empty_file_is_gits():
    assert wio.git_blob_hasher(0).hexdigest() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_hash_file_streams_in_chunks(src):
    content = src.read_bytes()
    sha, git, size = wio.hash_file(str(src), wio.alloc_buffer(SMALL), want_git=True)
    assert (sha, git, size) == (hashlib.sha256(content).hexdigest(), git_blob_id(content), len(content))


def test_copy_hashes_what_it_writes_and_reads_it_back(src, tmp_path):
    part = tmp_path / "p.part"
    res = wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL), expect_size=src.stat().st_size,
                        expect_sha256=hashlib.sha256(src.read_bytes()).hexdigest())
    assert part.read_bytes() == src.read_bytes()
    assert res.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (res.bytes_written, res.bytes_resumed, res.bytes_read_back) == (src.stat().st_size, 0, src.stat().st_size)
    dst = tmp_path / "final.bin"
    wio.place(str(part), str(dst))
    assert dst.read_bytes() == src.read_bytes() and not part.exists()


def test_copy_checks_the_git_blob_id(src, tmp_path):
    content = src.read_bytes()
    res = wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), expect_git_oid=git_blob_id(content))
    assert res.git_oid == git_blob_id(content)
    with pytest.raises(ContentMismatch) as err:
        wio.copy_file(str(src), str(tmp_path / "q"), wio.alloc_buffer(SMALL), expect_git_oid="0" * 40)
    assert "git blob id" in err.value.msg
    assert not (tmp_path / "q").exists()


def test_wrong_published_sha256_removes_the_partial_file(src, tmp_path):
    part = tmp_path / "p.part"
    with pytest.raises(ContentMismatch) as err:
        wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL), expect_sha256="f" * 64, label="m.safetensors",
                      what="the Hub publishes")
    assert err.value.msg.startswith("m.safetensors: sha256 is ")
    assert "the Hub publishes " + "f" * 64 in err.value.msg
    assert err.value.details["bad_file"]["expected"] == "f" * 64
    assert not part.exists()


def test_size_differing_from_the_published_size_fails_before_writing(src, tmp_path):
    with pytest.raises(SourceError) as err:
        wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), expect_size=5)
    assert "but the source publishes 5" in err.value.msg
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("prefix", [1, SMALL - 1, SMALL, 3 * SMALL + 7])
def test_resume_keeps_a_matching_prefix(src, tmp_path, prefix):
    part = tmp_path / "p.part"
    part.write_bytes(src.read_bytes()[:prefix])
    res = wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL))
    assert part.read_bytes() == src.read_bytes()
    assert res.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    kept = prefix - prefix % wio.ALIGN  # an unaligned tail is copied again (O_DIRECT needs aligned offsets)
    assert res.bytes_resumed == kept
    assert res.bytes_written == src.stat().st_size - kept


def test_resume_restarts_from_the_first_bad_chunk(src, tmp_path):
    content = src.read_bytes()
    part = tmp_path / "p.part"
    bad = bytearray(content[:5 * SMALL])
    bad[2 * SMALL + 10] ^= 0xFF  # corrupted inside the third chunk
    part.write_bytes(bytes(bad))
    res = wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL))
    assert part.read_bytes() == content
    assert res.bytes_resumed == 2 * SMALL
    assert res.sha256 == hashlib.sha256(content).hexdigest()


def test_resume_ignores_a_partial_file_longer_than_the_source(src, tmp_path):
    part = tmp_path / "p.part"
    part.write_bytes(src.read_bytes() + b"junk")
    res = wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL))
    assert part.read_bytes() == src.read_bytes() and res.bytes_resumed == 0


def test_interrupted_copy_keeps_its_partial_file_and_resumes(src, tmp_path, monkeypatch):
    part = tmp_path / "p.part"
    real = wio._write_all
    calls = []

    def failing(fd, view):
        calls.append(len(view))
        if len(calls) == 4:
            raise OSError(5, "Input/output error (simulated)")
        real(fd, view)

    monkeypatch.setattr(wio, "_write_all", failing)
    with pytest.raises(OSError):
        wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL))
    assert part.stat().st_size == 3 * SMALL
    monkeypatch.setattr(wio, "_write_all", real)
    res = wio.copy_file(str(src), str(part), wio.alloc_buffer(SMALL))
    assert res.bytes_resumed == 3 * SMALL and part.read_bytes() == src.read_bytes()


def test_read_back_that_differs_fails(src, tmp_path, monkeypatch):
    real = os.preadv

    def flipping(fd, buffers, offset):
        n = real(fd, buffers, offset)
        if offset == 0 and n:
            buffers[0][0] ^= 0x01  # the storage "returns" another byte
        return n

    monkeypatch.setattr(wio.os, "preadv", flipping)
    with pytest.raises(WeightsError) as err:
        wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), label="x.bin")
    assert "read back from the share" in err.value.msg


def test_copy_without_read_back(src, tmp_path):
    res = wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), verify_copy=False)
    assert res.bytes_read_back == 0


def test_empty_file(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    res = wio.copy_file(str(tmp_path / "e"), str(tmp_path / "p"), wio.alloc_buffer(SMALL),
                        expect_git_oid="e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
    assert res.size == 0 and res.sha256 == hashlib.sha256(b"").hexdigest()


def test_perms_are_applied_before_the_rename(src, tmp_path):
    perms = wio.Perms(file_mode=0o640)
    wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), perms=perms)
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_perms_owner_and_group(src, tmp_path):
    perms = wio.Perms(uid=1000, gid=2000, file_mode=0o644, dir_mode=0o755)
    wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), perms=perms)
    st = (tmp_path / "p").stat()
    assert (st.st_uid, st.st_gid) == (1000, 2000)
    sub = tmp_path / "d"
    sub.mkdir(mode=0o700)
    assert perms.differs(sub.lstat())
    assert perms.apply_path(str(sub)) is True
    assert not perms.differs(sub.lstat())
    assert perms.apply_path(str(sub)) is False


def test_write_atomic_and_remove_durably(tmp_path):
    path = tmp_path / "m.json"
    wio.write_atomic(str(path), b"{}")
    assert path.read_bytes() == b"{}" and os.listdir(str(tmp_path)) == ["m.json"]
    assert wio.remove_durably(str(path)) is True
    assert wio.remove_durably(str(path)) is False


def test_make_symlink_replaces(tmp_path):
    dst = tmp_path / "l"
    wio.make_symlink("a", str(dst), str(tmp_path / "tmp"))
    wio.make_symlink("b", str(dst), str(tmp_path / "tmp"))
    assert os.readlink(str(dst)) == "b" and not (tmp_path / "tmp").exists()


@pytest.mark.parametrize("direct_io", [True, False])
def test_buffered_and_direct_copies_are_equal(src, tmp_path, direct_io):
    res = wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), direct_io=direct_io)
    assert (tmp_path / "p").read_bytes() == src.read_bytes()
    assert res.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()


def test_filesystem_refusing_direct_writes_falls_back(src, tmp_path, monkeypatch):
    real_write = os.write
    refused = []

    def no_direct(fd, data):
        if wio.fcntl.fcntl(fd, wio.fcntl.F_GETFL) & wio.O_DIRECT:
            refused.append(fd)
            raise OSError(22, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(wio.os, "write", no_direct)
    res = wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), direct_io=True)
    assert (tmp_path / "p").read_bytes() == src.read_bytes() and res.bytes_written == src.stat().st_size
    assert len(refused) == (1 if wio.O_DIRECT else 0)


def test_filesystem_refusing_direct_open_falls_back(src, tmp_path, monkeypatch):
    real_open = os.open

    def no_direct(path, flags, mode=0o777):
        if flags & wio.O_DIRECT:
            raise OSError(22, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(wio.os, "open", no_direct)
    wio.copy_file(str(src), str(tmp_path / "p"), wio.alloc_buffer(SMALL), direct_io=True)
    assert (tmp_path / "p").read_bytes() == src.read_bytes()


def test_buffers_are_page_aligned():
    import ctypes
    buf = wio.alloc_buffer(wio.CHUNK)
    address = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    assert address % wio.ALIGN == 0 and len(buf) == wio.CHUNK
