"""Verify a bundle: every check in the documented order, each with its outcome.

Order: archive (structure and zip-bomb limits), manifest (shape), files (hashes and
sizes, nothing missing, nothing extra under files/), merkle_root, tl_proof (shape,
root match, inclusion), key (the manifest's key is in the TRUSTED set), signature,
tl_signature, tl_online (optional), bundle_name. Every check runs when what it needs
passed; the others are skipped. Exit code: 1 if any check failed (content or
cryptographic mismatch), else 2 if any could not be done (unreadable bundle, trusted
key set missing, TL outage under --strict), else 0.

The key set shipped inside the bundle (jwks_snapshot.json) proves nothing and is
never used to verify: keys come from the verifier's trusted set only.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ContractError
from domain.oord import bundle as layout
from domain.oord import tl as tlproof
from domain.oord.archive import Limits, Unreadable, archive_problems, open_bundle
from domain.oord.canonical import b64url_decode
from domain.oord.errors import EXIT_CONTENT, EXIT_ENV, EXIT_OK
from domain.oord.extract import Stage, UnsafePath
from domain.oord.keys import TrustedKeys, verify_signature
from domain.oord.manifest import manifest_problem, signing_payload
from domain.oord.merkle import CID_PREFIX, legacy_hex_root, merkle_root, root_cid
from domain.oord.tl_client import TlOutage, fetch_entry

PASS, FAIL, ERROR, SKIP, WARN = "pass", "fail", "error", "skip", "warn"
CHECKS = ("archive", "manifest", "files", "merkle_root", "tl_proof", "key", "signature",
          "tl_signature", "tl_online", "bundle_name")
CHUNK_BYTES = 1 << 20
MAX_MANIFEST_BYTES = 64 << 20
MAX_METADATA_BYTES = 1 << 20
PROBLEMS_SHOWN = 20


@dataclass
class Check:
    name: str
    outcome: str
    detail: str
    problems: list[str] = field(default_factory=list)
    duration_ms: float = 0.0

    def as_json(self, *, verbose: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "outcome": self.outcome,
                                "detail": self.detail}
        if self.problems:
            data["problems"] = self.problems if verbose else self.problems[:PROBLEMS_SHOWN]
        if verbose:
            data["duration_ms"] = round(self.duration_ms, 3)
        return data


@dataclass(kw_only=True)
class VerifyOptions:
    trusted_jwks: Path
    limits: Limits
    strict: bool = False
    tl_url: str | None = None
    tl_timeout_s: float = 5.0
    extract_to: Path | None = None
    """Write the payload into this new folder while checking it (removed on any failure)."""
    progress: Callable[[int], None] | None = None


@dataclass
class VerifyReport:
    bundle: str
    checks: list[Check]
    manifest: dict[str, Any] | None = None
    tl_proof: dict[str, Any] | None = None
    bundle_id: str | None = None

    @property
    def exit_code(self) -> int:
        outcomes = {c.outcome for c in self.checks}
        if FAIL in outcomes:
            return EXIT_CONTENT
        return EXIT_ENV if ERROR in outcomes else EXIT_OK

    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.outcome in (FAIL, ERROR)]

    def summary(self) -> str:
        """The first failing check, as one line (for logs and the agent's last_error)."""
        bad = self.failed()
        if not bad:
            return "verified"
        first = bad[0]
        extra = f": {first.problems[0]}" if first.problems else ""
        return f"{first.name}: {first.detail}{extra}"

    def as_json(self, *, verbose: bool = False) -> dict[str, Any]:
        manifest = self.manifest or {}
        files = manifest.get("files") or []
        return {
            "ok": self.exit_code == EXIT_OK,
            "exit_code": self.exit_code,
            "bundle": self.bundle,
            "bundle_id": self.bundle_id,
            "merkle_root": (manifest.get("merkle") or {}).get("root_cid"),
            "org_id": manifest.get("org_id"),
            "batch_id": manifest.get("batch_id"),
            "key_id": manifest.get("key_id"),
            "files": len(files),
            "bytes": sum(f.get("size_bytes", 0) for f in files),
            "tl_seq": (self.tl_proof or {}).get("tl_seq"),
            "checks": [c.as_json(verbose=verbose) for c in self.checks],
        }


def _root_mismatch(files: list[dict[str, Any]], claimed: str, computed: str) -> str:
    legacy = root_cid(legacy_hex_root([(f["path"], f["sha256"]) for f in files]))
    if legacy == claimed:
        return (f"the manifest claims {claimed}, computed by the hex rule of Conveyor "
                "versions before the original's Merkle rule (hashes over hex text, not "
                f"raw digests); its files give {computed}: seal the folder again with "
                "this version (docs/oord.md, Compatibility)")
    return f"the manifest claims {claimed}, its files give {computed}"


class _ContentError(Exception):
    """An entry's data cannot be read back (damaged or tampered): a content failure."""


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise _ContentError(f"{info.orig_filename} is larger than {limit} bytes")
    try:
        with zf.open(info) as handle:
            return handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _ContentError(f"{info.orig_filename}: {exc}") from None


class _Verifier:
    def __init__(self, path: Path, options: VerifyOptions) -> None:
        self.path = path
        self.options = options
        self.report = VerifyReport(bundle=str(path), checks=[])
        self.zf: zipfile.ZipFile | None = None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.entry_sha: dict[str, str] = {}
        self.trusted: TrustedKeys | None = None
        self.stage: Stage | None = None
        self.passed: set[str] = set()
        self._started = time.perf_counter()

    # ---- bookkeeping -------------------------------------------------------------------

    def _record(self, name: str, outcome: str, detail: str,
                problems: list[str] | None = None) -> None:
        elapsed = (time.perf_counter() - self._started) * 1000
        self.report.checks.append(Check(name, outcome, detail, problems or [], elapsed))
        if outcome == PASS:
            self.passed.add(name)

    def _needs(self, name: str, *required: str) -> bool:
        missing = [r for r in required if r not in self.passed]
        if missing:
            self._record(name, SKIP, f"needs {', '.join(missing)} to pass first")
            return False
        return True

    # ---- checks ------------------------------------------------------------------------

    def check_archive(self) -> None:
        try:
            self.zf = open_bundle(self.path)
        except Unreadable as exc:
            self._record("archive", ERROR, str(exc))
            return
        problems = archive_problems(self.zf, self.options.limits)
        if problems:
            self._record("archive", FAIL, "unsafe or unexpected entries", problems)
            return
        self.infos = {i.orig_filename: i for i in self.zf.infolist()}
        self._record("archive", PASS, f"{len(self.infos)} entries, names and sizes safe")

    def _metadata(self, name: str, limit: int = MAX_METADATA_BYTES) -> bytes | None:
        assert self.zf is not None
        info = self.infos.get(name)
        if info is None:
            return None
        data = _read_entry(self.zf, info, limit)
        self.entry_sha[name] = hashlib.sha256(data).hexdigest()
        return data

    def check_manifest(self) -> None:
        if not self._needs("manifest", "archive"):
            return
        try:
            raw = self._metadata(layout.MANIFEST, MAX_MANIFEST_BYTES)
            data = json.loads(raw or b"")
        except (_ContentError, ValueError) as exc:
            self._record("manifest", FAIL, f"manifest.json is unreadable: {exc}")
            return
        problem = manifest_problem(data)
        if problem:
            self._record("manifest", FAIL, f"not a valid v1 manifest: {problem}")
            return
        self.report.manifest = data
        self._record("manifest", PASS, f"manifest v1 for {data['org_id']}/{data['batch_id']}")

    def check_files(self) -> None:
        if not self._needs("files", "manifest"):
            return
        manifest = self.report.manifest or {}
        listed = {f["path"]: f for f in manifest["files"]}
        present = {n for n in self.infos if n.startswith(layout.FILES_PREFIX)}
        problems = [f"{p!r} is in the manifest but not in the bundle"
                    for p in sorted(set(listed) - present)]
        problems += [f"{n!r} is in the bundle but not in the manifest"
                     for n in sorted(present - set(listed))]
        self._open_stage(problems)
        for path in sorted(set(listed) & present):
            problem = self._check_file(self.infos[path], listed[path])
            if problem:
                problems.append(problem)
        if problems:
            self._record("files", FAIL, "the payload does not match the manifest", problems)
            return
        size = sum(f["size_bytes"] for f in listed.values())
        self._record("files", PASS, f"{len(listed)} files, {size} bytes match their sha256")

    def _open_stage(self, problems: list[str]) -> None:
        if self.options.extract_to is None or problems:
            return
        self.stage = Stage(self.options.extract_to)

    def _check_file(self, info: zipfile.ZipInfo, expected: dict[str, Any]) -> str | None:
        name = info.orig_filename
        if info.file_size != expected["size_bytes"]:
            return (f"{name!r}: {info.file_size} bytes in the bundle, "
                    f"{expected['size_bytes']} in the manifest")
        try:
            digest, count = self._stream(info)
        except _ContentError as exc:
            return f"{name!r}: damaged or altered data ({exc})"
        except UnsafePath as exc:
            return f"{name!r}: {exc}"
        self.entry_sha[name] = digest
        if count != expected["size_bytes"]:
            return f"{name!r}: read {count} bytes, the manifest says {expected['size_bytes']}"
        if digest != expected["sha256"]:
            return f"{name!r}: sha256 {digest} does not match the manifest's"
        return None

    def _stream(self, info: zipfile.ZipInfo) -> tuple[str, int]:
        assert self.zf is not None
        sha, count = hashlib.sha256(), 0
        sink = self.stage.open(info.orig_filename[len(layout.FILES_PREFIX):]) \
            if self.stage is not None else None
        try:
            with self.zf.open(info) as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    sha.update(chunk)
                    count += len(chunk)
                    if sink is not None:
                        sink.write(chunk)
                    if self.options.progress is not None:
                        self.options.progress(len(chunk))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise _ContentError(str(exc)) from None
        finally:
            if sink is not None:
                sink.close()
        return sha.hexdigest(), count

    def check_merkle_root(self) -> None:
        if not self._needs("merkle_root", "manifest"):
            return
        manifest = self.report.manifest or {}
        computed = root_cid(merkle_root([(f["path"], f["sha256"]) for f in manifest["files"]]))
        claimed = manifest["merkle"]["root_cid"]
        if computed != claimed:
            self._record("merkle_root", FAIL, _root_mismatch(manifest["files"], claimed,
                                                             computed))
            return
        self._record("merkle_root", PASS, computed)

    def check_tl_proof(self) -> None:
        if not self._needs("tl_proof", "manifest"):
            return
        try:
            raw = self._metadata(layout.TL_PROOF)
            proof = json.loads(raw) if raw is not None else None
        except (_ContentError, ValueError) as exc:
            self._record("tl_proof", FAIL, f"tl_proof.json is unreadable: {exc}")
            return
        if proof is None:
            outcome = FAIL if self.options.strict else SKIP
            self._record("tl_proof", outcome, "the bundle has no TL proof"
                         + (" (--strict requires one)" if self.options.strict else ""))
            return
        problem = tlproof.proof_shape_problem(proof)
        root = (self.report.manifest or {})["merkle"]["root_cid"]
        if problem is None and proof["merkle_root"] != root:
            problem = f"the proof logs {proof['merkle_root']}, the manifest's root is {root}"
        if problem is None and not tlproof.inclusion_holds(proof):
            problem = "the entry is not included in the proof's tree head"
        if problem:
            self._record("tl_proof", FAIL, problem)
            return
        self.report.tl_proof = proof
        if tlproof.has_tree(proof):
            self._record("tl_proof", PASS, f"entry {proof['tl_seq']} of a log of "
                         f"{proof['tree_size']}, root matches, inclusion holds")
        else:
            self._record("tl_proof", PASS, f"entry {proof['tl_seq']}, root matches "
                         "(no tree extension to check)")

    def check_key(self) -> None:
        if not self._needs("key", "manifest"):
            return
        try:
            self.trusted = TrustedKeys.load(self.options.trusted_jwks)
        except ContractError as exc:
            self._record("key", ERROR, exc.message)
            return
        kid = (self.report.manifest or {})["key_id"]
        if self.trusted.get(kid) is None:
            self._record("key", FAIL, f"key {kid!r} is not in the trusted key set "
                         f"({len(self.trusted)} keys in {self.options.trusted_jwks})")
            return
        self._record("key", PASS, f"key {kid!r} is trusted")

    def check_signature(self) -> None:
        if not self._needs("signature", "manifest", "key"):
            return
        manifest = self.report.manifest or {}
        assert self.trusted is not None
        key = self.trusted.get(manifest["key_id"])
        assert key is not None
        try:
            signature = b64url_decode(manifest["signature"])
        except ValueError:
            self._record("signature", FAIL, "the signature is not base64url")
            return
        if not verify_signature(key, signing_payload(manifest), signature):
            self._record("signature", FAIL, "the manifest signature does not verify with "
                         f"trusted key {key.kid!r}")
            return
        self._record("signature", PASS, f"Ed25519 signature by {key.kid!r}")

    def check_tl_signature(self) -> None:
        if self.report.tl_proof is None:
            self._record("tl_signature", SKIP, "no valid TL proof to check")
            return
        if self.trusted is None:
            self._needs("tl_signature", "key")
            return
        problem = tlproof.signature_problem(self.report.tl_proof, self.trusted)
        if problem:
            self._record("tl_signature", FAIL, problem)
            return
        signed = "entry and tree head" if tlproof.has_tree(self.report.tl_proof) else "entry"
        self._record("tl_signature", PASS, f"{signed} signed by trusted log key "
                     f"{self.report.tl_proof['signer_key_id']!r}")

    def check_tl_online(self) -> None:
        proof, url = self.report.tl_proof, self.options.tl_url
        if url is None:
            self._record("tl_online", SKIP, "no TL URL given (--tl-url)")
            return
        if proof is None:
            self._record("tl_online", SKIP, "no valid TL proof to look up")
            return
        try:
            entry = fetch_entry(url, proof["tl_seq"], timeout_s=self.options.tl_timeout_s)
        except TlOutage as exc:
            outcome = ERROR if self.options.strict else WARN
            self._record("tl_online", outcome, f"{exc}" + ("" if self.options.strict else
                         " (not fatal without --strict)"))
            return
        self._record("tl_online", *self._compare_entry(proof, entry))

    @staticmethod
    def _compare_entry(proof: dict[str, Any], entry: dict[str, Any] | None) -> tuple[str, str]:
        seq = proof["tl_seq"]
        if entry is None:
            return FAIL, f"the log has no entry {seq}"
        for key in ("merkle_root", "t_log_ms", "sth_sig"):
            if entry.get(key) != proof[key]:
                return FAIL, f"the log's entry {seq} differs from the proof in {key}"
        return PASS, f"the log confirms entry {seq}"

    def check_bundle_name(self) -> None:
        parsed = layout.parse_bundle_file_name(self.path.name)
        if parsed is None:
            self._record("bundle_name", SKIP, "the file name is not "
                         "oord_bundle_<root16>_<bundle_id>.zip")
            return
        if not self._needs("bundle_name", "files"):
            return
        for name in layout.METADATA_ENTRIES & set(self.infos) - set(self.entry_sha):
            try:
                self._metadata(name)
            except _ContentError as exc:
                self._record("bundle_name", FAIL, f"cannot hash {name}: {exc}")
                return
        self.report.bundle_id = layout.bundle_id(self.entry_sha.items())
        root = (self.report.manifest or {})["merkle"]["root_cid"][len(CID_PREFIX):]
        expected = layout.bundle_file_name(root, self.report.bundle_id)
        if self.path.name != expected:
            self._record("bundle_name", FAIL, f"the content gives {expected}")
            return
        self._record("bundle_name", PASS, f"bundle id {self.report.bundle_id} matches")

    # ---- run ---------------------------------------------------------------------------

    def run(self) -> VerifyReport:
        try:
            for name in CHECKS:
                self._started = time.perf_counter()
                getattr(self, f"check_{name}")()
        finally:
            if self.zf is not None:
                self.zf.close()
            if self.stage is not None and self.report.exit_code != EXIT_OK:
                self.stage.remove()
        return self.report


def verify_bundle(path: Path, options: VerifyOptions) -> VerifyReport:
    """Run every check on the bundle at ``path``; OSError only for a broken staging folder."""
    verifier = _Verifier(path, options)
    try:
        return verifier.run()
    except BaseException:
        if verifier.stage is not None:
            verifier.stage.remove()
        raise
