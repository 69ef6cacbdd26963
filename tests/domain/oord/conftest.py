"""Fixtures for oord's domain tests: keys, a sealed sample bundle, a verify shortcut."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.oord.archive import Limits
from domain.oord.keys import load_private_key
from domain.oord.seal import SealRequest, SealResult, seal
from domain.oord.signers import LocalSigner
from domain.oord.tl_local import LocalTransparencyLog
from domain.oord.verify import VerifyOptions, VerifyReport, verify_bundle
from tests.support.oord import SAMPLE_FILES, KeyPaths, make_keys, make_tree

LIMITS = Limits(max_total_bytes=1 << 40, max_entries=10_000, max_ratio=200.0)


@pytest.fixture
def keys(tmp_path: Path) -> KeyPaths:
    return make_keys(tmp_path / "keys")


@pytest.fixture
def signer(keys: KeyPaths) -> LocalSigner:
    return LocalSigner(load_private_key(keys.signing_key))


@pytest.fixture
def open_tl(keys: KeyPaths) -> Callable[[], LocalTransparencyLog]:
    return lambda: LocalTransparencyLog(load_private_key(keys.tl_key))


@pytest.fixture
def seal_folder(tmp_path: Path, signer: LocalSigner,
                open_tl: Callable[[], LocalTransparencyLog]) -> Callable[..., SealResult]:
    """seal_folder(files, **request fields) -> SealResult, into tmp_path/out."""
    counter = iter(range(1000))

    def run(files: dict[str, bytes] | None = None, **fields: Any) -> SealResult:
        source = make_tree(tmp_path / f"in{next(counter)}", files or SAMPLE_FILES)
        request = SealRequest(input_dir=source, out_dir=fields.pop("out_dir", tmp_path / "out"),
                              org_id=fields.pop("org_id", "ORG-TEST"),
                              batch_id=fields.pop("batch_id", "batch-1"), **fields)
        return seal(request, signer=signer, open_tl=open_tl)

    return run


@pytest.fixture
def sealed(seal_folder: Callable[..., SealResult]) -> SealResult:
    return seal_folder()


@pytest.fixture
def verify(keys: KeyPaths) -> Callable[..., VerifyReport]:
    def run(path: Path, **options: Any) -> VerifyReport:
        options.setdefault("trusted_jwks", keys.trusted_jwks)
        options.setdefault("limits", LIMITS)
        return verify_bundle(path, VerifyOptions(**options))

    return run


def outcomes(report: VerifyReport) -> dict[str, str]:
    return {check.name: check.outcome for check in report.checks}
