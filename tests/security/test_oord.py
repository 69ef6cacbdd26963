"""Bundles from senders we do not control (docs/security.md, "Bundles" and "Paths").

A bundle proves nothing by itself: only a key in the verifier's trusted set makes it
pass, whatever keys it ships. A bundle is untrusted input until every check passed:
no entry of any unsafe shape is ever written, and the receiver writes only below its
verified root and its quarantine folder, never through a link planted there.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.oord import OordSettings, get_oord_settings
from domain.oord.agent import receiver, sender
from domain.oord.archive import Limits
from domain.oord.keys import load_private_key
from domain.oord.seal import SealRequest, SealResult, seal
from domain.oord.signers import LocalSigner
from domain.oord.tl_local import LocalTransparencyLog
from domain.oord.verify import VerifyReport
from store import oord as state
from tests.support.oord import (
    SAMPLE_FILES,
    Entry,
    KeyPaths,
    entry,
    make_keys,
    make_tree,
    replace_json,
    rewrite,
)

Verify = Callable[..., VerifyReport]
NO_WAIT = lambda attempts: 0.0  # noqa: E731  (the tests drive the clock)


def _outcomes(report: VerifyReport) -> dict[str, str]:
    return {check.name: check.outcome for check in report.checks}


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ---- untrusted keys ---------------------------------------------------------------------

def _sealed_by(keys: KeyPaths, tmp_path: Path, name: str, *, tl_keys: KeyPaths | None = None,
               ) -> SealResult:
    tl = tl_keys or keys
    return seal(SealRequest(input_dir=make_tree(tmp_path / f"in-{name}", SAMPLE_FILES),
                            out_dir=tmp_path / f"out-{name}", org_id="ORG", batch_id=name),
                signer=LocalSigner(load_private_key(keys.signing_key)),
                open_tl=lambda: LocalTransparencyLog(load_private_key(tl.tl_key)))


def test_a_bundle_shipping_its_own_keys_does_not_make_itself_trusted(
        tmp_path: Path, verify: Verify) -> None:
    # Given a bundle sealed and logged by a stranger, whose jwks_snapshot.json holds
    # exactly the stranger's keys (signing and TL)
    stranger = make_keys(tmp_path / "stranger")
    forged = _sealed_by(stranger, tmp_path, "forged")
    with zipfile.ZipFile(forged.bundle_path) as zf:
        snapshot = json.loads(zf.read("jwks_snapshot.json"))
    assert forged.key_id in {k["kid"] for k in snapshot["keys"]}
    # When our verifier checks it against our trusted set
    report = verify(forged.bundle_path)
    # Then it fails on the key (exit 1): the snapshot is never consulted
    assert report.exit_code == 1
    assert _outcomes(report)["key"] == "fail" and _outcomes(report)["signature"] == "skip"
    # ... and verifying with the bundle's own snapshot as "trusted" is the only way to
    # pass it: trust is the verifier's file, never the bundle's.
    own = tmp_path / "own.jwks.json"
    own.write_text(json.dumps(snapshot))
    assert verify(forged.bundle_path, trusted_jwks=own).exit_code == 0


def test_a_proof_from_an_untrusted_log_fails(tmp_path: Path, verify: Verify,
                                             keys: KeyPaths) -> None:
    # Signed by our trusted key, but logged by a transparency log we do not trust.
    rogue_log = make_keys(tmp_path / "rogue-log")
    bundle = _sealed_by(keys, tmp_path, "rogue-tl", tl_keys=rogue_log)
    report = verify(bundle.bundle_path)
    assert report.exit_code == 1 and _outcomes(report)["tl_signature"] == "fail"
    assert _outcomes(report)["signature"] == "pass"


def test_a_snapshot_naming_a_trusted_kid_with_the_forgers_key_fails(
        tmp_path: Path, verify: Verify, keys: KeyPaths) -> None:
    stranger = make_keys(tmp_path / "stranger")
    forged = _sealed_by(stranger, tmp_path, "relabelled")
    trusted_kid = json.loads(keys.trusted_jwks.read_text())["keys"][0]["kid"]

    def relabel(entries: list[Entry]) -> list[Entry]:
        entries = replace_json(entries, "manifest.json", lambda m: m.update(key_id=trusted_kid))
        return replace_json(entries, "jwks_snapshot.json", lambda s: [
            k.update(kid=trusted_kid) for k in s["keys"]])

    report = verify(rewrite(forged.bundle_path, tmp_path / "relabelled.zip", relabel))
    assert report.exit_code == 1 and _outcomes(report)["signature"] == "fail"


def test_a_trusted_set_writable_by_others_is_refused(tmp_path: Path, verify: Verify,
                                                     keys: KeyPaths,
                                                     seal_folder: Callable[..., SealResult],
                                                     ) -> None:
    bundle = seal_folder()
    os.chmod(keys.trusted_jwks, 0o666)  # anyone could add a key of theirs to it
    report = verify(bundle.bundle_path)
    assert report.exit_code == 2 and _outcomes(report)["key"] == "error"
    assert "writable by group or others" in report.checks[5].detail
    os.chmod(keys.trusted_jwks, 0o644)
    assert verify(bundle.bundle_path).exit_code == 0


# ---- unsafe entries: exit 1, nothing written --------------------------------------------

UNSAFE_ENTRIES: dict[str, Entry] = {
    "traversal": entry("files/../../evil.txt", b"pwned"),
    "traversal_at_the_top": entry("../evil.txt", b"pwned"),
    "absolute": entry("/tmp/evil.txt", b"pwned"),
    "drive_letter": entry("C:/evil.txt", b"pwned"),
    "backslashes": entry("files\\..\\..\\evil.txt", b"pwned"),
    "control_character": entry("files/evil\x1b.txt", b"pwned"),
    "empty_component": entry("files//evil.txt", b"pwned"),
    "symlink": entry("files/link", b"/etc/passwd", mode=0o120777),
    "character_device": entry("files/tty", b"", mode=0o020644),
    "block_device": entry("files/disk", b"", mode=0o060644),
    "fifo": entry("files/pipe", b"", mode=0o010644),
    "folder_entry": entry("files/folder/", b"", mode=0o040755),
    "outside_files": entry("evil.sh", b"#!/bin/sh\n"),
    "file_and_folder": entry("files/a.txt/inner", b"x"),
    "duplicate": entry("files/a.txt", b"second copy"),
    "zip_bomb_ratio": entry("files/zeros", b"\0" * (20 << 20), method=zipfile.ZIP_DEFLATED),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # zipfile warns of the duplicate we write
@pytest.mark.parametrize("shape", sorted(UNSAFE_ENTRIES))
def test_no_unsafe_entry_is_ever_written(shape: str, verify: Verify, tmp_path: Path,
                                         seal_folder: Callable[..., SealResult]) -> None:
    bundle = seal_folder()
    crafted = rewrite(bundle.bundle_path, tmp_path / "crafted.zip",
                      lambda e: [*e, UNSAFE_ENTRIES[shape]])
    stage = tmp_path / "verified" / "ORG" / "batch" / "x.tmp"
    before = _files_under(tmp_path)
    report = verify(crafted, extract_to=stage)
    assert report.exit_code == 1 and _outcomes(report)["archive"] == "fail", report.summary()
    assert _files_under(tmp_path) == before  # not one file, not even the stage folder
    assert not Path("/tmp/evil.txt").exists()


@pytest.mark.parametrize(("limits", "why"), [
    (Limits(max_total_bytes=1000, max_entries=10_000, max_ratio=200), "bytes uncompressed"),
    (Limits(max_total_bytes=1 << 40, max_entries=5, max_ratio=200), "entries"),
])
def test_declared_sizes_and_counts_are_bounded_before_reading(
        limits: Limits, why: str, verify: Verify, tmp_path: Path,
        seal_folder: Callable[..., SealResult]) -> None:
    bundle = seal_folder()
    stage = tmp_path / "stage.tmp"
    report = verify(bundle.bundle_path, limits=limits, extract_to=stage)
    assert report.exit_code == 1 and why in report.checks[0].problems[0]
    assert not stage.exists()


# ---- the receiver's folders -------------------------------------------------------------

@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keys: KeyPaths) -> OordSettings:
    monkeypatch.setenv("OORD_STATE_DIR", str(tmp_path / "oord"))
    monkeypatch.setenv("OORD_SETTLE_SECONDS", "0")
    for name, value in keys.env().items():
        monkeypatch.setenv(name, value)
    return get_oord_settings()


def _deliver(settings: OordSettings, tmp_path: Path, batch: str = "invoices") -> str:
    """Seal a batch with the agent's sender and hand the bundle to its receiver."""
    make_tree(settings.watch_dir / batch, SAMPLE_FILES)
    sender.discover_batches(settings)
    sealed = sender.seal_batch(f"batch-{batch}", settings=settings, token="s", worker="w",
                               backoff=NO_WAIT)
    bundle = Path(sealed["bundle"])
    settings.incoming_dir.mkdir(parents=True, exist_ok=True)
    os.replace(bundle, settings.incoming_dir / bundle.name)
    assert receiver.discover_bundles(settings) == [bundle.name]
    return bundle.name


