"""The binary Merkle tree of manifest v1 ("binary_merkle_sha256").

The original oord's rule (../shared/contracts/reference-facts.md): leaf =
sha256(b"leaf:" + the file's raw 32-byte digest), node = sha256(b"node:" + left +
right) over raw 32-byte hashes; leaves are sorted by path; an odd last node is
promoted to the next level unchanged. Hex appears only at the edges: the functions
take and return lowercase hex, and the root becomes "cid:sha256:<hex>". The
transparency log uses the same tree over its entries, in log order.

Conveyor before this rule hashed the hex text instead (``legacy_hex_root``): kept only
so verify can say that a root follows the old rule rather than just "mismatch".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

TREE_ALG = "binary_merkle_sha256"
CID_PREFIX = "cid:sha256:"
# The root of a tree without leaves: sha256 of nothing (a sealed empty folder has it).
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_hash(digest_hex: str) -> str:
    """ValueError if ``digest_hex`` is not hex (verify checks the manifest's digests first)."""
    return hashlib.sha256(b"leaf:" + bytes.fromhex(digest_hex)).hexdigest()


def node_hash(left_hex: str, right_hex: str) -> str:
    data = b"node:" + bytes.fromhex(left_hex) + bytes.fromhex(right_hex)
    return hashlib.sha256(data).hexdigest()


def _next_level(level: Sequence[str], node: Callable[[str, str], str] = node_hash) -> list[str]:
    pairs = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        pairs.append(level[-1])  # the odd last node goes up unchanged
    return pairs


def root_of_leaves(leaves: Sequence[str]) -> str:
    """The root over already-hashed leaves, in the order given."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def merkle_root(files: Sequence[tuple[str, str]]) -> str:
    """The root over (path, sha256 hex) pairs: leaves sorted by path."""
    return root_of_leaves([leaf_hash(digest) for _, digest in sorted(files)])


def legacy_hex_root(files: Sequence[tuple[str, str]]) -> str:
    """The root under Conveyor's earlier rule (hashes over the hex text): diagnosis only."""
    def node(left: str, right: str) -> str:
        return hashlib.sha256(b"node:" + left.encode() + right.encode()).hexdigest()

    level = [hashlib.sha256(b"leaf:" + digest.encode()).hexdigest() for _, digest in sorted(files)]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        level = _next_level(level, node)
    return level[0]


def root_cid(root_hex: str) -> str:
    return CID_PREFIX + root_hex


def inclusion_path(leaves: Sequence[str], index: int) -> list[str]:
    """The sibling hashes from leaf ``index`` up to the root (promoted levels add none)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} outside a tree of {len(leaves)}")
    path: list[str] = []
    level = list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        level = _next_level(level)
        index //= 2
    return path


def root_from_path(leaf: str, index: int, tree_size: int, path: Sequence[str]) -> str | None:
    """The root an inclusion path leads to, or None if the path has the wrong shape."""
    if not 0 <= index < tree_size:
        return None
    node, width, remaining = leaf, tree_size, list(path)
    while width > 1:
        if index % 2 == 1:
            if not remaining:
                return None
            node = node_hash(remaining.pop(0), node)
        elif index + 1 < width:
            if not remaining:
                return None
            node = node_hash(node, remaining.pop(0))
        index //= 2
        width = (width + 1) // 2
    return node if not remaining else None
