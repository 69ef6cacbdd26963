"""An independent implementation of the original oord's wire format, for the tests.

Written from ../shared/contracts/reference-facts.md (the "Oord" section) and
oord-error-model.md only, never from domain/oord/: it imports nothing of ours, uses
the standard library's zipfile and `cryptography` directly, and so catches a rule we
got wrong in both seal and verify at once. It plays the original in two roles:

- ``build_bundle`` / ``verify_bundle``: the original's bundle writer and a strict
  verifier (trusted keys only, as the facts require);
- ``original_core``: a loopback HTTP service with the original Core's API
  (POST /v1/seal, GET /v1/jwks, GET /v1/tl/entries/{seq}, Bearer API key) that signs
  manifests and keeps a transparency log whose first entry is tl_seq 0.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.http_json import send_json

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# ---- the rules -----------------------------------------------------------------------------

def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(obj: Any) -> bytes:
    """JSON with sorted keys and compact separators, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ref_merkle_root(file_digests: dict[str, str]) -> str:
    """cid:sha256 root over {path: sha256 hex}: raw-digest leaves sorted by path."""
    level = [hashlib.sha256(b"leaf:" + bytes.fromhex(file_digests[p])).digest()
             for p in sorted(file_digests)]
    if not level:
        level = [hashlib.sha256(b"").digest()]
    while len(level) > 1:
        nxt = [hashlib.sha256(b"node:" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2 == 1:
            nxt.append(level[-1])  # odd last node promoted unchanged
        level = nxt
    return "cid:sha256:" + level[0].hex()


def ref_bundle_id(entries: dict[str, bytes]) -> str:
    """First 16 hex of sha256 over sorted (UTF-8 name + raw sha256 of the content)."""
    h = hashlib.sha256()
    for name in sorted(entries):
        h.update(name.encode("utf-8"))
        h.update(hashlib.sha256(entries[name]).digest())
    return h.hexdigest()[:16]


def jwk_of(key: Ed25519PrivateKey, kid: str) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw), "kid": kid, "alg": "EdDSA",
            "use": "sig"}


def tl_message(seq: int, root: str) -> bytes:
    return f"seq={seq}|merkle_root={root}".encode()


def unsigned_bytes(manifest: dict[str, Any]) -> bytes:
    return canonical({k: v for k, v in manifest.items() if k != "signature"})


