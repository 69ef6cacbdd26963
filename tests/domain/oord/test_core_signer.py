"""Signing through a Core service (a real HTTP server with its own key)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.oord.keyring import trust_keys
from domain.oord.keys import parse_jwks
from domain.oord.seal import SealRequest, seal
from domain.oord.signers import CoreSigner
from domain.oord.verify import VerifyReport
from tests.support.oord import SAMPLE_FILES, KeyPaths, core_server, make_tree
from workers.ports import free_port


def _request(tmp_path: Path) -> SealRequest:
    return SealRequest(input_dir=make_tree(tmp_path / "in", SAMPLE_FILES),
                       out_dir=tmp_path / "out", org_id="ORG", batch_id="b", tl_mode="none")


def test_a_bundle_signed_by_core_verifies_once_core_is_trusted(
        tmp_path: Path, keys: KeyPaths, verify: Callable[..., VerifyReport]) -> None:
    with core_server(api_key="s3cret") as core:
        result = seal(_request(tmp_path), signer=CoreSigner(core.url, api_key="s3cret"))
        assert core.requests[-1]["auth"] == "Bearer s3cret"
        assert [r["path"] for r in core.requests] == ["/v1/keys", "/v1/sign"]
    assert result.key_id == "core-key-1"
    # Not trusted yet: the key set inside the bundle does not count.
    assert verify(result.bundle_path).exit_code == 1
    trust_keys(parse_jwks(core.public_jwks), trusted_jwks=keys.trusted_jwks)
    assert verify(result.bundle_path).exit_code == 0


def _error(run: Callable[[], object]) -> ContractError:
    with pytest.raises(ContractError) as caught:
        run()
    assert caught.value.exit_code == 2
    return caught.value


def test_core_unreachable_is_an_environment_error() -> None:
    error = _error(lambda: CoreSigner(f"http://127.0.0.1:{free_port()}", timeout_s=2))
    assert error.code == "CORE_UNAVAILABLE"


def test_a_rejected_api_key_and_a_bad_signature_are_environment_errors(
        tmp_path: Path) -> None:
    with core_server(api_key="right") as core:
        assert _error(lambda: CoreSigner(core.url, api_key="wrong")).code == "CORE_ERROR"
    with core_server(bad_signatures=True) as core:
        signer = CoreSigner(core.url)
        assert _error(lambda: seal(_request(tmp_path), signer=signer)).code == "CORE_ERROR"
    assert not list((tmp_path / "out").glob("*"))
