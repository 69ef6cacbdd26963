"""Who signs a manifest: the local Ed25519 key, or a Core service over HTTP.

Core API (what `--core-url` expects; docs/oord.md):
  GET  <core>/v1/keys  -> {"keys": [JWK, ...], "active_kid": "<kid>"}
  POST <core>/v1/sign  {"kid": "<kid>", "payload": "<base64url>"}
                       -> {"kid": "<kid>", "signature": "<base64url Ed25519 signature>"}
with `Authorization: Bearer <api key>` when an API key is configured. Every failure
to reach or understand Core is an environment error (exit 2); a signature that does
not verify against Core's own published key is refused before it enters a bundle.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any, Protocol

from config.redact import redact_url, redact_urls
from domain.oord.canonical import b64url, b64url_decode
from domain.oord.errors import CORE_ERROR, CORE_UNAVAILABLE, env_error
from domain.oord.keys import PublicKey, parse_jwks, public_of, verify_signature

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CORE_TIMEOUT_S = 10.0
MAX_CORE_RESPONSE_BYTES = 1 << 20


class Signer(Protocol):
    """Signs canonical manifests under one key id."""

    @property
    def key_id(self) -> str: ...

    def public_keys(self) -> list[PublicKey]: ...

    def sign(self, message: bytes) -> bytes: ...


class LocalSigner:
    """The Ed25519 key in the state folder (oord keys init)."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = public_of(key)

    @property
    def key_id(self) -> str:
        return self._public.kid

    def public_keys(self) -> list[PublicKey]:
        return [self._public]

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def core_key_set(data: Any) -> list[PublicKey]:
    """The keys of a JWKS answer from Core (either API), or Core's error saying why not."""
    try:
        return parse_jwks(data)
    except ValueError as exc:
        raise env_error(CORE_ERROR, f"Core's key set is invalid: {exc}") from None


class CoreSigner:
    """Signatures from a Core service (see the module docstring for its API)."""

    def __init__(self, url: str, *, api_key: str | None = None,
                 timeout_s: float = CORE_TIMEOUT_S) -> None:
        # What errors, logs and the agent's rows show: never the URL's credentials.
        self.shown = redact_url(url.rstrip("/"))
        if not url.startswith(("http://", "https://")):
            raise env_error(CORE_ERROR, f"--core-url must be an http(s) URL, got {self.shown!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._keys = self._fetch_keys()

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            request = urllib.request.Request(self.url + path, data=data, headers=headers,
                                             method="POST" if body is not None else "GET")
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read(MAX_CORE_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise env_error(CORE_ERROR, f"Core answered {exc.code} to {path}",
                            {"status": exc.code, "url": self.shown}) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise env_error(CORE_UNAVAILABLE, f"cannot reach Core at {self.shown}: "
                            f"{redact_urls(str(reason))}", {"url": self.shown}) from None
        except (ValueError, http.client.HTTPException) as exc:
            # InvalidURL, a broken answer: only the type, as InvalidURL's text quotes the URL.
            raise env_error(CORE_UNAVAILABLE, f"cannot reach Core at {self.shown}: "
                            f"{type(exc).__name__}", {"url": self.shown}) from None
        try:
            if len(raw) > MAX_CORE_RESPONSE_BYTES:
                raise ValueError("response too large")
            return json.loads(raw)
        except ValueError as exc:
            raise env_error(CORE_ERROR, f"Core's answer to {path} is not JSON: {exc}",
                            {"url": self.shown}) from None

    def _fetch_keys(self) -> dict[str, Any]:
        data = self._request("/v1/keys")
        keys = core_key_set(data)
        active = data.get("active_kid") if isinstance(data, dict) else None
        by_kid = {k.kid: k for k in keys}
        if active is None and len(keys) == 1:
            active = keys[0].kid
        if active not in by_kid:
            raise env_error(CORE_ERROR, "Core's key set names no usable active_kid")
        return {"active": by_kid[active], "all": keys}

    @property
    def key_id(self) -> str:
        return str(self._keys["active"].kid)

    def public_keys(self) -> list[PublicKey]:
        return [self._keys["active"]]

    def sign(self, message: bytes) -> bytes:
        answer = self._request("/v1/sign", {"kid": self.key_id, "payload": b64url(message)})
        try:
            if answer.get("kid") != self.key_id:
                raise ValueError(f"signed with {answer.get('kid')!r}, asked {self.key_id!r}")
            signature = b64url_decode(answer["signature"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise env_error(CORE_ERROR, f"Core's signature answer is unusable: {exc}") from None
        if not verify_signature(self._keys["active"], message, signature):
            raise env_error(CORE_ERROR, "Core's signature does not verify with its own key")
        return signature
