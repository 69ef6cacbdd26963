"""Ed25519 keys as files and JWKs; the trusted key set a verifier checks against.

`cryptography` is imported inside the functions that need it, so commands that
never touch a key do not pay for it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.oord.canonical import b64url, b64url_decode, canonical_json
from domain.oord.errors import KEY_ERROR, env_error, io_error

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PRIVATE_KEY_MODE = 0o600
ED25519_PUBLIC_BYTES = 32
ED25519_SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class PublicKey:
    """One trusted Ed25519 public key."""

    kid: str
    raw: bytes

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(self.raw), "kid": self.kid,
                "use": "sig", "alg": "EdDSA"}


def thumbprint(raw: bytes) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key: its key id."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    return b64url(hashlib.sha256(canonical_json(members)).digest())


# ---- private keys ------------------------------------------------------------------------

def generate_private_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Create the key file with mode 0600 from the start (never readable by others),
    in a folder of the owner's only when this creates it (whatever the umask)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_KEY_MODE)
    pem = private_key_pem(key)
    try:
        try:
            if os.write(fd, pem) != len(pem):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        # A short key file would be taken for a broken key by every later command, and
        # `keys init` would never write it again: gone, so a retry starts afresh.
        path.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def load_private_key(path: Path, what: str = "signing key") -> Ed25519PrivateKey:
    """The Ed25519 key in ``path``; KEY_ERROR (exit 2) if missing, open to others or not one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        info = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise env_error(KEY_ERROR, f"no {what} at {path}: run `oord keys init`",
                        {"path": str(path)}) from None
    except OSError as exc:
        raise io_error(f"cannot read the {what}", exc) from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise env_error(KEY_ERROR, f"the {what} {path} is readable by others "
                        f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it",
                        {"path": str(path)})
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise env_error(KEY_ERROR, f"the {what} {path} is not a readable PEM key: {exc}",
                        {"path": str(path)}) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise env_error(KEY_ERROR, f"the {what} {path} is not an Ed25519 key",
                        {"path": str(path)})
    return key


def public_of(key: Ed25519PrivateKey) -> PublicKey:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return PublicKey(thumbprint(raw), raw)


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


def verify_signature(public: PublicKey, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(signature) != ED25519_SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public.raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# ---- JWKS --------------------------------------------------------------------------------

def parse_jwk(data: Any) -> PublicKey:
    """A JWK as a PublicKey; ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a key must be a JSON object")
    if data.get("kty") != "OKP" or data.get("crv") != "Ed25519":
        raise ValueError("only OKP/Ed25519 keys are supported")
    raw = b64url_decode(data.get("x", ""))
    if len(raw) != ED25519_PUBLIC_BYTES:
        raise ValueError("x must be a 32-byte Ed25519 public key")
    if "d" in data:
        raise ValueError("the key holds private material (d); share public keys only")
    kid = data.get("kid", thumbprint(raw))
    if not isinstance(kid, str) or not kid or len(kid) > 200:
        raise ValueError("kid must be a non-empty string")
    return PublicKey(kid, raw)


def parse_jwks(data: Any) -> list[PublicKey]:
    """Keys from a JWKS ({"keys": [...]}) or a single JWK; ValueError if malformed."""
    items = data.get("keys") if isinstance(data, dict) and "keys" in data else [data]
    if not isinstance(items, list):
        raise ValueError("keys must be a list")
    keys = [parse_jwk(item) for item in items]
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise ValueError("the key set names one kid twice")
    return keys


def jwks(keys: list[PublicKey]) -> dict[str, Any]:
    return {"keys": [k.jwk() for k in sorted(keys, key=lambda k: k.kid)]}


class TrustedKeys:
    """The verifier's trusted key set, by kid."""

    def __init__(self, keys: list[PublicKey]) -> None:
        self.by_kid = {k.kid: k for k in keys}

    def get(self, kid: str) -> PublicKey | None:
        return self.by_kid.get(kid)

    def __len__(self) -> int:
        return len(self.by_kid)

    @classmethod
    def load(cls, path: Path) -> TrustedKeys:
        """The set in ``path``; KEY_ERROR (exit 2) if it is missing, unreadable, or
        writable by group or others (whoever can add a key there can sign bundles
        this verifier accepts; ssh refuses such an authorized_keys for the same reason)."""
        try:
            if stat.S_IMODE(path.stat().st_mode) & 0o022:
                raise env_error(KEY_ERROR, f"the trusted key set {path} is writable by group "
                                f"or others (mode {stat.S_IMODE(path.stat().st_mode):04o}); "
                                "chmod 644 it", {"path": str(path)})
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise env_error(KEY_ERROR, f"no trusted key set at {path}: run `oord keys init` "
                            "or `oord keys trust FILE`", {"path": str(path)}) from None
        except OSError as exc:
            raise io_error("cannot read the trusted key set", exc) from None
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise env_error(KEY_ERROR, f"the trusted key set {path} is not JSON: "
                            f"{exc or type(exc).__name__}", {"path": str(path)}) from None
        try:
            return cls(parse_jwks(data))
        except ValueError as exc:
            raise env_error(KEY_ERROR, f"the trusted key set {path} is invalid: {exc}",
                            {"path": str(path)}) from None


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o644) -> None:
    """Write JSON through a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
