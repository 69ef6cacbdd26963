"""Seal a folder into a deterministic, signed bundle.

One pass over the input: each file streams into the ZIP (sorted entries first, so
its sha256 is known by the time the manifest is written), then the manifest, its
signature, the TL proof, the key snapshot and the receipt. The bundle is built
under a temporary name in the output folder and renamed into place, so a reader
never sees half a bundle. With the same input, created_at_ms, key and log, the
bundle is the same, byte for byte.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from common.errors import ContractError
from config.logs import log_event
from domain.oord import bundle as layout
from domain.oord.canonical import b64url, canonical_json
from domain.oord.compression import SNIFF_BYTES, should_deflate
from domain.oord.core_original import OriginalCoreSigner
from domain.oord.errors import (
    INPUT_INVALID,
    INPUT_NOT_FOUND,
    IO_ERROR,
    TL_UNAVAILABLE,
    env_error,
    io_error,
)
from domain.oord.keys import jwks
from domain.oord.manifest import build_manifest, signing_payload
from domain.oord.merkle import merkle_root, root_cid
from domain.oord.names import id_problem
from domain.oord.signers import Signer
from domain.oord.sources import SourceFile, collect_files
from domain.oord.tl import TransparencyLog
from domain.oord.tl_local import now_ms
from domain.oord.zipwriter import InputChanged, ZipWriter

logger = logging.getLogger("conveyor.oord")

TL_MODES = ("required", "best_effort", "none")


@dataclass(frozen=True, kw_only=True)
class SealRequest:
    input_dir: Path
    out_dir: Path
    org_id: str
    batch_id: str
    tl_mode: str = "required"
    created_at_ms: int | None = None
    """Fixed by the agent so every attempt at one batch builds the same manifest."""


@dataclass(kw_only=True)
class SealHooks:
    """Optional callbacks: progress (bytes read so far), and the publish intent.

    ``before_publish(name)`` runs once the finished bundle sits under a hidden name
    ``.<name>.<tag>.partial`` in the output folder, right before it is renamed to ``name``.
    """

    progress: Callable[[int], None] | None = None
    before_publish: Callable[[str], None] | None = None


@dataclass(frozen=True, kw_only=True)
class SealResult:
    bundle_path: Path
    bundle_id: str
    merkle_root: str
    org_id: str
    batch_id: str
    key_id: str
    files: int
    bytes: int
    tl_seq: int | None
    created_at_ms: int

    def as_json(self) -> dict[str, Any]:
        return {"bundle_path": str(self.bundle_path), "bundle_id": self.bundle_id,
                "merkle_root": self.merkle_root, "org_id": self.org_id,
                "batch_id": self.batch_id, "key_id": self.key_id, "files": self.files,
                "bytes": self.bytes, "tl_seq": self.tl_seq,
                "created_at_ms": self.created_at_ms}


@dataclass
class _Progress:
    callback: Callable[[int], None] | None
    done: int = field(default=0)

    def __call__(self, count: int) -> None:
        self.done += count
        if self.callback is not None:
            self.callback(self.done)


def partial_name(bundle_name: str, tag: str) -> str:
    """The hidden name a finished bundle waits under before it is published."""
    return f".{bundle_name}.{tag}.partial"


def staged_bundles(out: Path, bundle_name: str) -> list[Path]:
    """Finished bundles named ``bundle_name`` still waiting under a hidden name."""
    return sorted(out.glob(f".{bundle_name}.*.partial"))


def check_request(request: SealRequest) -> tuple[Path, Path]:
    """The resolved input and output folders; exit-2 errors for unusable ones."""
    for key, value in (("org_id", request.org_id), ("batch_id", request.batch_id)):
        problem = id_problem(value)
        if problem:
            raise env_error(INPUT_INVALID, f"{key} {value!r} {problem}", {key: value})
    if request.tl_mode not in TL_MODES:
        raise env_error(INPUT_INVALID, f"tl mode must be one of {', '.join(TL_MODES)}")
    source = request.input_dir.resolve()
    if not source.is_dir():
        raise env_error(INPUT_NOT_FOUND, f"input folder {request.input_dir} does not exist "
                        "or is not a folder", {"path": str(request.input_dir)})
    out = request.out_dir.resolve()
    if out == source or source in out.parents:
        raise env_error(INPUT_INVALID, "the output folder must not be inside the input folder",
                        {"input_dir": str(source), "out": str(out)})
    if os.path.exists(out) and not os.path.isdir(out):  # (os.path: False for a bad name)
        raise env_error(IO_ERROR, f"cannot create the output folder: {out} is not a "
                        "folder", {"out": str(out)})
    return source, out


def _make_out(out: Path) -> list[Path]:
    """Create the output folder (and missing parents); return what was created, deepest first."""
    missing = [p for p in (out, *out.parents) if not os.path.lexists(p)]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(missing)
        raise io_error("cannot create the output folder", exc) from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """A failed seal leaves nothing behind: not even the folders it created for --out."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (someone else's) or gone: stop there


def _open_source(item: SourceFile) -> BinaryIO:
    # O_NOFOLLOW: a file swapped for a symlink after the listing is refused, not followed.
    fd = os.open(item.path, os.O_RDONLY | os.O_NOFOLLOW)
    return os.fdopen(fd, "rb")


def _write_file(writer: ZipWriter, item: SourceFile, progress: _Progress) -> dict[str, Any]:
    with _open_source(item) as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(SNIFF_BYTES)
        handle.seek(0)
        entry = writer.add_stream(item.entry, handle, size,
                                  deflate=should_deflate(item.entry, head), progress=progress)
    return {"path": item.entry, "sha256": entry.sha256, "size_bytes": entry.size}


