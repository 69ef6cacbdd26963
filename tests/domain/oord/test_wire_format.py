"""The original oord's wire format: known answers, and bundles crossing both ways.

VECTORS is a copy of ../shared/contracts/oord-vectors.json (answers computed by the
original's code), kept here as data so the tests do not depend on that folder.
tests/support/oord_reference.py is an independent implementation of the rules of
reference-facts.md: a bundle it builds must verify with ours, and ours with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.oord.bundle import bundle_id
from domain.oord.keyring import trust_keys
from domain.oord.keys import parse_jwks
from domain.oord.merkle import merkle_root, root_cid
from domain.oord.seal import SealResult
from domain.oord.tl import proof_shape_problem
from domain.oord.verify import VerifyReport
from tests.domain.oord.conftest import outcomes
from tests.support import oord_reference as ref
from tests.support.oord import Entry, KeyPaths, read_entries, replace_json, rewrite

VECTORS: list[dict[str, Any]] = [
    {
        "name": "one",
        "files": {"files/a.txt": "alpha\n"},
        "file_sha256": {
            "files/a.txt": "b6a98d9ce9a2d9149288fa3df42d377c3e42737afdcdaf714e33c0a100b51060",
        },
        "merkle_root": "cid:sha256:"
                       "3768eade20c5ee6bc6e3dacd0469862406d383553b7b744b9fe13c8320a379c6",
        "bundle_id_over_files_only": "7913e0748116c92b",
    },
    {
        "name": "three",
        "files": {"files/a.txt": "alpha\n", "files/b.txt": "bravo\n",
                  "files/sub/c.txt": "charlie\n"},
        "file_sha256": {
            "files/a.txt": "b6a98d9ce9a2d9149288fa3df42d377c3e42737afdcdaf714e33c0a100b51060",
            "files/b.txt": "5da8f23decf397b13f4f55b6fb8a61936238bfe08ed9d901132974f1beccc45c",
            "files/sub/c.txt": "999d1d048ee9123272dd9b718680551c83e867935b47c2650e6906dc22674e47",
        },
        "merkle_root": "cid:sha256:"
                       "d0bcd7c7a350c3f8c58c961b62cc21246900bd49ba28c9c7f250fc29e33efd42",
        "bundle_id_over_files_only": "81a53e089fbfe49e",
    },
]
IDS = [v["name"] for v in VECTORS]


# ---- known answers ---------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_our_merkle_root_and_bundle_id_give_the_originals_known_answers(
        vector: dict[str, Any]) -> None:
    digests = vector["file_sha256"]
    assert root_cid(merkle_root(list(digests.items()))) == vector["merkle_root"]
    assert bundle_id(digests.items()) == vector["bundle_id_over_files_only"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_the_reference_implementation_gives_the_same_known_answers(
        vector: dict[str, Any]) -> None:
    contents = {name: text.encode() for name, text in vector["files"].items()}
    assert ref.file_entries({n[len("files/"):]: d for n, d in contents.items()}) == [
        {"path": n, "sha256": vector["file_sha256"][n], "size_bytes": len(contents[n])}
        for n in sorted(contents)]
    assert ref.ref_merkle_root(vector["file_sha256"]) == vector["merkle_root"]
    assert ref.ref_bundle_id(contents) == vector["bundle_id_over_files_only"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_sealing_the_vector_files_gives_the_known_root(
        vector: dict[str, Any], seal_folder: Callable[..., SealResult]) -> None:
    files = {n[len("files/"):]: t.encode() for n, t in vector["files"].items()}
    assert seal_folder(files).merkle_root == vector["merkle_root"]


# ---- bundles across the two implementations --------------------------------------------------

PAYLOAD = {"a.txt": b"alpha\n", "b.txt": b"bravo\n", "sub/c.txt": b"charlie\n",
           "sub/d.bin": bytes(range(256)) * 7}


def _trust(core: ref.OriginalCore, keys: KeyPaths) -> None:
    trust_keys(parse_jwks(core.jwks), trusted_jwks=keys.trusted_jwks, replace=False)


def test_a_bundle_from_the_original_verifies_once_cores_keys_are_trusted(
        tmp_path: Path, keys: KeyPaths, verify: Callable[..., VerifyReport]) -> None:
    core = ref.OriginalCore(url="", jwks={}, signing_key=ref.Ed25519PrivateKey.generate(),
                            tl_key=ref.Ed25519PrivateKey.generate())
    core.jwks = {"keys": [ref.jwk_of(core.signing_key, "core-sign-1"),
                          ref.jwk_of(core.tl_key, "core-tl-1")]}
    bundle = ref.seal_like_the_original(core, PAYLOAD, tmp_path / "orig")
    proof = json.loads({i.filename: d for i, d in read_entries(bundle)}["tl_proof.json"])
    assert sorted(proof) == ["merkle_root", "proof_version", "signer_key_id", "sth_sig",
                             "t_log_ms", "tl_seq"]
    assert proof["tl_seq"] == 0
    # Not trusted yet: content is fine, the key is not
    before = verify(bundle)
    assert before.exit_code == 1 and outcomes(before)["key"] == "fail"
    assert outcomes(before)["merkle_root"] == "pass"
    _trust(core, keys)
    report = verify(bundle)
    assert report.exit_code == 0, report.checks
    assert outcomes(report) == {
        "archive": "pass", "manifest": "pass", "files": "pass", "merkle_root": "pass",
        "tl_proof": "pass", "key": "pass", "signature": "pass", "tl_signature": "pass",
        "tl_online": "skip", "bundle_name": "pass"}
    assert report.tl_proof is not None and report.tl_proof["tl_seq"] == 0


def test_our_bundle_verifies_with_the_reference_implementation(
        sealed: SealResult, keys: KeyPaths) -> None:
    trusted = json.loads(keys.trusted_jwks.read_text())
    assert ref.verify_bundle(sealed.bundle_path, trusted) == []
    # and the reference verifier is not a rubber stamp: another key set fails it
    other = {"keys": [ref.jwk_of(ref.Ed25519PrivateKey.generate(), kid)
                      for kid in (sealed.key_id,)]}
    assert "manifest signature" in ref.verify_bundle(sealed.bundle_path, other)


def test_the_reference_rejects_a_bundle_whose_file_was_altered(
        sealed: SealResult, keys: KeyPaths, tmp_path: Path) -> None:
    def alter(entries: list[Entry]) -> list[Entry]:
        return [(i, d + b"!" if i.filename == "files/a.txt" else d) for i, d in entries]

    altered = rewrite(sealed.bundle_path, tmp_path / sealed.bundle_path.name, alter)
    problems = ref.verify_bundle(altered, json.loads(keys.trusted_jwks.read_text()))
    assert "hash or size of files/a.txt" in problems and "bundle name" in problems[-1]


# ---- the TL proof ----------------------------------------------------------------------------

SIX = {"proof_version": "1.0", "tl_seq": 0, "merkle_root": "cid:sha256:" + "0" * 64,
       "sth_sig": "c2ln", "t_log_ms": 1, "signer_key_id": "k"}


def test_a_proof_of_exactly_the_six_fields_with_tl_seq_0_is_well_formed() -> None:
    assert proof_shape_problem(SIX) is None


@pytest.mark.parametrize("partial", [{"tree_size": 1}, {"tree_root": "0" * 64},
                                     {"inclusion_path": []}, {"tree_head_sig": "x"}])
def test_a_partial_tree_extension_is_malformed(partial: dict[str, Any]) -> None:
    problem = proof_shape_problem({**SIX, **partial})
    assert problem is not None and "tree extension" in problem


def test_an_altered_tree_extension_fails_when_present(
        sealed: SealResult, tmp_path: Path, verify: Callable[..., VerifyReport]) -> None:
    altered = rewrite(sealed.bundle_path, tmp_path / sealed.bundle_path.name,
                      lambda entries: replace_json(entries, "tl_proof.json",
                                                   lambda p: p.update(tree_size=5)))
    report = verify(altered)
    assert report.exit_code == 1 and outcomes(report)["tl_proof"] == "fail"


def test_our_proof_without_its_tree_extension_still_verifies(
        sealed: SealResult, tmp_path: Path, verify: Callable[..., VerifyReport]) -> None:
    def six_only(proof: dict[str, Any]) -> None:
        for key in set(proof) - set(SIX):
            del proof[key]

    # Stripping the extension changes the bundle id: give the copy another name
    stripped = rewrite(sealed.bundle_path, tmp_path / "stripped.zip",
                       lambda entries: replace_json(entries, "tl_proof.json", six_only))
    report = verify(stripped)
    assert report.exit_code == 0, report.checks
    assert "no tree extension" in next(c.detail for c in report.checks if c.name == "tl_proof")


# ---- bundles of earlier Conveyor versions ----------------------------------------------------

def test_a_root_by_the_earlier_hex_rule_fails_with_a_detail_that_says_so(
        sealed: SealResult, tmp_path: Path, verify: Callable[..., VerifyReport]) -> None:
    from domain.oord.merkle import legacy_hex_root

    def old_root(manifest: dict[str, Any]) -> None:
        files = [(f["path"], f["sha256"]) for f in manifest["files"]]
        manifest["merkle"]["root_cid"] = root_cid(legacy_hex_root(files))

    old = rewrite(sealed.bundle_path, tmp_path / "old.zip",
                  lambda entries: replace_json(entries, "manifest.json", old_root))
    check = next(c for c in verify(old).checks if c.name == "merkle_root")
    assert check.outcome == "fail"
    assert "hex rule of Conveyor versions before" in check.detail
    assert "seal the folder again" in check.detail
