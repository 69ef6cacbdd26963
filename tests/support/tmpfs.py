"""A small tmpfs mounted for one test, to run a command on a (nearly) full disk."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.env import skip_or_fail

FILLER = ".disk-filler"
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Tmpfs:
    root: Path

    def free_bytes(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def fill(self, *, leave_bytes: int) -> None:
        """Take all the free space but about ``leave_bytes`` (a page or two of slack)."""
        remaining = self.free_bytes() - leave_bytes
        fd = os.open(self.root / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while remaining > 0:
                remaining -= os.write(fd, bytes(min(CHUNK_BYTES, remaining)))
        except OSError:  # full already (tmpfs counts whole pages)
            pass
        finally:
            os.close(fd)

    def free(self) -> None:
        (self.root / FILLER).unlink(missing_ok=True)

    def files(self) -> list[Path]:
        """Every file and link on it but the filler (what a command left behind)."""
        return sorted(path for path in self.root.rglob("*")
                      if path.name != FILLER and not (path.is_dir() and not path.is_symlink()))


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


@contextlib.contextmanager
def small_tmpfs(folder: Path, *, size_kib: int) -> Iterator[Tmpfs]:
    """Mount a tmpfs of ``size_kib`` at ``folder`` (created if missing); always unmount it."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs",
                   str(folder))
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs at {folder} (needs root or CAP_SYS_ADMIN): "
                     f"{mounted.stderr.strip()}")
    try:
        yield Tmpfs(folder)
    finally:
        # A lazy unmount as the fallback: a process still holding a file there (a command
        # the test killed) must not leave the mount behind.
        if _run("umount", str(folder)).returncode != 0:
            _run("umount", "-l", str(folder))
