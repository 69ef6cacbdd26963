"""No-follow, directory-fd file operations."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from domain.synora.fsops import (
    CHUNK_BYTES,
    DirCursor,
    IntegrityError,
    TargetChanged,
    copy_then_delete,
    hash_file,
    open_dir,
    rename_noreplace,
)


def test_open_dir_refuses_a_symlink_anywhere_on_the_path(tmp_path: Path) -> None:
    (tmp_path / "real" / "inner").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.close(open_dir(tmp_path / "real" / "inner"))
    for path in (tmp_path / "link", tmp_path / "link" / "inner"):
        with pytest.raises(OSError) as caught:
            open_dir(path)
        assert caught.value.errno in (errno.ELOOP, errno.ENOTDIR)


def test_rename_noreplace_never_replaces(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"source")
    (tmp_path / "b" / "f").write_bytes(b"already here")
    a, b = open_dir(tmp_path / "a"), open_dir(tmp_path / "b")
    try:
        with pytest.raises(FileExistsError):
            rename_noreplace(a, "f", b)
        assert (tmp_path / "b" / "f").read_bytes() == b"already here"
        (tmp_path / "b" / "f").unlink()
        rename_noreplace(a, "f", b)
    finally:
        os.close(a)
        os.close(b)
    assert (tmp_path / "b" / "f").read_bytes() == b"source"
    assert not (tmp_path / "a" / "f").exists()


def _pair(tmp_path: Path) -> tuple[int, int]:
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    return open_dir(tmp_path / "src"), open_dir(tmp_path / "dst")


def test_copy_then_delete_keeps_bytes_mode_and_times(tmp_path: Path) -> None:
    src, dst = _pair(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    path = tmp_path / "src" / "blob"
    path.write_bytes(data)
    path.chmod(0o640)
    os.utime(path, ns=(5_000_000_000, 7_000_000_000))
    inode = path.stat().st_ino
    try:
        copy_then_delete(src, "blob", dst, inode=inode,
                         sha256=hashlib.sha256(data).hexdigest())
    finally:
        os.close(src)
        os.close(dst)
    moved = tmp_path / "dst" / "blob"
    assert moved.read_bytes() == data and not path.exists()
    assert (moved.stat().st_mode & 0o777, moved.stat().st_mtime_ns) == (0o640, 7_000_000_000)


def test_copy_with_a_wrong_hash_leaves_the_original_alone(tmp_path: Path) -> None:
    src, dst = _pair(tmp_path)
    (tmp_path / "src" / "f").write_bytes(b"bytes")
    try:
        with pytest.raises(IntegrityError):
            copy_then_delete(src, "f", dst, inode=None, sha256="0" * 64)
    finally:
        os.close(src)
        os.close(dst)
    assert (tmp_path / "src" / "f").read_bytes() == b"bytes"
    assert not (tmp_path / "dst" / "f").exists()


def test_a_replaced_file_is_noticed(tmp_path: Path) -> None:
    src, dst = _pair(tmp_path)
    path = tmp_path / "src" / "f"
    path.write_bytes(b"one")
    inode = path.stat().st_ino
    (tmp_path / "src" / "keep").write_bytes(b"two")
    os.link(tmp_path / "src" / "keep", tmp_path / "src" / "new")
    (tmp_path / "src" / "new").replace(path)  # same name, another inode
    try:
        with pytest.raises(TargetChanged):
            copy_then_delete(src, "f", dst, inode=inode, sha256=None)
        path.unlink()
        path.symlink_to(tmp_path / "src" / "keep")
        with pytest.raises(OSError) as caught:  # a symlink is never opened
            copy_then_delete(src, "f", dst, inode=None, sha256=None)
        assert caught.value.errno == errno.ELOOP
        with pytest.raises(OSError):
            hash_file(src, "f")
    finally:
        os.close(src)
        os.close(dst)
    assert path.is_symlink() and not (tmp_path / "dst" / "f").exists()


def test_dir_cursor_creates_folders_with_recorded_modes(tmp_path: Path) -> None:
    root = open_dir(tmp_path)
    cursor = DirCursor(root)
    try:
        cursor.enter(("a", "b", "c"), create=True, modes={("a",): 0o751, ("a", "b"): 0o700},
                     default_mode=0o755)
        fd = cursor.enter(("a", "x"), create=True)
        os.close(os.open("probe", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
    finally:
        cursor.close()
        os.close(root)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o751
    assert (tmp_path / "a" / "b").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "a" / "b" / "c").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "a" / "x" / "probe").exists()


@pytest.mark.parametrize("size", [0, 1, 1000, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1,
                                  2 * CHUNK_BYTES + 5])
def test_hash_file_reads_every_size_to_its_end(tmp_path: Path, size: int) -> None:
    """Small files take one read, bigger ones several: the digest is the whole file's."""
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    fd = open_dir(tmp_path)
    try:
        assert hash_file(fd, "f") == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)
