"""The binary Merkle tree: known answers computed independently, and inclusion paths."""

from __future__ import annotations

import hashlib

import pytest

from domain.oord.merkle import (
    EMPTY_ROOT,
    inclusion_path,
    leaf_hash,
    legacy_hex_root,
    merkle_root,
    node_hash,
    root_from_path,
    root_of_leaves,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


D = {name: _sha(name) for name in ("a", "b", "c", "d", "e")}
RAW = {name: bytes.fromhex(digest) for name, digest in D.items()}


def test_leaf_and_node_hash_the_raw_32_byte_digests() -> None:
    assert leaf_hash(D["a"]) == _h(b"leaf:" + RAW["a"]).hex()
    assert node_hash(D["a"], D["b"]) == _h(b"node:" + RAW["a"] + RAW["b"]).hex()


def test_three_files_sorted_by_path_odd_node_promoted() -> None:
    # Given files out of order
    files = [("files/c", D["c"]), ("files/a", D["a"]), ("files/b", D["b"])]
    # Then leaves are sorted by path, paired, and the odd last one goes up unchanged
    la, lb, lc = (_h(b"leaf:" + RAW[x]) for x in "abc")
    assert merkle_root(files) == _h(b"node:" + _h(b"node:" + la + lb) + lc).hex()


def test_five_files() -> None:
    files = [(f"files/{x}", D[x]) for x in "abcde"]
    a, b, c, d, e = (_h(b"leaf:" + RAW[x]) for x in "abcde")
    ab, cd = _h(b"node:" + a + b), _h(b"node:" + c + d)
    assert merkle_root(files) == _h(b"node:" + _h(b"node:" + ab + cd) + e).hex()


def test_the_earlier_hex_rule_gives_another_root_and_is_kept_for_diagnosis() -> None:
    """Conveyor's rule before the original's: hashes over the hex text (pinned answer)."""
    files = [("files/c", D["c"]), ("files/a", D["a"]), ("files/b", D["b"])]
    assert legacy_hex_root(files) == \
        "4a49582d81a097941fa4d4be0206164c99b2eb1c13fbca246377d9c1e139726e"
    assert legacy_hex_root(files) != merkle_root(files)


def test_single_file_root_is_its_leaf_and_empty_tree_is_sha256_of_nothing() -> None:
    assert merkle_root([("files/a", D["a"])]) == _h(b"leaf:" + RAW["a"]).hex()
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", range(1, 18))
def test_every_inclusion_path_leads_to_the_root(size: int) -> None:
    leaves = [leaf_hash(_sha(str(i))) for i in range(size)]
    root = root_of_leaves(leaves)
    for index in range(size):
        path = inclusion_path(leaves, index)
        assert root_from_path(leaves[index], index, size, path) == root


def test_a_wrong_leaf_index_or_path_does_not_reach_the_root() -> None:
    leaves = [leaf_hash(_sha(str(i))) for i in range(7)]
    root = root_of_leaves(leaves)
    path = inclusion_path(leaves, 3)
    assert root_from_path(leaves[3], 2, 7, path) != root
    assert root_from_path(leaves[4], 3, 7, path) != root
    assert root_from_path(leaves[3], 3, 7, path[:-1]) is None
    assert root_from_path(leaves[3], 3, 7, [*path, path[0]]) is None
    assert root_from_path(leaves[3], 9, 7, path) is None
