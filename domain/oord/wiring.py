"""Building seal's signer and log, and verify's options, from the settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.oord import OordSettings
from domain.oord.archive import Limits
from domain.oord.keys import load_private_key
from domain.oord.signers import CoreSigner, LocalSigner, Signer
from domain.oord.tl import TransparencyLog
from domain.oord.verify import VerifyOptions


def make_signer(settings: OordSettings, *, core_url: str | None = None,
                api_key: str | None = None) -> Signer:
    """Core's signatures when a Core URL is given, else the local signing key."""
    url = core_url or settings.core_url
    if url and settings.core_api == "original":
        from domain.oord.core_original import OriginalCoreSigner

        return OriginalCoreSigner(url, api_key=api_key or settings.api_key)
    if url:
        return CoreSigner(url, api_key=api_key or settings.api_key)
    return LocalSigner(load_private_key(settings.signing_key, "signing key"))


def tl_opener(settings: OordSettings) -> Callable[[], TransparencyLog]:
    """Opens the built-in log when seal first needs it (its key, then the database)."""
    def open_log() -> TransparencyLog:
        from domain.oord.tl_local import LocalTransparencyLog

        return LocalTransparencyLog(load_private_key(settings.tl_key, "transparency-log key"))

    return open_log


def limits(settings: OordSettings) -> Limits:
    return Limits(max_total_bytes=settings.max_bundle_bytes, max_entries=settings.max_entries,
                  max_ratio=settings.max_ratio)


def verify_options(settings: OordSettings, *, strict: bool = False, tl_url: str | None = None,
                   trusted_jwks: Path | None = None, extract_to: Path | None = None,
                   progress: Callable[[int], None] | None = None) -> VerifyOptions:
    return VerifyOptions(trusted_jwks=trusted_jwks or settings.trusted_jwks,
                         limits=limits(settings), strict=strict,
                         tl_url=tl_url or settings.tl_url, extract_to=extract_to,
                         progress=progress)
