"""Walk a package's tree through no-follow directory fds and list what a quarantine moves.

Any symlink in the tree, and anything that is neither a folder nor a regular file, blocks
the whole operation: a link could point anywhere, and a FIFO or device cannot be hashed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from domain.synora.errors import SYMLINK_BLOCKED, UNSUPPORTED_ENTRY, blocked
from domain.synora.fsops import DirCursor, hash_file, open_dir, stat_and_hash


@dataclass(frozen=True, slots=True)
class FileItem:
    rel: str
    """Path below the package root, '/'-separated."""
    size: int
    mode: int
    inode: int
    sha256: str | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.rel.split("/"))


@dataclass(frozen=True, slots=True)
class DirItem:
    rel: str
    mode: int

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.rel.split("/"))


@dataclass(frozen=True)
class Plan:
    root: Path
    root_mode: int
    dirs: tuple[DirItem, ...]
    """Parents before children."""
    files: tuple[FileItem, ...]
    """Grouped by folder, so a walk over them opens each folder once."""

    @cached_property
    def total_bytes(self) -> int:
        """Summed once: an operation reports it three times, over 10,000 files or more."""
        return sum(item.size for item in self.files)

    def dir_modes(self) -> dict[tuple[str, ...], int]:
        return {item.parts: item.mode for item in self.dirs}


def _file_key(found: tuple[tuple[str, ...], str, FileItem]) -> tuple[tuple[str, ...], str]:
    """Folder by folder (by their parts), then by name: each folder's files together."""
    return found[0], found[1]


class _Walk:
    def __init__(self, root: Path, root_fd: int, hashes: bool) -> None:
        self.root = root
        self.cursor = DirCursor(root_fd)
        self.hashes = hashes
        self.dirs: list[DirItem] = []
        self.files: list[tuple[tuple[str, ...], str, FileItem]] = []
        """(folder parts, name, item): sorted, the plan's order without re-splitting paths."""

    def run(self) -> None:
        pending: list[tuple[str, ...]] = [()]
        while pending:
            parts = pending.pop()
            subdirs = self._folder(parts)
            pending.extend((*parts, name) for name in sorted(subdirs, reverse=True))
        self.cursor.close()

    def _folder(self, parts: tuple[str, ...]) -> list[str]:
        fd = self.cursor.enter(parts)
        subdirs: list[str] = []
        prefix = "".join(f"{part}/" for part in parts)
        with os.scandir(fd) as entries:
            for entry in entries:
                if self._entry(fd, parts, prefix, entry):
                    subdirs.append(entry.name)
        return subdirs

    def _where(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def _entry(self, fd: int, parts: tuple[str, ...], prefix: str,
               entry: os.DirEntry[str]) -> bool:
        """Record one entry; True if it is a folder to descend into."""
        rel = prefix + entry.name
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            where = repr(self._where(rel))
            raise blocked(UNSUPPORTED_ENTRY, f"{where}: a name that is not UTF-8 cannot be "
                          "recorded faithfully", path=where) from None
        if self.hashes and entry.is_file(follow_symlinks=False):
            # the directory entry's type says regular file: the no-follow open and its
            # fstat stand in for an lstat (a swap since the listing fails the open or the
            # fstat's regular-file check)
            st, sha256 = stat_and_hash(fd, entry.name)
            self.files.append((parts, entry.name, FileItem(
                rel, st.st_size, stat.S_IMODE(st.st_mode), st.st_ino, sha256)))
            return False
        st = entry.stat(follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            raise blocked(SYMLINK_BLOCKED, f"{self._where(rel)} is a symbolic link; symlinks "
                          "in a package tree block the whole operation", path=self._where(rel))
        if stat.S_ISDIR(st.st_mode):
            self.dirs.append(DirItem(rel, mode))
            return True
        if not stat.S_ISREG(st.st_mode):
            raise blocked(UNSUPPORTED_ENTRY, f"{self._where(rel)} is neither a regular file "
                          "nor a folder", path=self._where(rel))
        digest = hash_file(fd, entry.name, st.st_ino) if self.hashes else None
        self.files.append((parts, entry.name, FileItem(rel, st.st_size, mode, st.st_ino,
                                                       digest)))
        return False


def scan_tree(root: Path, *, hashes: bool) -> Plan:
    """The plan for ``root`` (a canonical folder), with each file's sha256 if ``hashes``."""
    root_fd = open_dir(root)
    try:
        walk = _Walk(root, root_fd, hashes)
        try:
            walk.run()
        finally:
            walk.cursor.close()
        root_mode = stat.S_IMODE(os.fstat(root_fd).st_mode)
    finally:
        os.close(root_fd)
    dirs = tuple(sorted(walk.dirs, key=lambda item: item.parts))
    files = tuple(item for _, _, item in sorted(walk.files, key=_file_key))
    return Plan(root=root, root_mode=root_mode, dirs=dirs, files=files)
