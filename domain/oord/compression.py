"""Stored or deflated: already-compressed content is stored, everything else deflated.

Decided from the extension, then from the first bytes (magic numbers of compressed
formats), then from a trial deflate of a small sample: data that does not shrink
there (encrypted, random, unknown compressed formats) is stored. The decision
depends on the content only, so it is deterministic.
"""

from __future__ import annotations

import zlib
from pathlib import PurePosixPath

SNIFF_BYTES = 64 * 1024
# A sample that deflates to more than this share of its size is not worth deflating.
MIN_SAVING_SHARE = 0.95
MIN_SAMPLE_BYTES = 4096

COMPRESSED_EXTENSIONS = frozenset({
    # archives and compressed streams
    ".zip", ".gz", ".tgz", ".bz2", ".tbz", ".xz", ".txz", ".zst", ".zstd", ".lz4", ".lz",
    ".lzma", ".7z", ".rar", ".br", ".z", ".cab", ".jar", ".war", ".apk", ".whl", ".deb",
    ".rpm", ".dmg", ".squashfs",
    # office documents (zip containers)
    ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub",
    # images, audio, video, fonts
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".avif", ".jp2", ".jxl",
    ".mp3", ".aac", ".m4a", ".ogg", ".opus", ".flac", ".mp4", ".m4v", ".mkv", ".mov",
    ".avi", ".webm", ".wmv", ".woff", ".woff2",
    # columnar data with its own compression
    ".parquet", ".orc", ".avro",
})

_MAGIC: tuple[bytes, ...] = (
    b"\x1f\x8b",            # gzip
    b"PK\x03\x04",          # zip and its containers
    b"\x89PNG\r\n\x1a\n",   # png
    b"\xff\xd8\xff",        # jpeg
    b"GIF87a", b"GIF89a",
    b"\x28\xb5\x2f\xfd",    # zstd
    b"\xfd7zXZ\x00",        # xz
    b"BZh",                 # bzip2
    b"7z\xbc\xaf\x27\x1c",  # 7z
    b"Rar!\x1a\x07",
    b"\x04\x22\x4d\x18",    # lz4 frame
    b"OggS", b"fLaC", b"ID3",
    b"wOF2", b"wOFF",
)


def _looks_compressed(head: bytes) -> bool:
    if head.startswith(_MAGIC):
        return True
    # ISO media (mp4, mov, heic, avif): "ftyp" at offset 4; RIFF WebP.
    return head[4:8] == b"ftyp" or (head.startswith(b"RIFF") and head[8:12] == b"WEBP")


def should_deflate(name: str, head: bytes) -> bool:
    """Whether an entry named ``name`` starting with ``head`` should be deflated."""
    if PurePosixPath(name).suffix.lower() in COMPRESSED_EXTENSIONS or _looks_compressed(head):
        return False
    if len(head) < MIN_SAMPLE_BYTES:
        return True
    sample = head[:SNIFF_BYTES]
    return len(zlib.compress(sample, 1)) <= MIN_SAVING_SHARE * len(sample)
