"""`synora cleanup quarantine` through the console script: modes, fields, text, exit codes."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest

from tests.support.synora import SAMPLE_TREE, Synora, snapshot

MINIMUM_FIELDS = {"operation_id", "package_id", "requested_mode", "mode", "status",
                  "mutation_boundary_reached", "rollback_attempted", "rollback_status",
                  "message"}


def _assert_uuid4(value: str) -> None:
    parsed = uuid.UUID(value)
    assert parsed.version == 4 and str(parsed) == value


def _rows_of(synora: Synora, operation_id: str) -> int:
    return (len(synora.history(operation_id)) + len(synora.entries(operation_id))
            + len(synora.backups(operation_id)))


@pytest.mark.parametrize("mode_flags", [[], ["--dry-run"]])
def test_dry_run_is_the_default_and_changes_nothing(synora: Synora, package_root: Path,
                                                    mode_flags: list[str]) -> None:
    # Given a registered package
    synora.add("Tool.Tool", package_root)
    before = snapshot(package_root)
    # When it is quarantined without --confirm
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", *mode_flags)
    # Then it is a plan only: nothing moved, one quarantine_planned row
    assert code == 0, out
    assert set(out) >= MINIMUM_FIELDS
    _assert_uuid4(out["operation_id"])
    assert {k: out[k] for k in MINIMUM_FIELDS - {"operation_id", "message"}} == {
        "package_id": "Tool.Tool", "requested_mode": "dry-run", "mode": "plan-only",
        "status": "quarantine_planned", "mutation_boundary_reached": False,
        "rollback_attempted": False, "rollback_status": "not_needed"}
    assert isinstance(out["message"], str) and "nothing was changed" in out["message"]
    assert out["files"] == len(SAMPLE_TREE)
    assert out["bytes"] == sum(len(data) for data in SAMPLE_TREE.values())
    assert snapshot(package_root) == before
    assert not (synora.home / "quarantine" / out["operation_id"]).exists()
    assert [row.status for row in synora.history(out["operation_id"])] == ["quarantine_planned"]
    assert out["audit_rows_written"] == 1 == _rows_of(synora, out["operation_id"])
    assert synora.package("Tool.Tool")["status"] == "installed"


def test_confirm_moves_every_file_into_quarantine_and_records_it(
        synora: Synora, package_root: Path) -> None:
    before = synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert code == 0, out
    op = out["operation_id"]
    _assert_uuid4(op)
    assert (out["requested_mode"], out["mode"], out["status"]) == (
        "confirm", "confirmed-execution", "quarantine_success")
    assert out["mutation_boundary_reached"] is True
    assert (out["rollback_attempted"], out["rollback_status"]) == (False, "not_needed")
    # The files are gone from the install path and in quarantine/<op>/ at the same
    # relative paths, with the same bytes and modes.
    qdir = synora.home / "quarantine" / op
    assert not package_root.exists()
    moved = snapshot(qdir)
    assert {rel: v for rel, v in moved.items() if v[0] == "file"} == {
        rel: v for rel, v in tree.items() if v[0] == "file"}
    # One row per file with its original location and sha256; the registry entry backed
    # up as it was, then marked quarantined.
    files = [e for e in synora.entries(op) if e.kind == "file"]
    assert sorted(e.relative_path for e in files) == sorted(SAMPLE_TREE)
    for entry in files:
        assert entry.original_location == str(package_root / entry.relative_path)
        assert entry.file_path == str(qdir / entry.relative_path)
        assert entry.sha256 == hashlib.sha256(SAMPLE_TREE[entry.relative_path]).hexdigest()
        assert entry.outcome == "quarantined"
    (backup,) = synora.backups(op)
    assert json.loads(backup.backup_blob) == before
    assert (backup.hive, backup.key_path) == ("synora", "software/Tool.Tool")
    after = synora.package("Tool.Tool")
    assert (after["status"], after["quarantine_operation_id"]) == ("quarantined", op)
    assert out["audit_rows_written"] == _rows_of(synora, op)


def test_audit_rows_are_written_in_the_contract_sequence(synora: Synora,
                                                         package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert code == 0, out
    op = out["operation_id"]
    confirmed, success = synora.history(op)
    assert (confirmed.status, success.status) == ("quarantine_confirmed", "quarantine_success")
    (backup,) = synora.backups(op)
    entries = synora.entries(op)
    # 1. confirmed, 2. backup evidence (registry_backup, then the candidate rows),
    # 4. terminal status: timestamps never go backwards along the sequence.
    sequence = [confirmed.timestamp, backup.timestamp, *(e.timestamp for e in entries),
                success.timestamp]
    assert sequence == sorted(sequence)
    assert confirmed.id < success.id
    assert success.details["files"] == len(SAMPLE_TREE)


def test_text_mode_summary_and_verbose_additions(synora: Synora, package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    plain = synora.run("cleanup", "quarantine", "--id", "Tool.Tool")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert lines[0].startswith("operation_id: ")
    assert lines[1] == "status: quarantine_planned"
    assert lines[2] == "rollback_status: not_needed"
    assert not any(line.startswith(("precheck_paths:", "audit_rows_written:")) for line in lines)

    verbose = synora.run("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    fields = dict(line.split(": ", 1) for line in verbose.stdout.splitlines())
    assert fields["status"] == "quarantine_success"
    op = fields["operation_id"]
    assert fields["precheck_paths"] == f"{package_root}, {synora.home / 'quarantine' / op}"
    assert fields["mutation_boundary_reached"] == "true"
    assert int(fields["audit_rows_written"]) == _rows_of(synora, op)
    assert verbose.stderr == ""


def test_verbose_is_ignored_in_json_mode(synora: Synora, package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--verbose")
    assert code == 0
    assert "precheck_paths" not in out and out["status"] == "quarantine_planned"


def test_each_execution_gets_its_own_operation_id(synora: Synora, package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    ids = {synora.json("cleanup", "quarantine", "--id", "Tool.Tool")[1]["operation_id"]
           for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("args", [
    ["--id", "Tool.Tool", "--dry-run", "--confirm"],
    [],                                   # --id missing
    ["--id"],                             # --id without a value
    ["--id", ""],                         # --id empty
    ["--id", "has space"],                # not an id
    ["--id", "Tool.Tool", "--risk", "extreme"],
    ["--id", "Tool.Tool", "--bogus"],
])
def test_usage_errors_exit_2_in_both_modes(synora: Synora, package_root: Path,
                                           args: list[str]) -> None:
    synora.add("Tool.Tool", package_root)
    text = synora.run("cleanup", "quarantine", *args)
    assert text.returncode == 2
    assert text.stdout == "" and text.stderr.startswith("synora: error: ")
    result = synora.run("cleanup", "quarantine", *args, "--json")
    assert result.returncode == 2
    error = json.loads(result.stderr)
    assert error["error"] is True and error["code"] in ("USAGE_ERROR", "INVALID_PACKAGE_ID")
    assert error["message"]
    assert result.stdout == ""
    # no operation was started: nothing in the audit
    assert synora.history() == []


def test_unknown_package_fails_with_exit_4_and_is_audited(synora: Synora) -> None:
    code, out = synora.json("cleanup", "quarantine", "--id", "No.Such", "--confirm")
    assert code == 4
    assert (out["status"], out["error_code"]) == ("quarantine_failed", "PACKAGE_NOT_FOUND")
    assert (out["mutation_boundary_reached"], out["rollback_status"]) == (False, "not_needed")
    assert [r.status for r in synora.history(out["operation_id"])] == [
        "quarantine_confirmed", "quarantine_failed"]
    assert out["audit_rows_written"] == 2


def test_a_quarantined_package_cannot_be_quarantined_again(synora: Synora,
                                                           package_root: Path) -> None:
    synora.add("Tool.Tool", package_root)
    first_code, first = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert first_code == 0
    held = snapshot(synora.home / "quarantine")
    code, out = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm")
    assert code == 4
    assert out["error_code"] == "PACKAGE_NOT_INSTALLED"
    assert first["operation_id"] in out["message"]
    assert snapshot(synora.home / "quarantine") == held


def test_missing_install_path_is_a_runtime_failure(synora: Synora, tmp_path: Path) -> None:
    synora.add("Gone.Gone", tmp_path / "never-created")
    code, out = synora.json("cleanup", "quarantine", "--id", "Gone.Gone", "--confirm")
    assert (code, out["error_code"], out["status"]) == (4, "INSTALL_PATH_MISSING",
                                                        "quarantine_failed")


def test_runtime_failure_in_text_mode_still_prints_the_summary(synora: Synora) -> None:
    result = synora.run("cleanup", "quarantine", "--id", "No.Such")
    assert result.returncode == 4
    lines = result.stdout.splitlines()
    assert lines[1:3] == ["status: quarantine_failed", "rollback_status: not_needed"]
    assert "error_code: PACKAGE_NOT_FOUND" in lines


def test_bad_setting_is_a_usage_error(synora: Synora) -> None:
    result = synora.run("cleanup", "quarantine", "--id", "X", "--json",
                        extra_env={"SYNORA_HOME": "relative/home"})
    assert result.returncode == 2
    assert "SYNORA_HOME" in json.loads(result.stderr)["message"]
