"""Sealing through a Core with the original oord's API (OORD_CORE_API=original).

The original's Core builds and signs the manifest and logs its root itself:
  POST <core>/v1/seal  {"org_id", "batch_id", "hash_alg": "sha256", "files": [...],
                        "tl_mode"} -> {"manifest": {signed manifest v1},
                                       "tl": {"proof": {six-field TL proof}}}
  GET  <core>/v1/jwks  -> {"keys": [JWK, ...]}  (the manifest key and the log key)
with `Authorization: Bearer <OORD_CORE_API_KEY>`. We never take its answer on trust:
the manifest must list exactly the files we hashed, carry the root they give, and
verify with a key of Core's JWKS; the proof must log that root under a key of the
same set. Any failure is an environment error (exit 2), like every seal failure.
"""

from __future__ import annotations

from typing import Any

from domain.oord import tl as tlproof
from domain.oord.canonical import b64url_decode
from domain.oord.errors import CORE_ERROR, TL_UNAVAILABLE, env_error
from domain.oord.keys import PublicKey, verify_signature
from domain.oord.manifest import manifest_problem, signing_payload
from domain.oord.signers import CoreSigner, core_key_set


class OriginalCoreSigner(CoreSigner):
    """Core's original API: one call seals the manifest (and logs it)."""

    def _fetch_keys(self) -> dict[str, Any]:
        keys = core_key_set(self._request("/v1/jwks"))
        if not keys:
            raise env_error(CORE_ERROR, "Core's key set has no keys")
        return {"active": keys[0], "all": keys}

    @property
    def key_id(self) -> str:
        # Known only once Core has signed; seal reads it from the manifest.
        return str(self._keys["active"].kid)

    def public_keys(self) -> list[PublicKey]:
        return list(self._keys["all"])

    def sign(self, message: bytes) -> bytes:
        raise NotImplementedError("the original Core signs whole manifests (seal_manifest)")

    def _key(self, kid: Any) -> PublicKey | None:
        return next((k for k in self._keys["all"] if k.kid == kid), None)

    def seal_manifest(self, *, org_id: str, batch_id: str, files: list[dict[str, Any]],
                      root_cid: str, tl_mode: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Core's signed manifest and TL proof (None if Core logged nothing), checked."""
        answer = self._request("/v1/seal", {"org_id": org_id, "batch_id": batch_id,
                                            "hash_alg": "sha256", "files": files,
                                            "tl_mode": tl_mode})
        manifest = answer.get("manifest") if isinstance(answer, dict) else None
        problem = self._manifest_problem(manifest, org_id, batch_id, files, root_cid)
        if problem:
            raise env_error(CORE_ERROR, f"Core's sealed manifest is unusable: {problem}",
                            {"url": self.shown})
        assert isinstance(manifest, dict)
        tl = answer.get("tl") if isinstance(answer.get("tl"), dict) else {}
        proof = tl.get("proof") if isinstance(tl.get("proof"), dict) else None
        if proof is None:
            if tl_mode == "required":
                raise env_error(TL_UNAVAILABLE, "--tl-mode required, but Core logged nothing")
            return manifest, None
        problem = self._proof_problem(proof, root_cid)
        if problem:
            raise env_error(CORE_ERROR, f"Core's TL proof is unusable: {problem}",
                            {"url": self.shown})
        return manifest, proof

    def _manifest_problem(self, manifest: Any, org_id: str, batch_id: str,
                          files: list[dict[str, Any]], root_cid: str) -> str | None:
        problem = manifest_problem(manifest)
        if problem:
            return problem
        if (manifest["org_id"], manifest["batch_id"]) != (org_id, batch_id):
            return "it names another org_id or batch_id"
        if sorted(manifest["files"], key=lambda f: f["path"]) != \
                sorted(files, key=lambda f: f["path"]):
            return "it lists other files than the ones sealed"
        if manifest["merkle"]["root_cid"] != root_cid:
            return f"its root {manifest['merkle']['root_cid']} is not the files' {root_cid}"
        key = self._key(manifest["key_id"])
        if key is None:
            return f"its key {manifest['key_id']!r} is not in Core's JWKS"
        if not _signed(key, signing_payload(manifest), manifest["signature"]):
            return "its signature does not verify with Core's key"
        return None

    def _proof_problem(self, proof: dict[str, Any], root_cid: str) -> str | None:
        problem = tlproof.proof_shape_problem(proof)
        if problem:
            return problem
        if proof["merkle_root"] != root_cid:
            return "it logs another root"
        key = self._key(proof["signer_key_id"])
        if key is None:
            return f"its key {proof['signer_key_id']!r} is not in Core's JWKS"
        if not _signed(key, tlproof.entry_message(proof["tl_seq"], root_cid), proof["sth_sig"]):
            return "sth_sig does not verify with Core's key"
        return None


def _signed(key: PublicKey, message: bytes, signature: Any) -> bool:
    try:
        return isinstance(signature, str) and verify_signature(key, message,
                                                               b64url_decode(signature))
    except ValueError:
        return False
