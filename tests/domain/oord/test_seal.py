"""Seal: the bundle format, determinism, refusals (all exit 2), TL modes."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.oord.bundle import parse_bundle_file_name
from domain.oord.canonical import canonical_json
from domain.oord.merkle import EMPTY_ROOT, merkle_root
from domain.oord.seal import SealRequest, SealResult, seal
from domain.oord.signers import LocalSigner
from domain.oord.tl_local import LocalTransparencyLog
from domain.oord.verify import VerifyReport
from tests.support.oord import SAMPLE_FILES, make_tree


def test_the_bundle_holds_the_documented_entries_sorted(sealed: SealResult) -> None:
    with zipfile.ZipFile(sealed.bundle_path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.read("manifest.json") == canonical_json(manifest)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
    assert names == sorted(names)
    assert set(names) == {"files/" + rel for rel in SAMPLE_FILES} | {
        "manifest.json", "tl_proof.json", "jwks_snapshot.json", "receipt.txt"}
    assert manifest["manifest_version"] == "1.0" and manifest["hash_alg"] == "sha256"
    assert manifest["merkle"] == {"root_cid": sealed.merkle_root,
                                  "tree_alg": "binary_merkle_sha256"}
    assert {f["path"]: f["size_bytes"] for f in manifest["files"]} == {
        "files/" + rel: len(data) for rel, data in SAMPLE_FILES.items()}
    root = merkle_root([(f["path"], f["sha256"]) for f in manifest["files"]])
    assert sealed.merkle_root == "cid:sha256:" + root
    assert parse_bundle_file_name(sealed.bundle_path.name) == (root[:16], sealed.bundle_id)


def test_same_folder_and_time_give_the_same_bundle_byte_for_byte(
        seal_folder: Callable[..., SealResult], tmp_path: Path) -> None:
    first = seal_folder(out_dir=tmp_path / "one")
    again = seal_folder(out_dir=tmp_path / "two", created_at_ms=first.created_at_ms)
    assert again.bundle_path.name == first.bundle_path.name
    assert again.bundle_path.read_bytes() == first.bundle_path.read_bytes()
    assert again.tl_seq == first.tl_seq  # the log returned the same entry


def test_compressed_files_are_stored_and_text_deflated(
        seal_folder: Callable[..., SealResult]) -> None:
    result = seal_folder({"photo.jpg": os.urandom(5000), "log.txt": b"line\n" * 5000})
    with zipfile.ZipFile(result.bundle_path) as zf:
        assert zf.getinfo("files/photo.jpg").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("files/log.txt").compress_type == zipfile.ZIP_DEFLATED


def test_no_temporary_files_stay_in_the_output_folder(sealed: SealResult) -> None:
    assert [p.name for p in sealed.bundle_path.parent.iterdir()] == [sealed.bundle_path.name]


def _error(run: Callable[[], object]) -> ContractError:
    with pytest.raises(ContractError) as caught:
        run()
    assert caught.value.exit_code == 2
    return caught.value


def test_refusals_are_environment_errors(tmp_path: Path, signer: LocalSigner) -> None:
    source = make_tree(tmp_path / "in", {"a": b"1"})

    def attempt(**fields: object) -> ContractError:
        request = SealRequest(**{"input_dir": source, "out_dir": tmp_path / "out",
                                 "org_id": "ORG", "batch_id": "b", "tl_mode": "none",
                                 **fields})  # type: ignore[arg-type]
        return _error(lambda: seal(request, signer=signer))

    assert attempt(input_dir=tmp_path / "missing").code == "INPUT_NOT_FOUND"
    assert attempt(out_dir=source / "inside").code == "INPUT_INVALID"
    assert attempt(batch_id="../escape").code == "INPUT_INVALID"
    assert attempt(org_id="a/b").code == "INPUT_INVALID"
    assert attempt(tl_mode="required").code == "TL_UNAVAILABLE"  # no log given


def test_symbolic_links_are_refused_and_nothing_is_written(
        tmp_path: Path, signer: LocalSigner) -> None:
    source = make_tree(tmp_path / "in", {"a": b"1"})
    (tmp_path / "secret").write_text("outside")
    (source / "link").symlink_to(tmp_path / "secret")
    request = SealRequest(input_dir=source, out_dir=tmp_path / "out", org_id="ORG",
                          batch_id="b", tl_mode="none")
    assert "symbolic link" in _error(lambda: seal(request, signer=signer)).message
    assert not (tmp_path / "out").exists()  # not even the --out folder


def test_a_failed_seal_removes_the_out_folders_it_created_and_only_those(
        tmp_path: Path, signer: LocalSigner) -> None:
    source = make_tree(tmp_path / "in", {"a": b"1"})
    (tmp_path / "kept").mkdir()
    request = SealRequest(input_dir=source, out_dir=tmp_path / "kept" / "new" / "out",
                          org_id="ORG", batch_id="b", tl_mode="required")
    _error(lambda: seal(request, signer=signer, open_tl=None))  # required, but no log
    assert (tmp_path / "kept").is_dir() and list((tmp_path / "kept").iterdir()) == []


def test_tl_modes(seal_folder: Callable[..., SealResult], tmp_path: Path,
                  signer: LocalSigner) -> None:
    assert seal_folder(tl_mode="none").tl_seq is None
    source = make_tree(tmp_path / "tl", {"a": b"1"})

    def broken() -> LocalTransparencyLog:
        raise OSError("the log's disk is gone")

    best = seal(SealRequest(input_dir=source, out_dir=tmp_path / "best", org_id="ORG",
                            batch_id="b", tl_mode="best_effort"), signer=signer, open_tl=broken)
    assert best.tl_seq is None
    with zipfile.ZipFile(best.bundle_path) as zf:
        assert "tl_proof.json" not in zf.namelist()
    required = SealRequest(input_dir=source, out_dir=tmp_path / "req", org_id="ORG",
                           batch_id="b", tl_mode="required")
    error = _error(lambda: seal(required, signer=signer, open_tl=broken))
    assert error.code == "TL_UNAVAILABLE"
    assert not list((tmp_path / "req").glob("*"))


def test_an_empty_folder_seals_with_the_empty_root(
        tmp_path: Path, signer: LocalSigner, verify: Callable[..., VerifyReport]) -> None:
    source = tmp_path / "empty"
    source.mkdir()
    result = seal(SealRequest(input_dir=source, out_dir=tmp_path / "out", org_id="ORG",
                              batch_id="b", tl_mode="none"), signer=signer)
    assert result.merkle_root == "cid:sha256:" + EMPTY_ROOT
    assert result.files == 0
    assert verify(result.bundle_path).exit_code == 0


def test_progress_reports_bytes_read(tmp_path: Path, signer: LocalSigner) -> None:
    source = make_tree(tmp_path / "in", {"a": b"x" * 3_000_000, "b": b"y"})
    seen: list[int] = []
    from domain.oord.seal import SealHooks

    seal(SealRequest(input_dir=source, out_dir=tmp_path / "out", org_id="ORG", batch_id="b",
                     tl_mode="none"), signer=signer, hooks=SealHooks(progress=seen.append))
    assert seen == sorted(seen) and seen[-1] >= 3_000_001
    assert len(seen) >= 3  # streamed in chunks, not read whole
