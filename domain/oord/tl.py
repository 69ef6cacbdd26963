"""Transparency-log proofs (tl_proof.json): their format and the checks on them.

A log entry says "the root <cid> was logged as entry <seq> at <t_log_ms>". The log
signs the contract's message "seq=<n>|merkle_root=<cid>" (sth_sig) and, after each
append, a tree head over all its entries: the binary Merkle tree of
domain/oord/merkle.py whose leaves are sha256("seq=<n>|merkle_root=<cid>|t_log_ms=<t>").
The original's proof is exactly the six contract fields (proof_version, tl_seq,
merkle_root, sth_sig, t_log_ms, signer_key_id; its first entry is tl_seq 0). Our log
adds a tree extension: the head at the time of the append (tree_size, tree_root,
tree_head_sig) and the entry's inclusion path in it, so a verifier checks inclusion
offline. A verifier checks the extension when it is present and never requires it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from domain.oord.canonical import b64url_decode
from domain.oord.keys import PublicKey, TrustedKeys, verify_signature
from domain.oord.merkle import CID_PREFIX, leaf_hash, root_from_path

PROOF_VERSION = "1.0"
_HEX64 = re.compile(r"[0-9a-f]{64}")

_FIELDS: dict[str, type] = {
    "proof_version": str, "tl_seq": int, "merkle_root": str, "sth_sig": str, "t_log_ms": int,
    "signer_key_id": str,
}
# The tree extension: all four or none.
_TREE_FIELDS: dict[str, type] = {
    "tree_size": int, "tree_root": str, "inclusion_path": list, "tree_head_sig": str,
}


class TransparencyLog(Protocol):
    """What seal needs from a log: submit a root, get a proof; the keys that sign proofs."""

    def submit(self, merkle_root: str) -> dict[str, Any]: ...

    def public_keys(self) -> list[PublicKey]: ...


def entry_message(seq: int, merkle_root: str) -> bytes:
    return f"seq={seq}|merkle_root={merkle_root}".encode()


def leaf_digest(seq: int, merkle_root: str, t_log_ms: int) -> str:
    return hashlib.sha256(f"seq={seq}|merkle_root={merkle_root}|t_log_ms={t_log_ms}"
                          .encode()).hexdigest()


def entry_leaf(seq: int, merkle_root: str, t_log_ms: int) -> str:
    return leaf_hash(leaf_digest(seq, merkle_root, t_log_ms))


def tree_head_message(tree_size: int, tree_root: str) -> bytes:
    return f"tree_size={tree_size}|tree_root={tree_root}".encode()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def has_tree(proof: dict[str, Any]) -> bool:
    """Whether the proof carries the tree extension (checked by proof_shape_problem)."""
    return "tree_size" in proof


def _fields_problem(proof: dict[str, Any], fields: dict[str, type]) -> str | None:
    for key, kind in fields.items():
        value = proof.get(key)
        if value is None:
            return f"missing field {key!r}"
        if not isinstance(value, kind) or (kind is int and not _is_int(value)):
            return f"field {key!r} has the wrong type"
    return None


def proof_shape_problem(proof: Any) -> str | None:
    """What is wrong with a proof's fields, or None (tl_seq 0 is an entry like any other)."""
    if not isinstance(proof, dict):
        return "tl_proof.json is not a JSON object"
    problem = _fields_problem(proof, _FIELDS)
    if problem:
        return problem
    if proof["proof_version"] != PROOF_VERSION:
        return f"proof_version {proof['proof_version']!r} is not {PROOF_VERSION!r}"
    if not proof["merkle_root"].startswith(CID_PREFIX):
        return "merkle_root is not a cid:sha256 root"
    if proof["tl_seq"] < 0:
        return "tl_seq must not be negative"
    if not any(key in proof for key in _TREE_FIELDS):
        return None
    problem = _fields_problem(proof, _TREE_FIELDS)
    if problem:
        return f"incomplete tree extension: {problem}"
    if proof["tree_size"] <= proof["tl_seq"]:
        return "tl_seq must lie inside tree_size"
    if not _HEX64.fullmatch(proof["tree_root"]) or not all(
            isinstance(h, str) and _HEX64.fullmatch(h) for h in proof["inclusion_path"]):
        return "tree_root and inclusion_path must be sha256 hex"
    return None


def inclusion_holds(proof: dict[str, Any]) -> bool:
    """Whether the proof's entry is included in its tree head (offline; True without one)."""
    if not has_tree(proof):
        return True
    leaf = entry_leaf(proof["tl_seq"], proof["merkle_root"], proof["t_log_ms"])
    root = root_from_path(leaf, proof["tl_seq"], proof["tree_size"], proof["inclusion_path"])
    return root is not None and root == proof["tree_root"]


def signature_problem(proof: dict[str, Any], trusted: TrustedKeys) -> str | None:
    """Whether the log's key is trusted and both of its signatures hold; None if so."""
    key = trusted.get(proof["signer_key_id"])
    if key is None:
        return f"the log's key {proof['signer_key_id']!r} is not in the trusted key set"
    checks = [("sth_sig", entry_message(proof["tl_seq"], proof["merkle_root"]))]
    if has_tree(proof):
        checks.append(("tree_head_sig",
                       tree_head_message(proof["tree_size"], proof["tree_root"])))
    for field, message in checks:
        try:
            signature = b64url_decode(proof[field])
        except ValueError:
            return f"{field} is not base64url"
        if not verify_signature(key, message, signature):
            return f"{field} does not verify with the log's key {key.kid!r}"
    return None
