"""Small file-system helpers: atomic JSON writes, sizes, digests, removal."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import uuid
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024


def parse_json(text: str | bytes) -> Any:
    """json.loads, with a document nested too deeply for the parser (RecursionError) a
    ValueError like every other text that is not usable JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_json(path: Path) -> Any | None:
    """The parsed file, or None when it does not exist (ValueError when it is not JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_json(text)


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a sibling temporary file, flush it to disk, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, data: Any) -> None:
    # ASCII escapes: a location given with bytes that are not UTF-8 (a lone surrogate)
    # must not make the registry unwritable at the transaction's commit point.
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=True) + "\n")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_size(root: Path) -> int:
    """Bytes of the regular files under root (links not followed)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(folder, name))
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
    return total


def tree_digest(root: Path) -> str:
    """The digest of a plugin folder: what a folder source's sha256 names, and what the
    cache records of every cached version (its tree digest).

    sha256 over one line per file: "f <path> <sha256>" for a file, "x <path> <sha256>"
    for an executable one, "l <path> <target>" for a symlink, each ending in "\n". The
    lines are sorted as whole lines (by code point, which is UTF-8 byte order), so the
    kind letter sorts first: every "f" line, then every "l" line, then every "x" line,
    each group by path. Digests already recorded in marketplaces and caches were made
    this way, so the order stays. Folders themselves (and empty ones) do not count.
    """
    lines = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(folder, d)))]:
            full = Path(folder) / name
            rel = full.relative_to(root).as_posix()
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode):
                lines.append(f"l {rel} {os.readlink(full)}")
            elif stat.S_ISREG(info.st_mode):
                kind = "x" if info.st_mode & 0o111 else "f"
                lines.append(f"{kind} {rel} {sha256_file(full)}")
    payload = "".join(line + "\n" for line in sorted(lines))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def remove_path(path: Path) -> None:
    """Remove a file, a link (not what it points at) or a whole folder; missing is fine."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=False)


def is_within(path: Path, root: Path) -> bool:
    """True when the resolved path lies inside the resolved root (links followed)."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
