"""`oord keys`: create this host's keys, export their public half, trust other hosts' keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domain.oord.errors import KEY_ERROR, env_error, io_error
from domain.oord.keys import (
    PublicKey,
    TrustedKeys,
    generate_private_key,
    jwks,
    load_private_key,
    parse_jwks,
    public_of,
    write_json_atomic,
    write_private_key,
)


def _ensure_key(path: Path, what: str) -> tuple[PublicKey, bool]:
    if path.exists() or path.is_symlink():
        return public_of(load_private_key(path, what)), False
    try:
        key = generate_private_key()
        write_private_key(path, key)
    except FileExistsError:  # another init won the race: use its key
        return public_of(load_private_key(path, what)), False
    except OSError as exc:
        raise io_error(f"cannot write the {what}", exc) from None
    return public_of(key), True


def _load_trusted_or_empty(path: Path) -> list[PublicKey]:
    if not path.exists():
        return []
    return list(TrustedKeys.load(path).by_kid.values())


def _merge(existing: list[PublicKey], new: list[PublicKey], *,
           replace: bool) -> tuple[list[PublicKey], list[str]]:
    by_kid = {k.kid: k for k in existing}
    added = []
    for key in new:
        old = by_kid.get(key.kid)
        if old is not None and old.raw != key.raw and not replace:
            raise env_error(KEY_ERROR, f"the trusted set already has a different key with kid "
                            f"{key.kid!r} (use --replace to overwrite it)", {"kid": key.kid})
        if old is None or old.raw != key.raw:
            added.append(key.kid)
        by_kid[key.kid] = key
    return list(by_kid.values()), added


def _save_trusted(path: Path, keys: list[PublicKey]) -> None:
    try:
        write_json_atomic(path, jwks(keys))
    except OSError as exc:
        raise io_error("cannot write the trusted key set", exc) from None


def init_keys(*, signing_key: Path, tl_key: Path, trusted_jwks: Path) -> dict[str, Any]:
    """Create the signing and TL keys if missing; make sure this host trusts both."""
    signing, created_signing = _ensure_key(signing_key, "signing key")
    tl, created_tl = _ensure_key(tl_key, "transparency-log key")
    keys, _ = _merge(_load_trusted_or_empty(trusted_jwks), [signing, tl], replace=False)
    _save_trusted(trusted_jwks, keys)
    return {"created": created_signing or created_tl, "key_id": signing.kid,
            "tl_key_id": tl.kid, "signing_key": str(signing_key), "tl_key": str(tl_key),
            "trusted_jwks": str(trusted_jwks), "trusted_keys": len(keys)}


def export_keys(*, signing_key: Path, tl_key: Path) -> dict[str, Any]:
    """This host's public keys (signing and TL) as a JWKS another host can trust."""
    keys = [public_of(load_private_key(signing_key, "signing key"))]
    if tl_key.exists():
        keys.append(public_of(load_private_key(tl_key, "transparency-log key")))
    return jwks(keys)


def read_key_file(source: Path | None, data: bytes | None = None) -> list[PublicKey]:
    """Keys from a JWKS/JWK file (or the given bytes, for stdin)."""
    try:
        raw = data if data is not None else (source.read_bytes() if source else b"")
    except OSError as exc:
        raise io_error("cannot read the key file", exc) from None
    try:
        return parse_jwks(json.loads(raw.decode("utf-8")))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise env_error(KEY_ERROR, f"not a usable JWKS or JWK: {exc}") from None
    except RecursionError:  # json's parser recurses once per level of nesting
        raise env_error(KEY_ERROR, "not a usable JWKS or JWK: nested too deeply") from None


def trust_keys(keys: list[PublicKey], *, trusted_jwks: Path,
               replace: bool = False) -> dict[str, Any]:
    """Add keys to the trusted set (a kid already trusted with another key needs replace)."""
    if not keys:
        raise env_error(KEY_ERROR, "the key file holds no keys")
    merged, added = _merge(_load_trusted_or_empty(trusted_jwks), keys, replace=replace)
    _save_trusted(trusted_jwks, merged)
    return {"trusted_jwks": str(trusted_jwks), "added": added, "trusted_keys": len(merged)}
