"""write_atomic on a disk that fills up: the old file stays, no temp file, the path named."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from domain.chirality.atomic import write_atomic
from tests.support.tmpfs import small_tmpfs


def test_a_full_disk_keeps_the_old_file_and_names_the_new_one(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size_kib=64) as disk:
        target = disk.root / "C.jsonl"
        write_atomic(target, b"old\n")
        disk.fill(leave_bytes=8 * 1024)
        with pytest.raises(OSError) as caught:
            write_atomic(target, b"x" * 64 * 1024)
        # os.write() names no file; the caller's IO_ERROR needs details.path all the same.
        assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(target))
        assert target.read_bytes() == b"old\n"
        assert [p.name for p in disk.files()] == ["C.jsonl"]
