"""The deterministic ZIP writer: readable by zipfile, byte-identical, ZIP64, stored fallback."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest

from domain.oord.zipwriter import DEFLATED, STORED, InputChanged, ZipWriter


def _write(entries: list[tuple[str, bytes, bool]], **options: int) -> bytes:
    buffer = io.BytesIO()
    writer = ZipWriter(buffer, **options)
    for name, data, deflate in entries:
        writer.add_bytes(name, data, deflate=deflate)
    writer.close()
    return buffer.getvalue()


ENTRIES = [("a.txt", b"text " * 500, True), ("b/c.bin", os.urandom(3000), False),
           ("d/empty", b"", True)]


def test_zipfile_reads_every_entry_with_fixed_metadata() -> None:
    archive = zipfile.ZipFile(io.BytesIO(_write(ENTRIES)))
    assert archive.testzip() is None
    for (name, data, _), info in zip(ENTRIES, archive.infolist(), strict=True):
        assert info.filename == name
        assert archive.read(info) == data
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3
    assert archive.getinfo("a.txt").compress_type == DEFLATED
    assert archive.getinfo("b/c.bin").compress_type == STORED


def test_same_entries_same_bytes() -> None:
    assert _write(ENTRIES) == _write(ENTRIES)


def test_zip64_records_are_read_back() -> None:
    # A low limit forces ZIP64 sizes, offsets and end records on small data.
    data = _write([*ENTRIES, ("e/big", b"z" * 5000, True)], zip64_limit=1000)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.read("e/big") == b"z" * 5000
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data


def test_entries_must_be_added_in_strictly_increasing_order() -> None:
    writer = ZipWriter(io.BytesIO())
    writer.add_bytes("b", b"1", deflate=False)
    with pytest.raises(ValueError, match="increasing"):
        writer.add_bytes("a", b"2", deflate=False)
    with pytest.raises(ValueError, match="increasing"):
        writer.add_bytes("b", b"2", deflate=False)


def test_incompressible_or_extreme_ratio_data_is_rewritten_stored() -> None:
    random_data = os.urandom(50_000)
    zeros = b"\0" * (3 << 20)  # deflates ~1000:1, above the writer's 100:1 ceiling
    archive = zipfile.ZipFile(io.BytesIO(_write([("r", random_data, True), ("z", zeros, True)])))
    assert archive.getinfo("r").compress_type == STORED
    assert archive.getinfo("z").compress_type == STORED
    assert archive.read("z") == zeros


def test_the_sha256_of_each_entry_is_reported() -> None:
    writer = ZipWriter(io.BytesIO())
    entry = writer.add_bytes("x", b"abc", deflate=True)
    assert entry.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert entry.size == 3


def test_a_source_shorter_than_announced_is_refused() -> None:
    writer = ZipWriter(io.BytesIO())
    with pytest.raises(InputChanged):
        writer.add_stream("x", io.BytesIO(b"abc"), 10, deflate=False)
