"""Stored or deflated."""

from __future__ import annotations

import gzip
import os

from domain.oord.compression import should_deflate


def test_text_is_deflated() -> None:
    assert should_deflate("files/log.txt", b"a line of text\n" * 1000)
    assert should_deflate("files/small", b"x")


def test_compressed_extensions_are_stored() -> None:
    for name in ("files/a.JPG", "files/b.zip", "files/c.tar.gz", "files/d.mp4", "files/e.docx"):
        assert not should_deflate(name, b"anything")


def test_compressed_content_is_stored_whatever_its_name() -> None:
    assert not should_deflate("files/data.bin", gzip.compress(b"x" * 10000))
    assert not should_deflate("files/noext", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert not should_deflate("files/random", os.urandom(65536))
