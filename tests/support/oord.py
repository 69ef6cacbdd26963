"""Helpers for oord's tests: keys, folders, rewritten (tampered) bundles, a Core server."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from domain.oord.canonical import b64url, b64url_decode
from domain.oord.keyring import init_keys
from domain.oord.keys import generate_private_key, public_of
from tests.support.http_json import send_json


@dataclass(frozen=True)
class KeyPaths:
    signing_key: Path
    tl_key: Path
    trusted_jwks: Path

    def env(self) -> dict[str, str]:
        return {"OORD_SIGNING_KEY": str(self.signing_key), "OORD_TL_KEY": str(self.tl_key),
                "OORD_TRUSTED_JWKS": str(self.trusted_jwks)}


def make_keys(folder: Path) -> KeyPaths:
    paths = KeyPaths(folder / "signing_key.pem", folder / "tl_key.pem",
                     folder / "trusted.jwks.json")
    init_keys(signing_key=paths.signing_key, tl_key=paths.tl_key,
              trusted_jwks=paths.trusted_jwks)
    return paths


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


SAMPLE_FILES = {
    "a.txt": b"hello oord\n" * 200,
    "docs/readme.md": b"# readme\n",
    "data/blob.bin": bytes(range(256)) * 64,
    "empty": b"",
}


# ---- rewriting bundles -------------------------------------------------------------------

Entry = tuple[zipfile.ZipInfo, bytes]


def read_entries(bundle: Path) -> list[Entry]:
    with zipfile.ZipFile(bundle) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def write_entries(target: Path, entries: list[Entry]) -> Path:
    """A ZIP with exactly these entries (infos' names, attributes and methods kept)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data, compress_type=info.compress_type)
    target.write_bytes(buffer.getvalue())
    return target


def rewrite(bundle: Path, target: Path, change: Callable[[list[Entry]], list[Entry]]) -> Path:
    return write_entries(target, change(read_entries(bundle)))


def entry(name: str, data: bytes, *, mode: int = 0o100644,
          method: int = zipfile.ZIP_STORED) -> Entry:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = method
    info.create_system = 3
    return info, data


def replace_json(entries: list[Entry], name: str,
                 change: Callable[[dict[str, Any]], None]) -> list[Entry]:
    out = []
    for info, data in entries:
        if info.filename == name:
            doc = json.loads(data)
            change(doc)
            data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        out.append((info, data))
    return out


def flip_byte_in_file(bundle: Path, entry_name: str, *, offset: int = 0) -> None:
    """Change one byte of a stored entry's data in place (the ZIP stays readable)."""
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo(entry_name)
        assert info.compress_type == zipfile.ZIP_STORED, "flip bytes of stored entries"
    raw = bytearray(bundle.read_bytes())
    name_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    position = info.header_offset + 30 + name_len + extra_len + offset
    raw[position] ^= 0x01
    bundle.write_bytes(bytes(raw))


# ---- a Core service ----------------------------------------------------------------------

@dataclass
class CoreServer:
    url: str
    kid: str
    public_jwks: dict[str, Any]
    requests: list[dict[str, Any]]


@contextmanager
def core_server(*, api_key: str | None = None,
                bad_signatures: bool = False) -> Iterator[CoreServer]:
    """A real HTTP server speaking the Core API of domain/oord/signers.py, with its own key."""
    key = generate_private_key()
    public = public_of(key)
    jwk = {**public.jwk(), "kid": "core-key-1"}
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            send_json(self, status, body)

        def _authorized(self) -> bool:
            return api_key is None or self.headers.get("Authorization") == f"Bearer {api_key}"

        def do_GET(self) -> None:
            requests.append({"method": "GET", "path": self.path,
                             "auth": self.headers.get("Authorization")})
            if not self._authorized():
                self._send(401, {"error": "unauthorized"})
            elif self.path == "/v1/keys":
                self._send(200, {"keys": [jwk], "active_kid": "core-key-1"})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"method": "POST", "path": self.path, "body": body,
                             "auth": self.headers.get("Authorization")})
            if not self._authorized():
                self._send(401, {"error": "unauthorized"})
                return
            payload = b64url_decode(body["payload"])
            if bad_signatures:
                payload += b"x"
            self._send(200, {"kid": body["kid"], "signature": b64url(key.sign(payload))})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield CoreServer(f"http://127.0.0.1:{server.server_address[1]}", "core-key-1",
                         {"keys": [jwk]}, requests)
    finally:
        server.shutdown()
        server.server_close()