def _tl_proof(mode: str, root: str, open_tl: Callable[[], TransparencyLog] | None,
              batch_id: str) -> tuple[dict[str, Any] | None, TransparencyLog | None]:
    if mode == "none" or open_tl is None:
        if mode == "required":
            raise env_error(TL_UNAVAILABLE, "--tl-mode required, but no transparency log")
        return None, None
    try:
        log = open_tl()
        return log.submit(root), log
    except Exception as exc:
        message = exc.message if isinstance(exc, ContractError) else f"{type(exc).__name__}: {exc}"
        if mode == "required":
            raise env_error(TL_UNAVAILABLE, f"the transparency log failed: {message}") from None
        log_event(logger, "tl_best_effort_skipped", level=logging.WARNING, batch_id=batch_id,
                  error=message)
        return None, None


class _Build:
    """One bundle being written: the temporary file, the writer, and what went in."""

    def __init__(self, out: Path) -> None:
        self.tag = uuid.uuid4().hex
        self.tmp = out / f".oord-{self.tag}.tmp"
        fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        self.handle = os.fdopen(fd, "w+b")
        self.writer = ZipWriter(self.handle)

    def add_json(self, name: str, data: Any) -> None:
        self.writer.add_bytes(name, canonical_json(data), deflate=True)

    def finish(self) -> str:
        """Close the archive durably; return the bundle id."""
        self.writer.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return layout.bundle_id((e.name, e.sha256) for e in self.writer.entries)

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(build: _Build, out: Path, name: str, hooks: SealHooks) -> Path:
    staged = out / partial_name(name, build.tag)
    os.replace(build.tmp, staged)
    try:
        if hooks.before_publish is not None:
            hooks.before_publish(name)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    final = out / name
    try:
        os.replace(staged, final)
    except BaseException:
        if hooks.before_publish is None:  # nobody recorded it: nobody would publish it later
            staged.unlink(missing_ok=True)
        raise
    _fsync_dir(out)
    return final


def seal(request: SealRequest, *, signer: Signer,
         open_tl: Callable[[], TransparencyLog] | None = None,
         hooks: SealHooks | None = None) -> SealResult:
    """Seal ``request.input_dir`` into a bundle in ``request.out_dir``; ContractError (exit 2)."""
    hooks = hooks or SealHooks()
    source, out = check_request(request)
    files = collect_files(source)
    created_at_ms = request.created_at_ms if request.created_at_ms is not None else now_ms()
    created = _make_out(out)
    try:
        return _seal_in(out, request, files, created_at_ms, signer, open_tl, hooks)
    except BaseException:
        _remove_empty(created)
        raise


def _seal_in(out: Path, request: SealRequest, files: list[SourceFile], created_at_ms: int,
             signer: Signer, open_tl: Callable[[], TransparencyLog] | None,
             hooks: SealHooks) -> SealResult:
    try:
        build = _Build(out)
    except OSError as exc:
        raise io_error("cannot create the bundle in the output folder", exc) from None
    try:
        return _seal_into(build, out, request, files, created_at_ms, signer, open_tl, hooks)
    except OSError as exc:
        build.discard()
        raise io_error("sealing failed", exc) from None
    except InputChanged as exc:
        build.discard()
        raise env_error(INPUT_INVALID, f"the input changed while sealing: {exc}") from None
    except BaseException:
        build.discard()
        raise


def _seal_into(build: _Build, out: Path, request: SealRequest, files: list[SourceFile],
               created_at_ms: int, signer: Signer,
               open_tl: Callable[[], TransparencyLog] | None, hooks: SealHooks) -> SealResult:
    progress = _Progress(hooks.progress)
    listed = [_write_file(build.writer, item, progress) for item in files]
    root_hex = merkle_root([(f["path"], f["sha256"]) for f in listed])
    root = root_cid(root_hex)
    if isinstance(signer, OriginalCoreSigner):
        # The original's Core builds, signs and logs the manifest (its time, its log).
        manifest, proof = signer.seal_manifest(org_id=request.org_id,
                                               batch_id=request.batch_id, files=listed,
                                               root_cid=root, tl_mode=request.tl_mode)
        snapshot = {k.kid: k for k in signer.public_keys()}
    else:
        manifest = build_manifest(org_id=request.org_id, batch_id=request.batch_id,
                                  created_at_ms=created_at_ms, key_id=signer.key_id,
                                  root_hex=root_hex, files=listed)
        manifest["signature"] = b64url(signer.sign(signing_payload(manifest)))
        proof, log = _tl_proof(request.tl_mode, root, open_tl, request.batch_id)
        snapshot = {k.kid: k for k in signer.public_keys()
                    + (log.public_keys() if log is not None else [])}
    build.add_json(layout.JWKS_SNAPSHOT, jwks(list(snapshot.values())))
    build.add_json(layout.MANIFEST, manifest)
    build.writer.add_bytes(layout.RECEIPT, layout.receipt_text(manifest, proof).encode(),
                           deflate=True)
    if proof is not None:
        build.add_json(layout.TL_PROOF, proof)
    bid = build.finish()
    path = _publish(build, out, layout.bundle_file_name(root, bid), hooks)
    return SealResult(bundle_path=path, bundle_id=bid, merkle_root=root,
                      org_id=request.org_id, batch_id=request.batch_id,
                      key_id=manifest["key_id"], files=len(listed),
                      bytes=sum(f["size_bytes"] for f in listed),
                      tl_seq=proof["tl_seq"] if proof else None,
                      created_at_ms=manifest["created_at_ms"])