def make_manifest(*, org_id: str, batch_id: str, created_at_ms: int, key: Ed25519PrivateKey,
                  kid: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    listed = sorted(files, key=lambda f: f["path"])
    manifest: dict[str, Any] = {
        "manifest_version": "1.0", "org_id": org_id, "batch_id": batch_id,
        "created_at_ms": created_at_ms, "key_id": kid, "hash_alg": "sha256",
        "merkle": {"root_cid": ref_merkle_root({f["path"]: f["sha256"] for f in listed}),
                   "tree_alg": "binary_merkle_sha256"},
        "files": listed,
    }
    manifest["signature"] = b64u(key.sign(unsigned_bytes(manifest)))
    return manifest


def file_entries(payload: dict[str, bytes]) -> list[dict[str, Any]]:
    """Manifest file entries for {relpath: bytes}."""
    return [{"path": f"files/{rel}", "sha256": hashlib.sha256(data).hexdigest(),
             "size_bytes": len(data)} for rel, data in sorted(payload.items())]


def write_bundle(out_dir: Path, manifest: dict[str, Any], tl_proof: dict[str, Any] | None,
                 jwks: dict[str, Any], payload: dict[str, bytes]) -> Path:
    """The original's deterministic ZIP, named oord_bundle_<root16>_<bundle_id>.zip."""
    entries: dict[str, bytes] = {"manifest.json": canonical(manifest),
                                 "jwks_snapshot.json": canonical(jwks),
                                 "receipt.txt": (f"OORD RECEIPT v1\norg_id: {manifest['org_id']}"
                                                 f"\nbatch_id: {manifest['batch_id']}\n").encode()}
    if tl_proof is not None:
        entries["tl_proof.json"] = canonical(tl_proof)
    for rel, data in payload.items():
        entries[f"files/{rel}"] = data
    root_hex = manifest["merkle"]["root_cid"].split(":")[-1]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"oord_bundle_{root_hex[:16]}_{ref_bundle_id(entries)}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])
    return path


# ---- a strict verifier ----------------------------------------------------------------------

def _verify_sig(jwk: dict[str, Any], message: bytes, signature: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(unb64u(jwk["x"])).verify(unb64u(signature), message)
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


def _payload_problems(entries: dict[str, bytes], listed: dict[str, Any]) -> list[str]:
    problems = []
    for name, item in listed.items():
        data = entries.get(name)
        if data is None:
            problems.append(f"missing {name}")
        elif hashlib.sha256(data).hexdigest() != item["sha256"] or len(data) != item["size_bytes"]:
            problems.append(f"hash or size of {name}")
    return problems + [f"extra {n}" for n in entries if n.startswith("files/") and n not in listed]


def _signature_problems(manifest: dict[str, Any], proof: dict[str, Any] | None, root: str,
                        trusted: dict[str, Any]) -> list[str]:
    problems = []
    key = trusted.get(manifest["key_id"])
    if key is None:
        problems.append("key not trusted")
    elif not _verify_sig(key, unsigned_bytes(manifest), manifest["signature"]):
        problems.append("manifest signature")
    if proof is not None:
        tl_key = trusted.get(proof["signer_key_id"])
        if tl_key is None or not _verify_sig(tl_key, tl_message(proof["tl_seq"], root),
                                             proof["sth_sig"]):
            problems.append("tl signature")
    return problems


def verify_bundle(path: Path, trusted_jwks: dict[str, Any]) -> list[str]:
    """Every problem found in the facts' order; [] means the bundle verifies."""
    trusted = {k["kid"]: k for k in trusted_jwks["keys"]}
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(entries["manifest.json"])
    listed = {f["path"]: f for f in manifest["files"]}
    problems = _payload_problems(entries, listed)
    root = ref_merkle_root({p: f["sha256"] for p, f in listed.items()})
    if root != manifest["merkle"]["root_cid"]:
        problems.append("merkle_root")
    proof = json.loads(entries["tl_proof.json"]) if "tl_proof.json" in entries else None
    if proof is not None and proof.get("merkle_root") != root:
        problems.append("tl_proof root")
    problems += _signature_problems(manifest, proof, root, trusted)
    expected = f"oord_bundle_{root.split(':')[-1][:16]}_{ref_bundle_id(entries)}.zip"
    if path.name != expected:
        problems.append(f"bundle name (expected {expected})")
    return problems


# ---- an original-style Core ----------------------------------------------------------------

@dataclass
class OriginalCore:
    url: str
    jwks: dict[str, Any]
    signing_key: Ed25519PrivateKey
    tl_key: Ed25519PrivateKey
    log: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    clock_ms: int = 1_795_280_300_000

    def seal(self, body: dict[str, Any]) -> dict[str, Any]:
        self.clock_ms += 1
        manifest = make_manifest(org_id=body["org_id"], batch_id=body["batch_id"],
                                 created_at_ms=self.clock_ms, key=self.signing_key,
                                 kid="core-sign-1", files=body["files"])
        answer: dict[str, Any] = {"manifest": manifest}
        if body.get("tl_mode", "required") != "none":
            root = manifest["merkle"]["root_cid"]
            seq = len(self.log)  # the first entry is tl_seq 0
            proof = {"proof_version": "1.0", "tl_seq": seq, "merkle_root": root,
                     "sth_sig": b64u(self.tl_key.sign(tl_message(seq, root))),
                     "t_log_ms": self.clock_ms, "signer_key_id": "core-tl-1"}
            self.log.append(proof)
            answer["tl"] = {"proof": proof}
        return answer


def seal_like_the_original(core: OriginalCore, payload: dict[str, bytes], out_dir: Path, *,
                           org_id: str = "ORG-LOCAL", batch_id: str = "batch-1") -> Path:
    """What the original's `oord seal` does: Core signs and logs, the client zips."""
    answer = core.seal({"org_id": org_id, "batch_id": batch_id, "hash_alg": "sha256",
                        "files": file_entries(payload), "tl_mode": "required"})
    return write_bundle(out_dir, answer["manifest"], answer.get("tl", {}).get("proof"),
                        core.jwks, payload)


class _CoreHandler(BaseHTTPRequestHandler):
    """The original Core's routes; ``core``, ``api_key`` and ``lock`` are set per server."""

    core: OriginalCore
    api_key: str | None
    lock: threading.Lock

    def _send(self, status: int, body: dict[str, Any]) -> None:
        send_json(self, status, body)

    def _authorized(self) -> bool:
        return self.api_key is None or \
            self.headers.get("Authorization") == f"Bearer {self.api_key}"

    def do_GET(self) -> None:
        self.core.requests.append({"method": "GET", "path": self.path,
                                   "auth": self.headers.get("Authorization")})
        prefix = "/v1/tl/entries/"
        if self.path == "/v1/jwks":
            if self._authorized():
                self._send(200, self.core.jwks)
            else:
                self._send(401, {"error": "unauthorized"})
        elif self.path.startswith(prefix) and self.path[len(prefix):].isdigit():
            seq = int(self.path[len(prefix):])
            if seq < len(self.core.log):
                self._send(200, {**self.core.log[seq], "seq": seq})
            else:
                self._send(404, {"error": "not_found"})
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.core.requests.append({"method": "POST", "path": self.path, "body": body,
                                   "auth": self.headers.get("Authorization")})
        if self.path != "/v1/seal":
            self._send(404, {"error": "not_found"})
        elif not self._authorized():
            self._send(401, {"error": "unauthorized"})
        else:
            with self.lock:
                self._send(200, self.core.seal(body))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def original_core(*, api_key: str | None = None) -> Iterator[OriginalCore]:
    """A loopback HTTP server with the original Core's API."""
    signing, tl_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    core = OriginalCore(url="", jwks={"keys": [jwk_of(signing, "core-sign-1"),
                                               jwk_of(tl_key, "core-tl-1")]},
                        signing_key=signing, tl_key=tl_key)
    handler = type("Handler", (_CoreHandler,), {"core": core, "api_key": api_key,
                                                 "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    core.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield core
    finally:
        server.shutdown()
        server.server_close()
