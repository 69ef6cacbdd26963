"""Keys: files with mode 0600, JWK thumbprints, the trusted set."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.oord.canonical import b64url_decode
from domain.oord.keyring import export_keys, init_keys, read_key_file, trust_keys
from domain.oord.keys import (
    PublicKey,
    TrustedKeys,
    load_private_key,
    parse_jwk,
    thumbprint,
    verify_signature,
)
from tests.support.oord import KeyPaths, make_keys


def test_rfc8037_thumbprint_known_answer() -> None:
    # RFC 8037, appendix A.3: the thumbprint of the example Ed25519 key.
    raw = b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    assert thumbprint(raw) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_init_creates_private_keys_readable_by_the_owner_only(keys: KeyPaths) -> None:
    for path in (keys.signing_key, keys.tl_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    trusted = TrustedKeys.load(keys.trusted_jwks)
    assert len(trusted) == 2


def test_init_is_idempotent(tmp_path: Path) -> None:
    first = make_keys(tmp_path)
    before = first.signing_key.read_bytes()
    again = init_keys(signing_key=first.signing_key, tl_key=first.tl_key,
                      trusted_jwks=first.trusted_jwks)
    assert again["created"] is False
    assert first.signing_key.read_bytes() == before
    assert again["trusted_keys"] == 2


def test_a_key_file_open_to_others_is_refused(keys: KeyPaths) -> None:
    os.chmod(keys.signing_key, 0o644)
    with pytest.raises(ContractError) as caught:
        load_private_key(keys.signing_key)
    assert caught.value.exit_code == 2
    assert "chmod 600" in caught.value.message


def test_export_holds_public_keys_only(keys: KeyPaths) -> None:
    exported = export_keys(signing_key=keys.signing_key, tl_key=keys.tl_key)
    assert len(exported["keys"]) == 2
    assert all("d" not in key and key["kty"] == "OKP" for key in exported["keys"])


def test_trust_merges_and_refuses_a_different_key_under_a_known_kid(
        keys: KeyPaths, tmp_path: Path) -> None:
    other = make_keys(tmp_path / "other")
    exported = export_keys(signing_key=other.signing_key, tl_key=other.tl_key)
    result = trust_keys(parse_keys(exported), trusted_jwks=keys.trusted_jwks)
    assert len(result["added"]) == 2 and result["trusted_keys"] == 4
    # The same keys again add nothing.
    assert trust_keys(parse_keys(exported), trusted_jwks=keys.trusted_jwks)["added"] == []
    clash = dict(exported["keys"][0], x=exported["keys"][1]["x"])
    with pytest.raises(ContractError, match="--replace"):
        trust_keys([parse_jwk(clash)], trusted_jwks=keys.trusted_jwks)
    assert trust_keys([parse_jwk(clash)], trusted_jwks=keys.trusted_jwks,
                      replace=True)["added"] == [clash["kid"]]


def parse_keys(data: dict[str, object]) -> list[PublicKey]:
    return read_key_file(None, json.dumps(data).encode())


@pytest.mark.parametrize("bad", [
    {"kty": "RSA", "n": "x"},
    {"kty": "OKP", "crv": "Ed25519", "x": "short"},
    {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "x"},
])
def test_unusable_jwks_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ContractError):
        read_key_file(None, json.dumps({"keys": [bad]}).encode())


def test_a_missing_trusted_set_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as caught:
        TrustedKeys.load(tmp_path / "none.json")
    assert caught.value.exit_code == 2


def test_signatures_verify_only_with_the_right_key(keys: KeyPaths, tmp_path: Path) -> None:
    key = load_private_key(keys.signing_key)
    other = load_private_key(make_keys(tmp_path / "o").signing_key)
    from domain.oord.keys import public_of

    signature = key.sign(b"message")
    assert verify_signature(public_of(key), b"message", signature)
    assert not verify_signature(public_of(key), b"messagE", signature)
    assert not verify_signature(public_of(other), b"message", signature)
    assert not verify_signature(public_of(key), b"message", signature[:-1])


@pytest.mark.parametrize("data", [b'{"keys": "\xff\xfe"}', b"[" * 100_000])
def test_key_files_that_are_not_utf8_or_nest_too_deeply_are_key_errors(
        tmp_path: Path, data: bytes) -> None:
    # UnicodeDecodeError and RecursionError escaped as internal errors before.
    path = tmp_path / "their.jwks.json"
    path.write_bytes(data)
    for source, given in ((path, None), (None, data)):
        with pytest.raises(ContractError) as caught:
            read_key_file(source, given)
        assert (caught.value.code, caught.value.exit_code) == ("KEY_ERROR", 2)


def test_a_trusted_set_nested_too_deeply_is_a_key_error(tmp_path: Path) -> None:
    path = tmp_path / "trusted.json"
    path.write_bytes(b"[" * 100_000)
    with pytest.raises(ContractError) as caught:
        TrustedKeys.load(path)
    assert (caught.value.code, caught.value.exit_code) == ("KEY_ERROR", 2)
