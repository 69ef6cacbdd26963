"""Verify: every check in order; tampering exits 1, an unreadable bundle 2; nothing unsafe
is ever written."""

from __future__ import annotations

import os
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.oord.archive import Limits
from domain.oord.keys import load_private_key
from domain.oord.seal import SealRequest, SealResult, seal
from domain.oord.signers import LocalSigner
from domain.oord.verify import CHECKS, VerifyReport
from tests.domain.oord.conftest import outcomes
from tests.support.oord import (
    SAMPLE_FILES,
    Entry,
    entry,
    flip_byte_in_file,
    make_keys,
    make_tree,
    replace_json,
    rewrite,
)

Verify = Callable[..., VerifyReport]
PHOTO = os.urandom(20_000)


@pytest.fixture
def bundle(seal_folder: Callable[..., SealResult]) -> SealResult:
    return seal_folder({**SAMPLE_FILES, "photo.jpg": PHOTO})


def _failed(report: VerifyReport) -> set[str]:
    return {c.name for c in report.checks if c.outcome == "fail"}


def test_a_sealed_bundle_passes_every_check_in_order(bundle: SealResult, verify: Verify) -> None:
    report = verify(bundle.bundle_path)
    assert [c.name for c in report.checks] == list(CHECKS)
    assert outcomes(report) == {**dict.fromkeys(CHECKS, "pass"), "tl_online": "skip"}
    assert report.exit_code == 0
    assert report.bundle_id == bundle.bundle_id


# ---- tampering: exit 1 ------------------------------------------------------------------

def test_a_changed_byte_in_a_file_fails(bundle: SealResult, verify: Verify) -> None:
    flip_byte_in_file(bundle.bundle_path, "files/photo.jpg", offset=1234)
    report = verify(bundle.bundle_path)
    assert report.exit_code == 1
    assert _failed(report) == {"files"}


def test_changed_content_with_a_valid_zip_fails(bundle: SealResult, verify: Verify,
                                                tmp_path: Path) -> None:
    def change(entries: list[Entry]) -> list[Entry]:
        return [(i, d.replace(b"hello", b"jello") if i.filename == "files/a.txt" else d)
                for i, d in entries]

    report = verify(rewrite(bundle.bundle_path, tmp_path / "t.zip", change))
    assert report.exit_code == 1 and "files" in _failed(report)