def _receive(settings: OordSettings, name: str) -> dict[str, Any]:
    return receiver.verify_incoming(name, settings=settings, token="r", worker="w",
                                    backoff=NO_WAIT)


@pytest.mark.parametrize("level", ["org", "batch"])
def test_a_link_planted_under_the_verified_root_is_never_followed(
        agent: OordSettings, tmp_path: Path, level: str) -> None:
    # Given a link where the receiver will create verified/<org_id>/<batch_id>/
    name = _deliver(agent, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    org = agent.verified_root / "ORG-LOCAL"
    if level == "org":
        agent.verified_root.mkdir(parents=True)
        org.symlink_to(elsewhere, target_is_directory=True)
    else:
        org.mkdir(parents=True)
        (org / "batch-invoices").symlink_to(elsewhere, target_is_directory=True)
    # When the receiver verifies the (good) bundle
    outcome = _receive(agent, name)
    # Then nothing is written through the link: the attempt is retried, and says why
    assert outcome["state"] == state.RETRY
    assert list(elsewhere.iterdir()) == []
    row = state.get_row(state.RECEIVER, name)
    assert row is not None and "symbolic link" in row["last_error"]
    # ... and once the link is gone, the bundle goes through.
    (org if level == "org" else org / "batch-invoices").unlink()
    assert _receive(agent, name)["state"] == state.VERIFIED


def test_the_stage_cleanup_removes_nothing_reached_through_a_link(
        agent: OordSettings, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "batch" / "precious.tmp").mkdir(parents=True)
    agent.verified_root.mkdir(parents=True)
    (agent.verified_root / "ORG").symlink_to(elsewhere, target_is_directory=True)
    assert receiver.clean_stages(agent) == []
    assert (elsewhere / "batch" / "precious.tmp").is_dir()


def test_a_link_planted_in_the_quarantine_folder_is_never_written_through(
        agent: OordSettings, tmp_path: Path) -> None:
    # Given a tampered bundle, and links planted where its quarantine files would go
    name = _deliver(agent, tmp_path)
    bundle = agent.incoming_dir / name
    tampered = rewrite(bundle, tmp_path / "tampered.zip", lambda entries: [
        (i, d.replace(b"hello", b"jello") if i.filename == "files/a.txt" else d)
        for i, d in entries])
    os.replace(tampered, bundle)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    agent.quarantine_dir.mkdir(parents=True)
    (agent.quarantine_dir / f"{name}.reason.json").symlink_to(victim)
    (agent.quarantine_dir / f"{name}.1").symlink_to(tmp_path / "dangling")
    # When it is quarantined
    outcome = _receive(agent, name)
    # Then the victim is untouched and the bundle went to a free name
    assert outcome["state"] == state.QUARANTINED
    assert victim.read_text() == "keep me\n" and not (tmp_path / "dangling").exists()
    target = Path(outcome["quarantine_path"])
    assert target.name == f"{name}.2" and target.is_file() and not target.is_symlink()
    assert json.loads((agent.quarantine_dir / f"{name}.2.reason.json").read_text())["ok"] is False
    # ... and nothing of a bundle that failed is left under the verified root
    assert [p for p in agent.verified_root.rglob("*") if not p.is_dir()] == []
