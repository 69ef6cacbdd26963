"""The built-in transparency log: append-only, idempotent per root, proofs that verify."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.oord.canonical import b64url
from domain.oord.keys import TrustedKeys
from domain.oord.tl import inclusion_holds, proof_shape_problem, signature_problem
from domain.oord.tl_local import LocalTransparencyLog
from store.oord_tl import entry_count, get_entry
from tests.support.oord import KeyPaths

ROOTS = [f"cid:sha256:{i:064x}" for i in range(6)]


@pytest.fixture
def log(open_tl: Callable[[], LocalTransparencyLog], db_url: str) -> LocalTransparencyLog:
    return open_tl()


def test_entries_get_consecutive_seqs_and_every_proof_holds(
        log: LocalTransparencyLog, keys: KeyPaths) -> None:
    proofs = [log.submit(root) for root in ROOTS]
    assert [p["tl_seq"] for p in proofs] == list(range(len(ROOTS)))
    trusted = TrustedKeys.load(keys.trusted_jwks)
    for proof in proofs:
        assert proof_shape_problem(proof) is None
        assert inclusion_holds(proof)
        assert signature_problem(proof, trusted) is None
        assert proof["tree_size"] == proof["tl_seq"] + 1


def test_submitting_a_logged_root_again_returns_the_same_proof(
        log: LocalTransparencyLog) -> None:
    first = log.submit(ROOTS[0])
    log.submit(ROOTS[1])
    assert log.submit(ROOTS[0]) == first
    assert entry_count() == 2
    stored = get_entry(first["tl_seq"])
    assert stored is not None and stored["merkle_root"] == ROOTS[0]


def test_altered_proofs_fail(log: LocalTransparencyLog, keys: KeyPaths) -> None:
    trusted = TrustedKeys.load(keys.trusted_jwks)
    for root in ROOTS[:3]:
        proof = log.submit(root)
    assert not inclusion_holds({**proof, "merkle_root": ROOTS[5]})
    assert not inclusion_holds({**proof, "t_log_ms": proof["t_log_ms"] + 1})
    assert signature_problem({**proof, "tl_seq": 0}, trusted) is not None
    assert signature_problem({**proof, "sth_sig": b64url(b"\0" * 64)}, trusted) is not None
    assert signature_problem({**proof, "signer_key_id": "someone"}, trusted) is not None
    assert proof_shape_problem({**proof, "tree_size": proof["tl_seq"]}) is not None
    assert proof_shape_problem({k: v for k, v in proof.items() if k != "sth_sig"}) is not None
