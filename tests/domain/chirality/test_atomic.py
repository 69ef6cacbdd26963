"""write_temp on a disk that fills up: nothing left behind, and the error names the file."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from domain.chirality.atomic import write_temp
from tests.support.tmpfs import small_tmpfs


def test_a_temp_file_is_written_whole_beside_its_target(tmp_path: Path) -> None:
    target = tmp_path / "C.jsonl"
    temp = write_temp(target, b"data\n")
    assert temp.parent == target.parent and temp.name.startswith(".C.jsonl.")
    assert temp.read_bytes() == b"data\n" and not target.exists()


def test_a_full_disk_leaves_nothing_and_names_the_target(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size_kib=64) as disk:
        disk.fill(leave_bytes=8 * 1024)
        target = disk.root / "C.jsonl"
        with pytest.raises(OSError) as caught:
            write_temp(target, b"x" * 64 * 1024)
        # os.write() names no file; the caller's IO_ERROR needs details.path all the same.
        assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(target))
        assert disk.files() == []
