"""Bundle layout: entry names, the bundle id, the file name and the receipt."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from common.clock import iso_z
from domain.oord.merkle import CID_PREFIX

MANIFEST = "manifest.json"
TL_PROOF = "tl_proof.json"
JWKS_SNAPSHOT = "jwks_snapshot.json"
RECEIPT = "receipt.txt"
FILES_PREFIX = "files/"
METADATA_ENTRIES = frozenset({MANIFEST, TL_PROOF, JWKS_SNAPSHOT, RECEIPT})
REQUIRED_ENTRIES = frozenset({MANIFEST, JWKS_SNAPSHOT, RECEIPT})

_NAME = re.compile(r"oord_bundle_([0-9a-f]{16})_([0-9a-f]{16})\.zip")


def bundle_id(entries: Iterable[tuple[str, str]]) -> str:
    """First 16 hex of sha256 over every entry's name and its content's sha256 (the original's).

    Entries (name, sha256 hex) are taken sorted by name; each contributes its UTF-8 name
    followed by the raw 32 bytes of its digest, with no separators.
    """
    digest = hashlib.sha256()
    for name, sha in sorted(entries):
        digest.update(name.encode("utf-8") + bytes.fromhex(sha))
    return digest.hexdigest()[:16]


def bundle_file_name(root_cid: str, bid: str) -> str:
    root_hex = root_cid[len(CID_PREFIX):] if root_cid.startswith(CID_PREFIX) else root_cid
    return f"oord_bundle_{root_hex[:16]}_{bid}.zip"


def parse_bundle_file_name(name: str) -> tuple[str, str] | None:
    """(first 16 hex of the root, bundle id) from a bundle's file name, if it has the pattern."""
    match = _NAME.fullmatch(name)
    return (match.group(1), match.group(2)) if match else None


def receipt_text(manifest: dict[str, Any], tl_proof: dict[str, Any] | None) -> str:
    """A short human-readable summary; everything in it is also in the signed manifest."""
    files = manifest["files"]
    created = iso_z(_from_ms(manifest["created_at_ms"]))
    lines = [
        "oord bundle receipt v1",
        f"org_id: {manifest['org_id']}",
        f"batch_id: {manifest['batch_id']}",
        f"created_at: {created}",
        f"files: {len(files)}",
        f"bytes: {sum(f['size_bytes'] for f in files)}",
        f"merkle_root: {manifest['merkle']['root_cid']}",
        f"key_id: {manifest['key_id']}",
        f"tl_seq: {tl_proof['tl_seq'] if tl_proof else 'none'}",
    ]
    return "\n".join(lines) + "\n"


def _from_ms(ms: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC)
