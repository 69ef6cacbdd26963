"""`synora` with generated bad input: the contract's outputs and exit codes, stores unchanged.

synora-cleanup-quarantine.md: exit 0 success, 2 usage, 3 security block, 4 runtime,
10 internal (never for bad input). Once an operation exists its outcome is on stdout
(JSON with the contract's minimum fields, or the text summary); errors before that are on
stderr, as {"error": true, "code", "message", "details"} with --json, else one line
`synora: error: <message>` (docs/synora.md). Rejected input changes no registry row, no
backup or quarantine row and no file; only audit intent rows may be added, as many as
the outcome says it wrote.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.synora import synora as synora_command
from cli.synora_output import SynoraErrorFormat, wants_json
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.rest_support import (
    FILE_KINDS,
    Result,
    command_line,
    hostile_text,
    invoke_script,
    make_hostile_file,
    mostly,
    nasty_lines,
    near_uuid,
    one_bad_option,
    sandboxed,
    tree_state,
)
from tests.support.synora import make_tree

EXIT_OF = {
    "USAGE_ERROR": 2, "INVALID_PACKAGE_ID": 2, "INVALID_OPERATION_ID": 2,
    "UNSAFE_PACKAGE_ID": 3, "RISK_REQUIRES_CONFIRM": 3, "PATH_NOT_CANONICAL": 3,
    "PATH_NOT_ALLOWED": 3, "SYMLINK_BLOCKED": 3, "UNSUPPORTED_ENTRY": 3,
    "PACKAGE_NOT_FOUND": 4, "PACKAGE_EXISTS": 4, "PACKAGE_NOT_INSTALLED": 4,
    "PACKAGE_BUSY": 4, "INSTALL_PATH_MISSING": 4, "OPERATION_NOT_FOUND": 4,
    "NOT_RESTORABLE": 4, "RESTORE_CONFLICT": 4, "INTEGRITY_MISMATCH": 4, "MOVE_FAILED": 4,
    "STORE_FAILED": 4, "INTERRUPTED": 4,
}
MINIMUM_FIELDS = ("operation_id", "package_id", "requested_mode", "mode", "status",
                  "mutation_boundary_reached", "rollback_attempted", "rollback_status",
                  "message")
STATUSES = ("quarantine_planned", "quarantine_confirmed", "quarantine_success",
            "quarantine_failed", "quarantine_rollback_success", "quarantine_rollback_failed",
            "restore_confirmed", "restore_success", "restore_failed",
            "restore_rollback_success", "restore_rollback_failed")
TEXT_KEYS = ("operation_id", "status", "rollback_status", "message", "error_code",
             "precheck_paths", "mutation_boundary_reached", "audit_rows_written")
PACKAGE_FIELDS = ("id", "name", "version", "source", "install_path", "risk_level", "status",
                  "quarantine_operation_id", "created_at", "updated_at")
TABLES = ("software", "update_history", "quarantine", "registry_backup")
PACKAGE = "Tool.Main"
HELP = ("--help", "-h")


@dataclass(frozen=True)
class Box:
    root: Path
    home: Path
    package: Path

    @property
    def db(self) -> Path:
        return self.home / "db" / "synora.db"


Synora = Callable[..., Result]


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Box:
    cwd = tmp_path / "a" / "b" / "cwd"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    # An empty SYNORA_HOME means $HOME/.synora: "~", defaults and all stay in here.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home = tmp_path / "synora-home"
    monkeypatch.setenv("SYNORA_HOME", str(home))
    return Box(tmp_path, home, make_tree(tmp_path / "apps" / "tool"))


@pytest.fixture
def synora(conveyor_home: Path, box: Box) -> Synora:
    """synora(*args): one in-process call; the package is registered first."""
    def run(*args: str) -> Result:
        fmt = SynoraErrorFormat(json_mode=wants_json(args))
        return invoke_script(synora_command, fmt, args, "synora", home=conveyor_home)

    added = run("package", "add", "--id", PACKAGE, "--name", "Tool", "--version", "1.0",
                "--install-path", str(box.package), "--json")
    assert added.code == 0, added.describe()
    return run


def db_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of Synora's tables, read without going through the code under test."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def stored(box: Box) -> tuple[dict[str, Any], dict[str, Any]]:
    """The database's rows and every file outside the database."""
    # Lock files stay after a confirm, by design (flock needs a file; it holds no data),
    # and so does the (empty) quarantine root once a quarantine made it.
    return db_rows(box.db), tree_state(box.root, skip=lambda rel: rel.startswith(
        ("synora-home/db", "synora-home/locks", "conveyor-home"))
        or rel == "synora-home/quarantine")


