"""The built-in transparency log: entries in SQL, signed by the log's own Ed25519 key.

Submitting a root that is already logged returns its existing entry, so sealing the
same batch again yields the same proof (and so the same bundle).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from domain.oord.canonical import b64url
from domain.oord.keys import PublicKey, public_of
from domain.oord.merkle import inclusion_path, root_of_leaves
from domain.oord.tl import PROOF_VERSION, entry_leaf, entry_message, tree_head_message

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def now_ms() -> int:
    return int(time.time() * 1000)


def proof_from_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """tl_proof.json for a stored entry."""
    return {
        "proof_version": PROOF_VERSION,
        "tl_seq": int(entry["seq"]),
        "merkle_root": entry["merkle_root"],
        "sth_sig": entry["sth_sig"],
        "t_log_ms": int(entry["t_log_ms"]),
        "signer_key_id": entry["signer_key_id"],
        "tree_size": int(entry["tree_size"]),
        "tree_root": entry["tree_root"],
        "inclusion_path": list(entry["inclusion_path"]),
        "tree_head_sig": entry["tree_head_sig"],
    }


def public_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as `GET /v1/tl/entries/{seq}` serves it."""
    return {**proof_from_entry(entry), "seq": int(entry["seq"])}


class LocalTransparencyLog:
    def __init__(self, key: Ed25519PrivateKey, *, url: str | None = None) -> None:
        self._key = key
        self._public = public_of(key)
        self._url = url

    def public_keys(self) -> list[PublicKey]:
        return [self._public]

    def submit(self, merkle_root: str) -> dict[str, Any]:
        from store.oord_tl import append_transaction

        with append_transaction(self._url) as log:
            existing = log.find(merkle_root)
            if existing is not None:
                return proof_from_entry(existing)
            leaves = log.leaf_hashes()
            entry = self._new_entry(len(leaves), merkle_root, leaves)
            log.insert(entry)
        return proof_from_entry(entry)

    def _new_entry(self, seq: int, merkle_root: str, leaves: list[str]) -> dict[str, Any]:
        t_log_ms = now_ms()
        leaf = entry_leaf(seq, merkle_root, t_log_ms)
        tree = [*leaves, leaf]
        tree_root = root_of_leaves(tree)
        return {
            "seq": seq,
            "merkle_root": merkle_root,
            "t_log_ms": t_log_ms,
            "leaf_hash": leaf,
            "signer_key_id": self._public.kid,
            "sth_sig": b64url(self._key.sign(entry_message(seq, merkle_root))),
            "tree_size": len(tree),
            "tree_root": tree_root,
            "tree_head_sig": b64url(self._key.sign(tree_head_message(len(tree), tree_root))),
            "inclusion_path": inclusion_path(tree, seq),
        }
