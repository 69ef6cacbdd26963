"""Opening a bundle and checking its structure before anything is read or written.

An unreadable file is an environment failure (exit 2: missing path, not a ZIP,
truncated while being copied). A readable ZIP with an unsafe or unexpected shape
is a content failure (exit 1): zip-slip or absolute names, symbolic links and other
non-regular entries, duplicate names, entries the bundle format does not have,
encrypted or unknown compression, and zip bombs (too many entries, too large in
total, an extreme compression ratio, or entries whose data overlap).
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from domain.oord.bundle import FILES_PREFIX, METADATA_ENTRIES, REQUIRED_ENTRIES
from domain.oord.names import relpath_problem
from domain.oord.zipwriter import RATIO_MIN_BYTES

_LOCAL_HEADER_BYTES = 30
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
MAX_PROBLEMS = 50


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Zip-bomb limits (config/oord.py reads them from OORD_MAX_*)."""

    max_total_bytes: int
    max_entries: int
    max_ratio: float
    ratio_min_bytes: int = RATIO_MIN_BYTES


class Unreadable(Exception):
    """The bundle cannot be read as a ZIP at all (an environment failure, exit 2)."""


def open_bundle(path: Path) -> zipfile.ZipFile:
    """The bundle opened for reading; Unreadable with the reason otherwise."""
    try:
        if not path.exists():
            raise Unreadable(f"no such file: {path}")
        if not path.is_file():
            raise Unreadable(f"not a regular file: {path}")
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise Unreadable(f"not a readable ZIP file: {exc}") from None
    except zipfile.LargeZipFile as exc:
        raise Unreadable(f"unsupported ZIP: {exc}") from None
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None


def _name_problem(info: zipfile.ZipInfo) -> str | None:
    raw = info.orig_filename
    if "\x00" in raw:
        return "a NUL byte in its name"
    if raw.endswith("/"):
        return "a folder entry (bundles hold files only)"
    problem = relpath_problem(raw)
    if problem:
        return problem
    if raw in METADATA_ENTRIES or raw.startswith(FILES_PREFIX):
        return None
    return "a name the bundle format does not have (only files/... and the metadata entries)"


def _type_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "not a regular file"
    if info.flag_bits & _FLAG_ENCRYPTED:
        return "encrypted"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"unsupported compression method {info.compress_type}"
    return None


def _ratio_problem(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    if info.file_size <= limits.ratio_min_bytes:
        return None
    if info.compress_size <= 0 or info.file_size / info.compress_size > limits.max_ratio:
        return (f"a compression ratio above {limits.max_ratio:g}:1 "
                f"({info.file_size} bytes from {info.compress_size}): a zip bomb")
    return None


def _entry_problems(infos: list[zipfile.ZipInfo], limits: Limits) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for info in infos:
        name = info.orig_filename
        problem = _name_problem(info) or _type_problem(info) or _ratio_problem(info, limits)
        if problem:
            problems.append(f"{name!r}: {problem}")
        if name in seen:
            problems.append(f"{name!r}: a duplicate name")
        seen.add(name)
    return problems


def _path_conflicts(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Names that are both a file and the folder of another file ('a' and 'a/b')."""
    names = {i.orig_filename for i in infos if i.orig_filename.startswith(FILES_PREFIX)}
    folders = {name.rsplit("/", n)[0] for name in names for n in range(1, name.count("/"))}
    return [f"{name!r}: both a file and a folder of other entries"
            for name in sorted(names & folders)]


def _encoded_name_length(info: zipfile.ZipInfo) -> int:
    encoding = "utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437"
    return len(info.orig_filename.encode(encoding, errors="replace"))


def _overlaps(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[str]:
    """Entries whose data overlap another's (the non-recursive zip-bomb construction)."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    bounds = [i.header_offset for i in ordered[1:]] + [getattr(zf, "start_dir", 2**63)]
    problems = []
    for info, limit in zip(ordered, bounds, strict=True):
        end = (info.header_offset + _LOCAL_HEADER_BYTES + _encoded_name_length(info)
               + info.compress_size)
        if end > limit:
            problems.append(f"{info.orig_filename!r}: its data overlaps the next entry "
                            "(a zip bomb or a damaged archive)")
    return problems


def archive_problems(zf: zipfile.ZipFile, limits: Limits) -> list[str]:
    """Everything unsafe or unexpected about the archive's entries (empty if none)."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        return [f"{len(infos)} entries, above the limit of {limits.max_entries}: a zip bomb"]
    problems = _entry_problems(infos, limits)
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        problems.append(f"{total} bytes uncompressed, above the limit of "
                        f"{limits.max_total_bytes}: a zip bomb")
    names = {i.orig_filename for i in infos}
    problems += [f"{name!r} is missing" for name in sorted(REQUIRED_ENTRIES - names)]
    problems += _path_conflicts(infos) + _overlaps(zf, infos)
    return problems[:MAX_PROBLEMS]