def test_an_extra_file_fails(bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    extra = rewrite(bundle.bundle_path, tmp_path / "extra.zip",
                    lambda e: [*e, entry("files/zz-added.txt", b"surprise")])
    report = verify(extra)
    assert report.exit_code == 1 and _failed(report) == {"files"}
    assert any("zz-added" in p for c in report.checks for p in c.problems)
    top = rewrite(bundle.bundle_path, tmp_path / "top.zip",
                  lambda e: [*e, entry("notes.txt", b"surprise")])
    assert verify(top).exit_code == 1 and _failed(verify(top)) == {"archive"}


def test_a_missing_file_fails(bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    missing = rewrite(bundle.bundle_path, tmp_path / "m.zip",
                      lambda e: [x for x in e if x[0].filename != "files/docs/readme.md"])
    report = verify(missing)
    assert report.exit_code == 1 and _failed(report) == {"files"}


def test_a_bundle_signed_by_an_untrusted_key_fails(tmp_path: Path, verify: Verify) -> None:
    # Given a bundle sealed by keys this verifier does not trust (its own snapshot has them)
    stranger = make_keys(tmp_path / "stranger")
    result = seal(SealRequest(input_dir=make_tree(tmp_path / "in", SAMPLE_FILES),
                              out_dir=tmp_path / "out", org_id="ORG", batch_id="b",
                              tl_mode="none"),
                  signer=LocalSigner(load_private_key(stranger.signing_key)))
    report = verify(result.bundle_path)
    assert report.exit_code == 1
    assert outcomes(report)["key"] == "fail" and outcomes(report)["signature"] == "skip"


def test_claiming_a_trusted_key_id_does_not_help_a_forger(
        tmp_path: Path, verify: Verify, bundle: SealResult) -> None:
    stranger = make_keys(tmp_path / "stranger")
    forged = seal(SealRequest(input_dir=make_tree(tmp_path / "in", SAMPLE_FILES),
                              out_dir=tmp_path / "out2", org_id="ORG", batch_id="b",
                              tl_mode="none"),
                  signer=LocalSigner(load_private_key(stranger.signing_key)))
    with zipfile.ZipFile(bundle.bundle_path) as zf:
        import json

        trusted_kid = json.loads(zf.read("manifest.json"))["key_id"]
    relabeled = rewrite(forged.bundle_path, tmp_path / "relabel.zip", lambda e: replace_json(
        e, "manifest.json", lambda m: m.update(key_id=trusted_kid)))
    report = verify(relabeled)
    assert report.exit_code == 1 and _failed(report) == {"signature"}


def test_an_edited_manifest_fails_the_signature(bundle: SealResult, verify: Verify,
                                                tmp_path: Path) -> None:
    edited = rewrite(bundle.bundle_path, tmp_path / "e.zip", lambda e: replace_json(
        e, "manifest.json", lambda m: m.update(batch_id="another-batch")))
    report = verify(edited)
    assert report.exit_code == 1 and _failed(report) == {"signature"}


def test_a_wrong_tl_root_fails(bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    wrong = rewrite(bundle.bundle_path, tmp_path / "tl.zip", lambda e: replace_json(
        e, "tl_proof.json", lambda p: p.update(merkle_root="cid:sha256:" + "0" * 64)))
    report = verify(wrong)
    assert report.exit_code == 1 and _failed(report) == {"tl_proof"}


def test_a_forged_tl_signature_fails(bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    other = rewrite(bundle.bundle_path, tmp_path / "sig.zip", lambda e: replace_json(
        e, "tl_proof.json", lambda p: p.update(sth_sig=p["tree_head_sig"])))
    report = verify(other)
    assert report.exit_code == 1 and _failed(report) == {"tl_signature"}


def test_a_renamed_bundle_with_a_foreign_id_fails_its_name(bundle: SealResult,
                                                          verify: Verify) -> None:
    renamed = bundle.bundle_path.with_name(bundle.bundle_path.name.replace(
        bundle.bundle_id, "0123456789abcdef"))
    bundle.bundle_path.rename(renamed)
    report = verify(renamed)
    assert report.exit_code == 1 and _failed(report) == {"bundle_name"}
    plain = renamed.rename(renamed.with_name("any-name.zip"))
    assert outcomes(verify(plain))["bundle_name"] == "skip"


def test_strict_requires_a_tl_proof(seal_folder: Callable[..., SealResult],
                                    verify: Verify) -> None:
    result = seal_folder(tl_mode="none")
    assert verify(result.bundle_path).exit_code == 0
    assert outcomes(verify(result.bundle_path))["tl_proof"] == "skip"
    assert verify(result.bundle_path, strict=True).exit_code == 1


# ---- unreadable: exit 2 -----------------------------------------------------------------

def test_a_missing_path_a_folder_and_a_bad_zip_exit_2(tmp_path: Path, verify: Verify,
                                                      bundle: SealResult) -> None:
    assert verify(tmp_path / "nope.zip").exit_code == 2
    assert verify(tmp_path).exit_code == 2
    junk = tmp_path / "junk.zip"
    junk.write_bytes(os.urandom(4000))
    report = verify(junk)
    assert report.exit_code == 2 and outcomes(report)["archive"] == "error"
    truncated = tmp_path / "half.zip"
    truncated.write_bytes(bundle.bundle_path.read_bytes()[:-300])
    assert verify(truncated).exit_code == 2


def test_a_missing_trusted_key_set_exits_2(bundle: SealResult, verify: Verify,
                                           tmp_path: Path) -> None:
    report = verify(bundle.bundle_path, trusted_jwks=tmp_path / "none.json")
    assert report.exit_code == 2 and outcomes(report)["key"] == "error"


# ---- unsafe archives: exit 1, nothing written -------------------------------------------

def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["files/../../evil.txt", "../evil.txt", "/tmp/evil.txt",
                                  "files/a/../../../evil.txt", "files\\..\\evil.txt"])
def test_zip_slip_names_are_rejected_and_nothing_is_written(
        name: str, bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    slip = rewrite(bundle.bundle_path, tmp_path / "slip.zip",
                   lambda e: [*e, entry(name, b"pwned")])
    before = _tree(tmp_path)
    report = verify(slip, extract_to=tmp_path / "stage" / "x.tmp")
    assert report.exit_code == 1 and "archive" in _failed(report)
    assert _tree(tmp_path) == before
    assert not Path("/tmp/evil.txt").exists()


def test_a_nul_byte_in_a_name_is_rejected(bundle: SealResult, verify: Verify,
                                          tmp_path: Path) -> None:
    crafted = rewrite(bundle.bundle_path, tmp_path / "nul.zip",
                      lambda e: [*e, entry("files/evil_.txt", b"pwned")])
    crafted.write_bytes(crafted.read_bytes().replace(b"files/evil_.txt", b"files/evil\0.txt"))
    report = verify(crafted)
    assert report.exit_code == 1 and "archive" in _failed(report)


def test_symlink_entries_are_rejected_and_nothing_is_written(
        bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    link = rewrite(bundle.bundle_path, tmp_path / "link.zip",
                   lambda e: [*e, entry("files/link", b"/etc/passwd", mode=0o120777)])
    before = _tree(tmp_path)
    report = verify(link, extract_to=tmp_path / "stage" / "x.tmp")
    assert report.exit_code == 1 and _failed(report) == {"archive"}
    assert any("symbolic link" in p for p in report.checks[0].problems)
    assert _tree(tmp_path) == before


def test_duplicate_names_are_rejected(bundle: SealResult, verify: Verify,
                                      tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we want
        dup = rewrite(bundle.bundle_path, tmp_path / "dup.zip",
                      lambda e: [*e, entry("files/a.txt", b"second copy")])
    report = verify(dup)
    assert report.exit_code == 1 and "archive" in _failed(report)
    assert any("duplicate" in p for p in report.checks[0].problems)


def test_a_high_ratio_entry_is_a_zip_bomb(bundle: SealResult, verify: Verify,
                                          tmp_path: Path) -> None:
    bomb = rewrite(bundle.bundle_path, tmp_path / "bomb.zip", lambda e: [
        *e, entry("files/zeros", b"\0" * (20 << 20), method=zipfile.ZIP_DEFLATED)])
    report = verify(bomb, extract_to=tmp_path / "stage.tmp")
    assert report.exit_code == 1 and _failed(report) == {"archive"}
    assert "zip bomb" in report.checks[0].problems[0]
    assert not (tmp_path / "stage.tmp").exists()


def test_size_and_entry_limits(bundle: SealResult, verify: Verify) -> None:
    small = Limits(max_total_bytes=1000, max_entries=10_000, max_ratio=200)
    assert _failed(verify(bundle.bundle_path, limits=small)) == {"archive"}
    few = Limits(max_total_bytes=1 << 40, max_entries=3, max_ratio=200)
    assert _failed(verify(bundle.bundle_path, limits=few)) == {"archive"}


def test_overlapping_entries_are_a_zip_bomb(bundle: SealResult, verify: Verify) -> None:
    # Point the second central-directory record at the first entry's data.
    raw = bytearray(bundle.bundle_path.read_bytes())
    records = [i for i in range(len(raw)) if raw[i:i + 4] == b"PK\x01\x02"]
    first_offset = raw[records[0] + 42:records[0] + 46]
    raw[records[1] + 42:records[1] + 46] = first_offset
    bundle.bundle_path.write_bytes(bytes(raw))
    report = verify(bundle.bundle_path)
    assert report.exit_code == 1
    assert any("overlaps" in p for p in report.checks[0].problems)


# ---- extraction -------------------------------------------------------------------------

def test_extraction_writes_the_payload_only_when_everything_passes(
        bundle: SealResult, verify: Verify, tmp_path: Path) -> None:
    stage = tmp_path / "v" / "x.tmp"
    assert verify(bundle.bundle_path, extract_to=stage).exit_code == 0
    assert {str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file()} == \
        {*SAMPLE_FILES, "photo.jpg"}
    assert (stage / "photo.jpg").read_bytes() == PHOTO
    flip_byte_in_file(bundle.bundle_path, "files/photo.jpg", offset=10)
    other = tmp_path / "v" / "y.tmp"
    assert verify(bundle.bundle_path, extract_to=other).exit_code == 1
    assert not other.exists()


# ---- online TL check --------------------------------------------------------------------

@pytest.fixture
def tl_url() -> Iterator[str]:
    from domain.oord.tl_server import make_server

    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_online_check_confirms_the_entry(bundle: SealResult, verify: Verify,
                                             tl_url: str) -> None:
    report = verify(bundle.bundle_path, tl_url=tl_url)
    assert outcomes(report)["tl_online"] == "pass" and report.exit_code == 0


def test_an_entry_the_log_does_not_have_fails(bundle: SealResult, verify: Verify,
                                              tl_url: str) -> None:
    from sqlalchemy import text

    from store.engine import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM oord_tl_entries"))
    report = verify(bundle.bundle_path, tl_url=tl_url)
    assert outcomes(report)["tl_online"] == "fail" and report.exit_code == 1


def test_a_tl_outage_warns_and_under_strict_exits_2(bundle: SealResult, verify: Verify) -> None:
    from workers.ports import free_port

    down = f"http://127.0.0.1:{free_port()}"
    relaxed = verify(bundle.bundle_path, tl_url=down, tl_timeout_s=2)
    assert outcomes(relaxed)["tl_online"] == "warn" and relaxed.exit_code == 0
    strict = verify(bundle.bundle_path, tl_url=down, tl_timeout_s=2, strict=True)
    assert outcomes(strict)["tl_online"] == "error" and strict.exit_code == 2

