"""Safe extraction: nothing outside the plugin folder, no links out, bounded sizes.

Refused (ERROR-INST-002): absolute names, `..`, backslashes, duplicate entries, device
files and FIFOs, symlinks whose target is absolute or climbs with `..` (every link
must point down into the plugin folder). Hard links are copied from the entry they
name. Sizes are counted on the bytes actually written, so a zip that lies about its
sizes is still stopped (ERROR-INST-003).
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from common.errors import ContractError
from domain.marketplace.errors import plugin_error

CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
MAX_LINK_TARGET = 4096


@dataclass(frozen=True, kw_only=True)
class Limits:
    max_bytes: int
    max_files: int


@dataclass
class _Budget:
    limits: Limits
    files: int = 0
    bytes: int = 0
    seen: set[str] = field(default_factory=set)

    def entry(self, name: str) -> None:
        if name in self.seen:
            raise _unsafe(name, "the archive holds this entry twice")
        self.seen.add(name)
        self.files += 1
        if self.files > self.limits.max_files:
            raise plugin_error("ERROR-INST-003",
                               f"more than {self.limits.max_files} entries in the archive",
                               {"limitFiles": self.limits.max_files})

    def spend(self, amount: int) -> None:
        self.bytes += amount
        if self.bytes > self.limits.max_bytes:
            raise plugin_error("ERROR-INST-003",
                               f"contents larger than {self.limits.max_bytes} bytes",
                               {"limitBytes": self.limits.max_bytes})


def _unsafe(name: str, why: str) -> ContractError:
    return plugin_error("ERROR-INST-002", f"unsafe archive entry {name!r}: {why}",
                        {"entry": name, "reason": why})


def safe_name(name: str) -> PurePosixPath:
    """The entry's path below the plugin folder, or ERROR-INST-002."""
    if "\x00" in name or "\\" in name:
        raise _unsafe(name, "NUL or backslash in the name")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise _unsafe(name, "absolute path")
    if ".." in path.parts:
        raise _unsafe(name, "the path climbs out with ..")
    parts = [p for p in path.parts if p != "."]
    if not parts:
        raise _unsafe(name, "empty name")
    return PurePosixPath(*parts)


def check_link_target(name: str, target: str) -> None:
    """A link may only point down into the folder: relative, without `..`."""
    if not target or "\x00" in target or "\\" in target:
        raise _unsafe(name, "invalid link target")
    path = PurePosixPath(target)
    if path.is_absolute() or ".." in path.parts:
        raise _unsafe(name, f"link to {target!r} leaves the plugin folder")


def _inside(root: Path, rel: PurePosixPath) -> Path:
    target = root / rel
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    # Belt and braces: whatever links exist by now, the parent must resolve inside root.
    if parent.resolve() != root.resolve() and root.resolve() not in parent.resolve().parents:
        raise _unsafe(str(rel), "the path resolves outside the plugin folder")
    return target


def _write(root: Path, rel: PurePosixPath, stream: IO[bytes], executable: bool,
           budget: _Budget) -> None:
    target = _inside(root, rel)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o755 if executable else 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK):
            budget.spend(len(chunk))
            out.write(chunk)


def _link(root: Path, rel: PurePosixPath, link_target: str) -> None:
    check_link_target(str(rel), link_target)
    os.symlink(link_target, _inside(root, rel))


def sniff(path: Path) -> str:
    """"tar" (gzip), "zip", or ERROR-INST-001."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(GZIP_MAGIC):
        return "tar"
    if head == ZIP_MAGIC:
        return "zip"
    raise plugin_error("ERROR-INST-001", "the source is neither a .tar.gz nor a .zip archive",
                       {"magic": head.hex()})


def extract(archive: Path, dest: Path, limits: Limits) -> int:
    """Extract into dest (created); return the bytes written."""
    kind = sniff(archive)
    dest.mkdir(parents=True, exist_ok=False)
    budget = _Budget(limits)
    try:
        if kind == "tar":
            _extract_tar(archive, dest, budget)
        else:
            _extract_zip(archive, dest, budget)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise plugin_error("ERROR-INST-001", f"the archive is corrupt: {exc}",
                           {"archive": archive.name}) from None
    return budget.bytes


def _tar_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    member = tar.next()
    while member is not None:
        yield member
        member = tar.next()


def _extract_tar(archive: Path, dest: Path, budget: _Budget) -> None:
    regular: dict[str, PurePosixPath] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in _tar_members(tar):
            rel = safe_name(member.name)
            budget.entry(rel.as_posix())
            if member.isdir():
                _inside(dest, rel).mkdir(exist_ok=True)
            elif member.isreg():
                if budget.bytes + member.size > budget.limits.max_bytes:
                    budget.spend(member.size)  # fail early on the declared size
                stream = tar.extractfile(member)
                assert stream is not None  # a regular member always has a stream
                _write(dest, rel, stream, bool(member.mode & 0o111), budget)
                regular[rel.as_posix()] = rel
            elif member.issym():
                _link(dest, rel, member.linkname)
            elif member.islnk():
                _hardlink(dest, rel, member.linkname, regular, budget)
            else:
                raise _unsafe(member.name, "device files, FIFOs and the like are refused")


def _hardlink(dest: Path, rel: PurePosixPath, linkname: str,
              regular: dict[str, PurePosixPath], budget: _Budget) -> None:
    source = regular.get(safe_name(linkname).as_posix())
    if source is None:
        raise _unsafe(rel.as_posix(), f"hard link to {linkname!r}, not an earlier file")
    source_path = dest / source
    with source_path.open("rb") as stream:
        _write(dest, rel, stream, bool(source_path.stat().st_mode & 0o111), budget)


def _zip_mode(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0xFFFF


def _extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.flag_bits & 0x1:
                raise plugin_error("ERROR-INST-001", "encrypted zip entries are refused",
                                   {"entry": info.filename})
            rel = safe_name(info.filename)
            budget.entry(rel.as_posix())
            mode = _zip_mode(info)
            if info.is_dir():
                _inside(dest, rel).mkdir(exist_ok=True)
            elif stat.S_ISLNK(mode):
                with zf.open(info) as stream:
                    target = stream.read(MAX_LINK_TARGET + 1)
                if len(target) > MAX_LINK_TARGET:
                    raise _unsafe(info.filename, "link target too long")
                _link(dest, rel, target.decode("utf-8", "replace"))
            elif stat.S_IFMT(mode) in (0, stat.S_IFREG):  # many zips carry no file type
                with zf.open(info) as stream:
                    _write(dest, rel, stream, bool(mode & 0o111), budget)
            else:
                raise _unsafe(info.filename, "device files, FIFOs and the like are refused")


def copy_folder(source: Path, dest: Path, limits: Limits) -> int:
    """Copy a plugin folder source with the same rules as an archive; return the bytes."""
    budget = _Budget(limits)
    dest.mkdir(parents=True, exist_ok=False)
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        for name in sorted([*dirs, *files]):
            full = here / name
            rel = safe_name(full.relative_to(source).as_posix())
            budget.entry(rel.as_posix())
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode):
                _link(dest, rel, os.readlink(full))
            elif stat.S_ISDIR(info.st_mode):
                _inside(dest, rel).mkdir(exist_ok=True)
            elif stat.S_ISREG(info.st_mode):
                with full.open("rb") as stream:
                    _write(dest, rel, stream, bool(info.st_mode & 0o111), budget)
            else:
                raise _unsafe(rel.as_posix(), "device files, FIFOs and the like are refused")
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return budget.bytes
