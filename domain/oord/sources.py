"""The files of a folder to seal: regular files only, with safe names, in entry order."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from domain.oord.errors import INPUT_INVALID, env_error, io_error
from domain.oord.manifest import FILES_PREFIX
from domain.oord.names import relpath_problem


@dataclass(frozen=True)
class SourceFile:
    entry: str
    """The entry name in the bundle: files/<relpath>."""
    path: Path
    size: int


def _refuse(path: str, why: str) -> None:
    raise env_error(INPUT_INVALID, f"cannot seal {path}: {why}", {"path": path})


def _relative(root: str, path: str) -> str:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        _refuse(path, "its name is not valid UTF-8")
    problem = relpath_problem(rel)
    if problem:
        _refuse(path, f"its name has {problem}")
    return rel


def _check_entry(path: str, info: os.stat_result) -> bool:
    """True for a regular file to seal, False for a folder to walk; refuse anything else."""
    if stat.S_ISLNK(info.st_mode):
        _refuse(path, "symbolic links are not sealed (they could point outside the folder)")
    if stat.S_ISDIR(info.st_mode):
        return False
    if not stat.S_ISREG(info.st_mode):
        _refuse(path, "only regular files are sealed (not devices, sockets or pipes)")
    return True


def collect_files(root: Path) -> list[SourceFile]:
    """Every regular file under ``root``, sorted by entry name; refuses links and odd files."""
    found: list[SourceFile] = []
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                items = list(listing)
        except OSError as exc:
            raise io_error("cannot list the input folder", exc) from None
        for item in items:
            try:
                info = item.stat(follow_symlinks=False)
            except OSError as exc:
                raise io_error("cannot read the input folder", exc) from None
            if _check_entry(item.path, info):
                rel = _relative(str(root), item.path)
                found.append(SourceFile(FILES_PREFIX + rel, Path(item.path), info.st_size))
            else:
                pending.append(item.path)
    return sorted(found, key=lambda f: f.entry)


def _under(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry below the folder ``root`` with its lstat, folders walked (links not)."""
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as listing:
            for item in listing:
                info = item.stat(follow_symlinks=False)
                yield item.path, info
                if stat.S_ISDIR(info.st_mode):
                    pending.append(item.path)


def newest_mtime(root: Path) -> float:
    """The newest modification time of ``root`` and everything under it (links not followed)."""
    return max(chain([root.lstat().st_mtime], (info.st_mtime for _, info in _under(root))))


def source_fingerprint(root: Path) -> str:
    """A digest of what ``root`` (a folder or a file) holds: every entry's relative name,
    kind, inode, size and modification time (links not followed).

    It changes when a file is added, removed, renamed, replaced or rewritten, however close
    in time to the last look: unlike comparing mtimes with the wall clock, it does not
    depend on the file system's timestamps being as fine as ``time.time()`` (Linux stamps
    files from a coarse clock that can lag it by a tick)."""
    top = root.lstat()
    entries = _under(root) if stat.S_ISDIR(top.st_mode) else iter([(str(root), top)])
    lines = sorted(f"{os.path.relpath(path, root)!r} {stat.S_IFMT(info.st_mode)} "
                   f"{info.st_ino} {info.st_size} {info.st_mtime_ns}"
                   for path, info in entries)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
