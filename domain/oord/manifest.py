"""Manifest v1: what a bundle holds, its Merkle root, and the signature over it."""

from __future__ import annotations

import re
from typing import Any

from domain.oord.canonical import canonical_json
from domain.oord.merkle import CID_PREFIX, TREE_ALG
from domain.oord.names import id_problem, relpath_problem

MANIFEST_VERSION = "1.0"
HASH_ALG = "sha256"
FILES_PREFIX = "files/"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "manifest_version": str, "org_id": str, "batch_id": str, "created_at_ms": int,
    "key_id": str, "hash_alg": str, "merkle": dict, "files": list, "signature": str,
}


def build_manifest(*, org_id: str, batch_id: str, created_at_ms: int, key_id: str,
                   root_hex: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest without its signature (files: path, sha256, size_bytes; sorted by path)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "org_id": org_id,
        "batch_id": batch_id,
        "created_at_ms": created_at_ms,
        "key_id": key_id,
        "hash_alg": HASH_ALG,
        "merkle": {"root_cid": CID_PREFIX + root_hex, "tree_alg": TREE_ALG},
        "files": sorted(files, key=lambda f: f["path"]),
    }


def signing_payload(manifest: dict[str, Any]) -> bytes:
    """The bytes the signature covers: the canonical manifest without its signature field."""
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _file_problem(index: int, item: Any) -> str | None:
    where = f"files[{index}]"
    if not isinstance(item, dict):
        return f"{where} is not an object"
    path, digest, size = item.get("path"), item.get("sha256"), item.get("size_bytes")
    if not isinstance(path, str) or not path.startswith(FILES_PREFIX):
        return f"{where}.path must start with {FILES_PREFIX!r}"
    problem = relpath_problem(path[len(FILES_PREFIX):])
    if problem:
        return f"{where}.path {path!r} has {problem}"
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        return f"{where}.sha256 must be 64 lowercase hex digits"
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return f"{where}.size_bytes must be a non-negative integer"
    return None


def _top_level_problem(data: dict[str, Any]) -> str | None:
    for key, kind in _REQUIRED.items():
        if key not in data:
            return f"missing field {key!r}"
        if not isinstance(data[key], kind) or (kind is int and not _is_int(data[key])):
            return f"field {key!r} has the wrong type"
    if data["manifest_version"] != MANIFEST_VERSION:
        return f"manifest_version {data['manifest_version']!r} is not {MANIFEST_VERSION!r}"
    if data["hash_alg"] != HASH_ALG:
        return f"hash_alg {data['hash_alg']!r} is not {HASH_ALG!r}"
    for key in ("org_id", "batch_id"):
        problem = id_problem(data[key])
        if problem:
            return f"{key} {data[key]!r} {problem}"
    merkle = data["merkle"]
    if merkle.get("tree_alg") != TREE_ALG:
        return f"merkle.tree_alg must be {TREE_ALG!r}"
    root = merkle.get("root_cid")
    if not isinstance(root, str) or not root.startswith(CID_PREFIX) \
            or not _HEX64.fullmatch(root[len(CID_PREFIX):]):
        return f"merkle.root_cid must be {CID_PREFIX}<64 hex>"
    return None


def manifest_problem(data: Any) -> str | None:
    """What is wrong with a parsed manifest's shape, or None if it is a valid v1 manifest."""
    if not isinstance(data, dict):
        return "the manifest is not a JSON object"
    problem = _top_level_problem(data)
    if problem:
        return problem
    seen: set[str] = set()
    for index, item in enumerate(data["files"]):
        problem = _file_problem(index, item)
        if problem:
            return problem
        if item["path"] in seen:
            return f"files lists {item['path']!r} twice"
        seen.add(item["path"])
    return None