def error_of(result: Result, args: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The stderr error of a call that never made an operation; stdout is empty."""
    assert result.out == "", result.describe()
    if wants_json(args):
        error = json.loads(result.err)
        assert set(error) == {"error", "code", "message", "details"} and error["error"] is True
        assert EXIT_OF.get(error["code"]) == result.code, result.describe()
        return error  # type: ignore[no-any-return]
    assert result.err.startswith("synora: error: ") and result.err.endswith("\n"), \
        result.describe()
    assert result.err.count("\n") == 1, f"the error is not one line\n{result.describe()}"
    assert result.code in (2, 3, 4), result.describe()
    return {"message": result.err}


def outcome_of(result: Result, args: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The operation's outcome on stdout, JSON or text, with its exit code."""
    assert result.err == "", result.describe()
    if wants_json(args):
        outcome = json.loads(result.out)
        assert all(name in outcome for name in MINIMUM_FIELDS), outcome
        assert outcome["status"] in STATUSES, outcome
        assert outcome["requested_mode"] in ("dry-run", "confirm")
        assert outcome["mode"] in ("plan-only", "confirmed-execution")
        assert outcome["rollback_status"] in ("not_needed", "success", "failed")
        code = outcome["error_code"]
        assert (code is None and result.code == 0) or EXIT_OF.get(code) == result.code, \
            result.describe()
        return outcome  # type: ignore[no-any-return]
    lines = result.out.rstrip("\n").split("\n")
    keys = [line.split(": ", 1)[0] for line in lines]
    assert keys[:4] == ["operation_id", "status", "rollback_status", "message"] and \
        set(keys) <= set(TEXT_KEYS) and all(": " in line for line in lines), result.describe()
    fields = dict(line.split(": ", 1) for line in lines)
    assert result.code in (0, 2, 3, 4), result.describe()
    return {"operation_id": fields["operation_id"], "status": fields["status"],
            "audit_rows_written": int(fields["audit_rows_written"])
            if "audit_rows_written" in fields else None}


def is_help(result: Result, args: list[str] | tuple[str, ...]) -> bool:
    if result.code == 0 and list(args) == ["--version"]:  # every console script has it
        return result.out.startswith("synora, version")
    return result.code == 0 and any(a in HELP for a in args) and result.out.startswith("Usage:")


def assert_only_audit_rows_added(before: dict[str, Any], after: dict[str, Any],
                                 outcome: dict[str, Any] | None) -> None:
    """Nothing but the operation's own update_history rows is new; nothing changed."""
    rows_before, files_before = before
    rows_after, files_after = after
    assert files_after == files_before
    for table in ("software", "quarantine", "registry_backup"):
        assert rows_after[table] == rows_before[table], table
    old_count = len(rows_before["update_history"])
    assert rows_after["update_history"][:old_count] == rows_before["update_history"]
    new = rows_after["update_history"][old_count:]
    if outcome is None:
        assert new == []
        return
    assert all(outcome["operation_id"] in row for row in new), new
    if outcome.get("audit_rows_written") is not None:
        assert len(new) == outcome["audit_rows_written"], (new, outcome)


# ---- cleanup quarantine ---------------------------------------------------------------------

def ids() -> st.SearchStrategy[str]:
    return mostly(st.sampled_from([PACKAGE, "Other.Pkg", "tool.main", "Git.Git"]),
                  st.one_of(hostile_text(), near_uuid()))


@fuzz_settings(150)
@given(data=st.data())
def test_quarantine_bad_input_ends_in_the_contract_and_changes_nothing(
        synora: Synora, box: Box, data: st.DataObject) -> None:
    # Given: any command line; a confirmed success is restored right after
    args = data.draw(command_line(
        {"--id": ids(), "--risk": mostly(st.sampled_from(["low", "medium", "high", "critical"]),
                                         hostile_text())},
        flags=["--dry-run", "--confirm", "--json", "--verbose"]))
    before = stored(box)
    # When
    result = synora("cleanup", "quarantine", *args)
    # Then
    if is_help(result, args):
        return
    if result.out == "":
        error_of(result, args)
        assert_only_audit_rows_added(before, stored(box), None)
        return
    outcome = outcome_of(result, args)
    if result.code == 0 and outcome["status"] == "quarantine_success":
        restored = synora("cleanup", "restore", "--operation-id", outcome["operation_id"])
        assert restored.code == 0, restored.describe()
        assert stored(box)[1] == before[1]
        return
    assert_only_audit_rows_added(before, stored(box), outcome)


@fuzz_settings(100)
@given(data=st.data())
def test_restore_bad_input_ends_in_the_contract_and_changes_nothing(
        synora: Synora, box: Box, data: st.DataObject) -> None:
    args = data.draw(command_line({"--operation-id": st.one_of(near_uuid(), hostile_text())},
                                  flags=["--json", "--verbose"]))
    before = stored(box)
    result = synora("cleanup", "restore", *args)
    if is_help(result, args):
        return
    if result.out == "":
        error_of(result, args)
        assert_only_audit_rows_added(before, stored(box), None)
        return
    outcome = outcome_of(result, args)
    assert result.code == 4, result.describe()  # nothing here was ever quarantined
    assert_only_audit_rows_added(before, stored(box), outcome)


NASTY_POSITIONS = [
    ["cleanup", "quarantine", "--id", "{X}"], ["cleanup", "quarantine", "--id", "{X}", "--json"],
    ["cleanup", "quarantine", "--id", PACKAGE, "--risk", "{X}", "--verbose"],
    ["cleanup", "restore", "--operation-id", "{X}"],
    ["cleanup", "restore", "--operation-id", "{X}", "--json"],
    ["package", "show", "--id", "{X}"], ["package", "list", "--status", "{X}", "--json"],
    ["package", "add", "--id", "{X}", "--name", "N", "--version", "1", "--install-path", "/o/p"],
    ["package", "add", "--id", "Nasty.Name", "--name", "{X}", "--version", "1",
     "--install-path", "/o/name"],
    ["package", "add", "--id", "Nasty.Version", "--name", "V", "--version", "{X}",
     "--install-path", "/o/version"],
    ["package", "add", "--id", "Nasty.Path", "--name", "P", "--version", "1",
     "--install-path", "{X}"],
    ["package", "add", "--id", "Nasty.Source", "--name", "S", "--version", "1",
     "--install-path", "/o/source", "--source", "{X}", "--json"],
    ["cleanup", "{X}"], ["package", "{X}"], ["{X}"],
]


@pytest.mark.parametrize("template", NASTY_POSITIONS, ids=lambda t: "-".join(
    a.strip("-{}") for a in t if "/" not in a))
def test_every_nasty_string_in_every_position(synora: Synora, box: Box,
                                              template: list[str]) -> None:
    for args in nasty_lines(template):
        before = stored(box)
        result = synora(*args)
        if is_help(result, args):
            continue
        if result.out and args[0] == "cleanup":
            assert_only_audit_rows_added(before, stored(box), outcome_of(result, args))
        elif result.code != 0:
            error_of(result, args)
            assert stored(box) == before
        elif args[1] == "add":  # accepted: one new entry, taken out again
            added = [row for row in db_rows(box.db)["software"]
                     if row not in before[0]["software"]]
            assert len(added) == 1, added
            _unregister(box, added[0][0])


# ---- package add / list / show ---------------------------------------------------------------

@fuzz_settings(150)
@given(data=st.data())
def test_package_commands_refuse_bad_input_without_touching_the_registry(
        synora: Synora, box: Box, data: st.DataObject) -> None:
    # Given: package add/list/show with odd ids, names, paths and flags
    fresh = str(box.root / "apps" / "other")
    files = st.sampled_from(FILE_KINDS).map(lambda k: make_hostile_file(box.root / "in", k))
    command, options, flags = data.draw(st.sampled_from([
        ("add", {"--id": ids(), "--name": mostly(st.just("Other"), hostile_text()),
                 "--version": mostly(st.just("2.0"), hostile_text()),
                 "--install-path": mostly(st.just(fresh), st.one_of(
                     hostile_text(), files, hostile_text().map(lambda t: f"/opt/{t}"))),
                 "--source": mostly(st.just("apt"), hostile_text()),
                 "--risk": mostly(st.just("low"), hostile_text())}, ["--json"]),
        ("list", {"--status": mostly(st.sampled_from(["installed", "quarantined"]),
                                     hostile_text())}, ["--json"]),
        ("show", {"--id": ids()}, ["--json"]),
    ]))
    args = data.draw(command_line(options, flags=flags))
    before = stored(box)
    # When
    result = synora("package", command, *args)
    # Then: a refusal leaves every row as it was; an accepted add is one new entry that
    # `show` returns as stored
    if is_help(result, args):
        return
    if result.code != 0:
        error_of(result, args)
        assert stored(box) == before
        return
    assert result.err == "", result.describe()
    if command == "add":
        after = stored(box)[0]["software"]
        assert len(after) == len(before[0]["software"]) + 1
        added = next(row for row in after if row not in before[0]["software"])
        shown = synora("package", "show", "--id", added[0], "--json")
        assert shown.code == 0 and json.loads(shown.out)["name"] == added[1], shown.describe()
        if "--json" in args:
            assert json.loads(result.out)["id"] == added[0]
        else:  # one "key: value" line per field, whatever the values hold
            lines = result.out.rstrip("\n").split("\n")
            assert [line.split(": ", 1)[0] for line in lines] == list(PACKAGE_FIELDS), \
                result.describe()
        _unregister(box, added[0])
    elif "--json" in args:
        json.loads(result.out)
    if command != "add":
        assert stored(box) == before


@fuzz_settings(80)
@given(data=st.data())
def test_each_package_add_option_alone_is_checked(synora: Synora, box: Box,
                                                  data: st.DataObject) -> None:
    # Given: a valid add with one option bad or missing (odd text, non-UTF-8 bytes, ...)
    make_tree(box.root / "apps" / "other", {"f": b"f"}, ())
    valid = {"--id": "Other.Pkg", "--name": "Other", "--version": "2.0",
             "--install-path": str(box.root / "apps" / "other"), "--source": "apt",
             "--risk": "low"}
    bad = {name: hostile_text() for name in valid}
    bad["--install-path"] = st.one_of(hostile_text(), hostile_text().map(
        lambda t: f"{box.root}/apps/{t}"))
    args = data.draw(one_bad_option(valid, bad))
    json_mode = data.draw(st.booleans())
    before = stored(box)
    # When
    result = synora("package", "add", *args, *(["--json"] if json_mode else []))
    # Then: refused with nothing stored, or stored and shown back line by line
    if result.code != 0:
        error_of(result, args + (["--json"] if json_mode else []))
        assert stored(box) == before
        return
    added = next(row for row in db_rows(box.db)["software"]
                 if row not in before[0]["software"])
    if not json_mode:
        lines = result.out.rstrip("\n").split("\n")
        assert [line.split(": ", 1)[0] for line in lines] == list(PACKAGE_FIELDS), \
            result.describe()
    listed = synora("package", "list")
    assert listed.code == 0 and listed.out.count("\n") == 1 + len(db_rows(box.db)["software"])
    _unregister(box, added[0])


def _unregister(box: Box, package_id: str) -> None:
    """Undo an accepted add, so that every example starts from the same registry."""
    with sqlite3.connect(box.db) as conn:
        conn.execute("DELETE FROM software WHERE id = ?", (package_id,))


# ---- hostile package trees and stores ----------------------------------------------------------

TREES = ("non_utf8_name", "fifo", "path_is_file", "missing", "inside_home", "newline_name",
         "unreadable_folder")


def _hostile_tree(box: Box, kind: str) -> Path:
    target = box.root / "apps" / f"t-{kind}"
    make_tree(target, {"ok.txt": b"ok\n"}, ())
    if kind == "non_utf8_name":
        (target / os.fsdecode(b"bad-\xff-name")).write_bytes(b"x")
    elif kind == "fifo":
        os.mkfifo(target / "pipe")
    elif kind == "path_is_file":
        target = target / "ok.txt"
    elif kind == "missing":
        target = target / "gone"
    elif kind == "inside_home":
        target = make_tree(box.home / "pkg", {"a": b"a"}, ())
    elif kind == "newline_name":
        (target / "line\nbreak").write_bytes(b"x")
    else:
        (target / "locked").mkdir()
        (target / "locked" / "f").write_bytes(b"f")
        (target / "locked").chmod(0)
    return target


@pytest.mark.parametrize("kind", TREES)
@pytest.mark.parametrize("mode", ["--dry-run", "--confirm"])
def test_hostile_package_trees(synora: Synora, box: Box, kind: str, mode: str) -> None:
    # Given: a package whose folder holds something the guard must judge
    target = _hostile_tree(box, kind)
    added = synora("package", "add", "--id", "Odd.Pkg", "--name", "Odd", "--version", "1",
                   "--install-path", str(target), "--json")
    assert added.code in (0, 3), added.describe()
    if added.code != 0:
        return
    before = stored(box)
    # When
    result = synora("cleanup", "quarantine", "--id", "Odd.Pkg", mode, "--json")
    # Then: quarantined (and restorable), or refused with nothing changed
    outcome = outcome_of(result, ["--json"])
    if result.code == 0 and mode == "--confirm":
        restored = synora("cleanup", "restore", "--operation-id", outcome["operation_id"],
                          "--json")
        assert restored.code == 0, restored.describe()
        assert stored(box)[1] == before[1]
    elif result.code != 0:
        assert_only_audit_rows_added(before, stored(box), outcome)


@pytest.mark.parametrize("kind", ["non_utf8", "truncated_json", "directory", "json_array",
                                  "huge"])
def test_a_broken_database_is_a_store_failure(synora: Synora, box: Box, kind: str) -> None:
    # Given: Synora's database replaced by junk (and its WAL files gone)
    for name in ("synora.db-wal", "synora.db-shm"):
        (box.db.parent / name).unlink(missing_ok=True)
    box.db.unlink()
    made = Path(make_hostile_file(box.db.parent, kind, valid=b"SQLite format 3\x00"))
    made.rename(box.db)
    outside = ("conveyor-home", "synora-home/db/synora.db.migrate.lock")
    before = tree_state(box.root, skip=lambda rel: rel.startswith(outside))
    for args in (["package", "list", "--json"], ["package", "show", "--id", PACKAGE],
                 ["cleanup", "quarantine", "--id", PACKAGE, "--json"],
                 ["cleanup", "restore", "--operation-id",
                  "5b0d0c7e-3f7a-4c8e-9d0a-2f4b1f0e6a11"]):
        # When
        result = synora(*args)
        # Then: a runtime failure in the contract's format, and the junk left as it was
        if result.out:
            assert outcome_of(result, args)["status"] in STATUSES
        else:
            error_of(result, args)
        assert result.code == 4, result.describe()
        assert tree_state(box.root, skip=lambda rel: rel.startswith(outside)) == before


@fuzz_settings(60)
@given(name=st.sampled_from(["SYNORA_HOME", "SYNORA_ALLOWED_ROOTS", "SYNORA_TESTING"]),
       value=hostile_text().filter(sandboxed),
       args=st.sampled_from([("package", "list"), ("package", "list", "--json"),
                             ("cleanup", "quarantine", "--id", PACKAGE, "--json")]))
def test_odd_settings_are_usage_errors_or_work(synora: Synora, box: Box,
                                              monkeypatch: pytest.MonkeyPatch, name: str,
                                              value: str, args: tuple[str, ...]) -> None:
    # Given: one setting with an odd value (relative homes land in the scratch folder)
    before = db_rows(box.db)
    with monkeypatch.context() as env:
        env.setenv(name, value)
        result = synora(*args)
    # Then
    if result.code != 0 and not result.out:
        error_of(result, args)
    elif args[0] == "cleanup":
        outcome_of(result, args)
    assert db_rows(box.db)["software"] == before["software"]


@fuzz_settings(60)
@given(args=command_line({}, flags=["--json"], positionals=[
    st.sampled_from(["cleanup", "package", "quarantine", "restore", "add"]), hostile_text(),
    hostile_text()]))
def test_unknown_commands_and_flags(synora: Synora, box: Box, args: list[str]) -> None:
    before = stored(box)
    result = synora(*args)
    if is_help(result, args):
        return
    if result.code == 0:
        assert result.out, result.describe()  # a listing, perhaps: read-only
    else:
        error_of(result, args)
    assert stored(box) == before

