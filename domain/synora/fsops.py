"""File operations that never follow a symlink: directory fds, no-follow opens, no-replace
renames, and a copy-fsync-delete move for crossing filesystems.

Checking a path and then using it by name leaves a window in which a folder on the way can
be swapped for a symlink. Here every folder is opened one component at a time with
O_NOFOLLOW|O_DIRECTORY relative to its parent's fd, and files are renamed, opened and
unlinked relative to those fds, so a swap makes the operation fail instead of escaping.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import stat
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK_BYTES = 1024 * 1024
RENAME_NOREPLACE = 1  # linux/fs.h
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


class TargetChanged(OSError):
    """A file is no longer the one that was checked (replaced, or not a regular file)."""


class IntegrityError(OSError):
    """A file's bytes do not match the sha256 recorded for it."""


def open_dir(path: Path) -> int:
    """Open an absolute folder one component at a time, refusing any symlink on the way."""
    if not path.is_absolute():
        raise ValueError(f"not an absolute path: {path}")
    fd = os.open("/", DIR_FLAGS)
    try:
        for part in path.parts[1:]:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def ensure_dir(parent_fd: int, name: str, mode: int) -> int:
    """Open folder ``name`` under ``parent_fd`` without following links; make it if missing."""
    try:
        os.mkdir(name, mode, dir_fd=parent_fd)
        created = True
    except FileExistsError:
        created = False
    fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    if created:
        os.fchmod(fd, mode)  # mkdir's mode is masked by the umask; the recorded one is not
    return fd


class DirCursor:
    """Opens folders below a root fd by relative parts, reusing the fds of the common prefix.

    Walking files in sorted order opens each folder once. With ``create`` it makes missing
    folders, with the mode recorded for them in ``modes`` (else ``default_mode``).
    """

    def __init__(self, root_fd: int) -> None:
        self._root = root_fd
        self._stack: list[tuple[str, int]] = []

    def enter(self, parts: tuple[str, ...], *, create: bool = False,
              modes: Mapping[tuple[str, ...], int] | None = None,
              default_mode: int = 0o700) -> int:
        """The fd of the folder at ``parts`` below the root (owned by the cursor)."""
        common = 0
        while (common < len(self._stack) and common < len(parts)
               and self._stack[common][0] == parts[common]):
            common += 1
        self._close_from(common)
        for depth in range(common, len(parts)):
            parent = self._stack[-1][1] if self._stack else self._root
            name = parts[depth]
            if create:
                mode = (modes or {}).get(parts[:depth + 1], default_mode)
                fd = ensure_dir(parent, name, mode)
            else:
                fd = os.open(name, DIR_FLAGS, dir_fd=parent)
            self._stack.append((name, fd))
        return self._stack[-1][1] if self._stack else self._root

    def _close_from(self, depth: int) -> None:
        while len(self._stack) > depth:
            os.close(self._stack.pop()[1])

    def close(self) -> None:
        self._close_from(0)


@cache
def _renameat2() -> object | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a libc without it
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def rename_noreplace(src_fd: int, name: str, dst_fd: int) -> None:
    """Rename ``name`` from one folder fd to another; fail if the target name exists.

    os.rename would silently replace an existing target. renameat2(RENAME_NOREPLACE) makes
    the check and the rename one step; where it is missing we check, then rename.
    """
    function = _renameat2()
    if function is not None:
        encoded = name.encode(_FS_ENCODING, _FS_ERRORS)  # os.fsencode, without its checks
        if function(src_fd, encoded, dst_fd, encoded, RENAME_NOREPLACE) == 0:  # type: ignore[operator]
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS):  # EINVAL: filesystem lacks the flag
            raise OSError(code, os.strerror(code), name)
    try:
        os.stat(name, dir_fd=dst_fd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        return
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), name)


def check_regular(dir_fd: int, name: str, inode: int | None) -> os.stat_result:
    """The file's lstat, provided it is a regular file (and the same inode, when given)."""
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode) or (inode is not None and st.st_ino != inode):
        raise TargetChanged(errno.ESTALE, "changed since it was checked", name)
    return st


def hash_file(dir_fd: int, name: str, inode: int | None = None) -> str:
    """sha256 of a regular file opened without following links."""
    return stat_and_hash(dir_fd, name, inode)[1]


def stat_and_hash(dir_fd: int, name: str, inode: int | None = None
                  ) -> tuple[os.stat_result, str]:
    """The fstat and sha256 of a regular file opened without following links (one open:
    the stat is of the very file whose bytes were hashed)."""
    fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (inode is not None and st.st_ino != inode):
            raise TargetChanged(errno.ESTALE, "changed since it was checked", name)
        return st, _hash_fd(fd, st)
    finally:
        os.close(fd)


def _hash_fd(fd: int, st: os.stat_result) -> str:
    """sha256 of an open file read to its end.

    Most of a package is small files: they are read in one call, asking for one byte more
    than fstat's size. Getting exactly that size back is the end of the file (a regular
    file only reads short at its end, and one that grew since the fstat would have filled
    the extra byte), so the usual second read, which would only return b"", is skipped.
    Anything else (a bigger file, one that shrank or grew) is read on to a b"".
    """
    size = read_size(st)
    chunk = os.read(fd, size)
    digest = hashlib.sha256(chunk)
    if len(chunk) == st.st_size < size:
        return digest.hexdigest()
    while chunk := os.read(fd, size):
        digest.update(chunk)
    return digest.hexdigest()


def read_size(st: os.stat_result) -> int:
    """The buffer for reading a file to its end: os.read allocates the whole size it is
    asked for, so a 1 MiB buffer per call costs small files (most of a package) more than
    their bytes; one byte past the size still sees a file that grew."""
    return min(CHUNK_BYTES, st.st_size + 1)


def _copy_fd(src: int, dst: int, size: int) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(src, size):
        digest.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
    return digest.hexdigest()


def _copy_metadata(st: os.stat_result, dst: int) -> None:
    os.fchmod(dst, stat.S_IMODE(st.st_mode))
    if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
        os.fchown(dst, st.st_uid, st.st_gid)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def copy_then_delete(src_fd: int, name: str, dst_fd: int, *, inode: int | None,
                     sha256: str | None) -> None:
    """Move across filesystems: copy, fsync the copy and its folder, verify, then unlink.

    Until the unlink the original is untouched, so a failure at any point leaves the file
    where it was (the partial copy is removed).
    """
    src = os.open(name, READ_FLAGS, dir_fd=src_fd)
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode) or (inode is not None and st.st_ino != inode):
            raise TargetChanged(errno.ESTALE, "changed since it was checked", name)
        dst = os.open(name, CREATE_FLAGS, 0o600, dir_fd=dst_fd)
        try:
            digest = _copy_fd(src, dst, read_size(st))
            if sha256 is not None and digest != sha256:
                raise IntegrityError(errno.EIO, "sha256 differs from the recorded one", name)
            _copy_metadata(st, dst)
            os.fsync(dst)
        except BaseException:
            os.close(dst)
            os.unlink(name, dir_fd=dst_fd)
            raise
        os.close(dst)
    finally:
        os.close(src)
    os.fsync(dst_fd)
    check_regular(src_fd, name, st.st_ino)  # still the file we copied
    os.unlink(name, dir_fd=src_fd)


def remove_empty_dir(parent_fd: int, name: str) -> bool:
    """rmdir without following links; False if it is not empty or already gone."""
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            return False
        raise
    return True
