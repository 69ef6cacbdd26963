"""`chirality` with generated bad input: every ending is the contract's, nothing is left behind.

chirality-framework.md: success prints exactly one JSON line on stdout; an error is one
JSON line {"error": {"code", "message", "details"}} on stderr (docs/chirality.md), exit
2 invalid arguments, 3 timeout, 4 I/O, 5 resolver, 1 unexpected (never for bad input).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cli.chirality as chirality_cli
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.rest_support import (
    FILE_KINDS,
    Result,
    command_line,
    hostile_text,
    huge_or_bad_int,
    invoke_script,
    json_bytes,
    make_hostile_file,
    mostly,
    mutated_json,
    nasty_lines,
    one_bad_option,
    one_json_line,
    sandboxed,
    tree_state,
)
from tests.support.chirality import chirality_environment  # noqa: F401 - autouse fixture

EXIT_OF = {"INVALID_ARGUMENTS": 2, "TIMEOUT": 3, "IO_ERROR": 4, "RESOLVER_ERROR": 5,
           "RUN_INVALID": 1}
HELP = ("--help", "-h", "--version")
PROBLEM = {"title": "Release safety", "statement": "Ship weekly without breaking users."}
ROOT_REFUSED = "(CHIRALITY_RUNS_ROOT) is not an existing folder"

Chirality = Callable[..., Result]


@pytest.fixture
def chirality(conveyor_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Chirality:
    """chirality(*args): one in-process call, from a scratch current folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # "~" and defaults stay in here

    def run(*args: str) -> Result:
        return invoke_script(chirality_cli.chirality, chirality_cli.ERRORS, args, "chirality",
                             home=conveyor_home)

    return run


@pytest.fixture
def blocked_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs root that is a file: even a fully valid call is refused before it runs."""
    root = tmp_path / "runs-root-is-a-file"
    root.write_text("not a folder\n")
    monkeypatch.setenv("CHIRALITY_RUNS_ROOT", str(root))
    return root


@pytest.fixture
def problem_path(tmp_path: Path) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(PROBLEM))
    return path


def error_of(result: Result, *, verbose: bool = False) -> dict[str, Any]:
    """The error line on stderr (all of stderr unless --verbose); stdout empty."""
    assert result.out == "", result.describe()
    # JSON lines end in "\n" only: \x85 or \u2028 inside a message are not line breaks.
    line = result.err.rstrip("\n").rsplit("\n", 1)[-1] + "\n" if verbose else result.err
    document = one_json_line(line, "stderr")
    assert set(document) == {"error"}, document
    error = document["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    assert EXIT_OF.get(error["code"]) == result.code, result.describe()
    return error  # type: ignore[no-any-return]


def is_help(result: Result, args: tuple[str, ...] | list[str]) -> bool:
    return result.code == 0 and any(a in HELP for a in args) and result.err == "" \
        and (result.out.startswith("Usage:") or result.out.startswith("chirality, version"))


def problem_is_valid(data: Any) -> bool:
    """The contract's shape, with text that UTF-8 (the manifest's encoding) can hold."""
    if not isinstance(data, dict):
        return False
    texts = [data.get("title"), data.get("statement")]
    return all(isinstance(t, str) and _encodable(t) for t in texts)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---- strategies ----------------------------------------------------------------------------

def bad_compute_values(folder: Path) -> dict[str, st.SearchStrategy[str]]:
    kinds = st.sampled_from(FILE_KINDS).map(
        lambda kind: make_hostile_file(folder, kind, valid=json.dumps(PROBLEM).encode()))
    return {
        "--resolver": st.one_of(st.sampled_from(["ECHO", "echo "]), hostile_text()),
        "--out": st.one_of(st.sampled_from(["runs/../x", "runs//a", "runs/a/b", "./runs/a",
                                            "/runs/a", "runs/A", "runs/" + "a" * 65]),
                           hostile_text(), hostile_text().map(lambda t: f"runs/{t}")),
        "--problem-file": st.one_of(kinds, hostile_text()),
        "--max-seconds": huge_or_bad_int(),
        "--concurrency": huge_or_bad_int(),
    }


def compute_options(folder: Path, valid: Path) -> dict[str, st.SearchStrategy[str]]:
    good = {"--resolver": st.sampled_from(["echo", "openai"]),
            "--out": st.sampled_from(["runs/ok-1", "runs/ok-1/", "runs/a_b-9"]),
            "--problem-file": st.just(str(valid)),
            "--max-seconds": st.sampled_from(["1", "900", "604800"]),
            "--concurrency": st.sampled_from(["1", "8", "256"])}
    bad = bad_compute_values(folder)
    return {name: mostly(good[name], bad[name]) for name in good}


# ---- compute-pipeline -----------------------------------------------------------------------

@fuzz_settings(120)
@given(data=st.data())
def test_compute_pipeline_arguments_end_in_the_contract_format(
        chirality: Chirality, blocked_root: Path, problem_path: Path, tmp_path: Path,
        data: st.DataObject) -> None:
    # Given: any command line; the runs root is a file, so nothing could ever run
    folder = tmp_path / "inputs"
    args = data.draw(command_line(compute_options(folder, problem_path),
                                  flags=["--snapshot-jsonl", "--force", "--verbose"]))
    before = tree_state(Path.cwd()), blocked_root.read_bytes()
    # When
    result = chirality("compute-pipeline", *args)
    # Then: an argument error or an I/O error, in the contract's format, and no trace
    if is_help(result, args):
        return
    error = error_of(result, verbose="--verbose" in args)
    assert error["code"] in ("INVALID_ARGUMENTS", "IO_ERROR"), result.describe()
    assert (tree_state(Path.cwd()), blocked_root.read_bytes()) == before


@fuzz_settings(80)
@given(data=st.data())
def test_each_compute_option_alone_is_checked(
        chirality: Chirality, blocked_root: Path, problem_path: Path, tmp_path: Path,
        data: st.DataObject) -> None:
    # Given: a valid call with one option bad or missing (the runs root refuses the rest)
    folder = tmp_path / "inputs"
    valid = {"--resolver": "echo", "--problem-file": str(problem_path), "--out": "runs/ok-1",
             "--max-seconds": "60", "--concurrency": "4"}
    args = data.draw(one_bad_option(valid, bad_compute_values(folder)))
    # When
    result = chirality("compute-pipeline", *args)
    # Then
    error = error_of(result)
    assert error["code"] in ("INVALID_ARGUMENTS", "IO_ERROR"), result.describe()


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_every_kind_of_bad_problem_file_is_refused(
        chirality: Chirality, blocked_root: Path, tmp_path: Path, kind: str) -> None:
    path = make_hostile_file(tmp_path / "inputs", kind, valid=json.dumps(PROBLEM).encode())
    result = chirality("compute-pipeline", "--resolver", "echo", "--problem-file", path)
    error = error_of(result)
    if kind in ("symlink_outside", "unreadable") and error["code"] == "INVALID_ARGUMENTS":
        return  # /etc/passwd is no JSON; root reads a mode-0 file (and it is a problem)
    # A name too long or a symlink loop is the file system's refusal: exit 4 (I/O).
    expected = ("IO_ERROR" if kind in ("unreadable", "long_name", "symlink_loop")
                else "INVALID_ARGUMENTS")
    assert error["code"] == expected, result.describe()


@fuzz_settings(120)
@given(data=st.data())
def test_problem_files_are_checked_before_anything_runs(
        chirality: Chirality, blocked_root: Path, tmp_path: Path, data: st.DataObject) -> None:
    # Given: a problem file with wrong types at any level, or odd text in its fields
    path = tmp_path / "problem-under-test.json"
    document = data.draw(st.one_of(
        mutated_json(PROBLEM),
        st.fixed_dictionaries({"title": hostile_text(), "statement": hostile_text()})))
    cut = data.draw(st.sampled_from([None, None, None, 1, 7]))
    raw = json_bytes(document)
    path.write_bytes(raw if cut is None else raw[:-cut])
    # When
    result = chirality("compute-pipeline", "--resolver", "echo", "--problem-file", str(path),
                       "--out", "runs/fuzz")
    # Then: a bad problem is named as such; a good one gets as far as the runs root
    error = error_of(result)
    assert error["code"] == "INVALID_ARGUMENTS", result.describe()
    if cut is None and problem_is_valid(document):
        assert ROOT_REFUSED in error["message"], result.describe()
    else:
        assert "--problem-file" in error["message"], result.describe()


@fuzz_settings(8)
@given(title=hostile_text(), statement=hostile_text(max_size=200))
def test_odd_but_valid_problems_compute_valid_runs(
        chirality: Chirality, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        title: str, statement: str) -> None:
    # Given: a real runs root and a problem whose text is odd (control characters,
    # NUL, RTL marks, lone surrogates in \u escapes)
    root = tmp_path / "root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    monkeypatch.setenv("CHIRALITY_RUNS_ROOT", str(root))
    path = tmp_path / "odd-problem.json"
    problem = {"title": title, "statement": statement}
    path.write_bytes(json_bytes(problem))
    # When: the real pipeline runs (embedded worker, echo resolver)
    result = chirality("compute-pipeline", "--resolver", "echo", "--out", "runs/odd",
                       "--problem-file", str(path), "--max-seconds", "120")
    # Then: a valid run that passes the producer's own strict check, or a refusal that
    # created nothing
    if not problem_is_valid(problem):
        assert error_of(result)["code"] == "INVALID_ARGUMENTS"
        assert tree_state(root) == {}
        return
    assert result.code == 0, result.describe()
    assert one_json_line(result.out, "stdout") == {"run_id": "odd",
                                                   "manifest": "runs/odd/index.json"}
    manifest = json.loads((root / "runs/odd/index.json").read_text(encoding="utf-8"))
    assert manifest["problem"] == problem
    check = chirality("validate-run", str(root / "runs/odd"), "--strict")
    assert check.code == 0, check.describe()


@pytest.mark.parametrize("template", [
    ["compute-pipeline", "--resolver", "{X}", "--problem-file", "{problem}"],
    ["compute-pipeline", "--resolver", "echo", "--problem-file", "{X}"],
    ["compute-pipeline", "--resolver", "echo", "--problem-file", "{problem}", "--out", "{X}"],
    ["compute-pipeline", "--resolver", "echo", "--problem-file", "{problem}",
     "--max-seconds", "{X}"],
    ["compute-pipeline", "--resolver", "echo", "--problem-file", "{problem}",
     "--concurrency", "{X}"],
    ["validate-run", "{X}"], ["validate-run", "{X}", "--strict"], ["{X}"]],
    ids=lambda t: "-".join(a.strip("-") for a in t if a != "{problem}"))
def test_every_nasty_string_in_every_position(chirality: Chirality, blocked_root: Path,
                                              problem_path: Path, template: list[str]) -> None:
    template = [str(problem_path) if a == "{problem}" else a for a in template]
    for args in nasty_lines(template):
        result = chirality(*args)
        if is_help(result, args):
            continue
        if result.code == 0:  # validate-run of a folder that happens to be a valid run
            assert one_json_line(result.out, "stdout")["valid"] is True
            continue
        assert error_of(result)["code"] in ("INVALID_ARGUMENTS", "IO_ERROR", "RUN_INVALID"), \
            result.describe()


@fuzz_settings(40)
@given(name=st.sampled_from(["CHIRALITY_RUNS_ROOT", "CHIRALITY_CONCURRENCY",
                             "CHIRALITY_MAX_RETRIES", "CHIRALITY_RETRY_BASE_S",
                             "CHIRALITY_LOCK_POLL_S", "CONVEYOR_CLI_LOG_LEVEL"]),
       value=st.one_of(hostile_text(), huge_or_bad_int()).filter(
           sandboxed))
def test_odd_settings_are_argument_errors_or_work(chirality: Chirality, problem_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, name: str,
                                                  value: str) -> None:
    # Given: one setting with an odd value (a relative runs root lands in the scratch
    # current folder; the environment cannot hold NUL)
    with monkeypatch.context() as env:
        env.setenv(name, value)
        result = chirality("compute-pipeline", "--resolver", "echo", "--problem-file",
                           str(problem_path), "--out", "runs/settings", "--force")
    # Then: a run, or the contract's error line (a log level may add log lines before it)
    if result.code == 0:
        assert one_json_line(result.out, "stdout")["run_id"] == "settings"
    else:
        assert error_of(result, verbose=True)["code"] in ("INVALID_ARGUMENTS", "IO_ERROR"), \
            result.describe()


# ---- validate-run ---------------------------------------------------------------------------

@pytest.fixture
def good_run(chirality: Chirality, tmp_path: Path, problem_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Path:
    """One valid run computed for real, kept as the template the examples damage."""
    root = tmp_path / "template"
    root.mkdir()
    monkeypatch.setenv("CHIRALITY_RUNS_ROOT", str(root))
    result = chirality("compute-pipeline", "--resolver", "echo", "--out", "runs/good",
                       "--problem-file", str(problem_path))
    assert result.code == 0, result.describe()
    return root / "runs" / "good"


SNAPSHOTS = ("C", "D", "X", "E")


@st.composite
def damage(draw: st.DrawFn, run: Path) -> Callable[[Path], None]:
    """One way to spoil a copy of the run: its manifest, a snapshot, or a named path."""
    manifest = json.loads((run / "index.json").read_text())
    how = draw(st.sampled_from(("manifest_json", "manifest_file", "snapshot_file",
                                "snapshot_line", "matrix_path")))
    if how == "manifest_json":
        doc = draw(mutated_json(manifest))
        return lambda d: (d / "index.json").write_bytes(json_bytes(doc))
    if how == "manifest_file":
        kind = draw(st.sampled_from(FILE_KINDS))
        return lambda d: _replace_with(d / "index.json", kind)
    name = draw(st.sampled_from(SNAPSHOTS))
    if how == "snapshot_file":
        kind = draw(st.sampled_from(FILE_KINDS))
        return lambda d: _replace_with(d / "snapshots" / f"{name}.jsonl", kind)
    if how == "snapshot_line":
        record = json.loads((run / "snapshots" / f"{name}.jsonl").read_text().splitlines()[0])
        line = json_bytes(draw(mutated_json(record)))
        return lambda d: _rewrite_first_line(d / "snapshots" / f"{name}.jsonl", line)
    target = draw(st.one_of(st.sampled_from(["../../../etc/passwd", "/etc/passwd", "snapshots",
                                             "", ".", "snapshots/../../good/index.json",
                                             "snapshots\\C.jsonl", "loop", "out-link",
                                             "snapshots/C.jsonl\x00", "n" * 5000]),
                            hostile_text()))
    return lambda d: _point_matrix(d, manifest, name, target)


def _replace_with(path: Path, kind: str) -> None:
    valid = path.read_bytes()
    path.unlink()
    made = make_hostile_file(path.parent, kind, valid=valid)
    if "\x00" not in made and Path(made).parent == path.parent and os.path.lexists(made):
        Path(made).rename(path)  # else: the file is simply gone


def _rewrite_first_line(path: Path, line: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([line, *lines[1:]]))


def _point_matrix(run: Path, manifest: dict[str, Any], name: str, target: str) -> None:
    (run / "loop").symlink_to("loop")
    (run / "out-link").symlink_to("/etc/passwd")
    manifest = json.loads(json.dumps(manifest))
    manifest["matrices"][name]["path"] = target
    (run / "index.json").write_bytes(json_bytes(manifest))


@fuzz_settings(150)
@given(data=st.data())
def test_validate_run_judges_damaged_runs_without_changing_them(
        chirality: Chirality, good_run: Path, tmp_path: Path, data: st.DataObject) -> None:
    # Given: a copy of a valid run, damaged one way
    copy = tmp_path / "copies" / "runs" / "good"
    shutil.rmtree(copy.parent.parent, ignore_errors=True)
    shutil.copytree(good_run, copy, symlinks=True)
    data.draw(damage(good_run))(copy)
    strict = data.draw(st.booleans())
    before = tree_state(copy)
    # When
    result = chirality("validate-run", str(copy), *(["--strict"] if strict else []))
    # Then: a verdict in the contract's format, and the run folder as it was
    if result.code == 0:
        report = one_json_line(result.out, "stdout")
        assert report["valid"] is True and report["run_id"] == "good", result.describe()
    else:
        error = error_of(result)
        assert error["code"] in ("RUN_INVALID", "IO_ERROR"), result.describe()
        if error["code"] == "RUN_INVALID":
            assert error["details"]["problems"], result.describe()
    assert tree_state(copy) == before


@fuzz_settings(80)
@given(data=st.data())
def test_validate_run_arguments_end_in_the_contract_format(
        chirality: Chirality, tmp_path: Path, data: st.DataObject) -> None:
    # Given: any folder argument (odd text, traversal, files, links) and flags
    folder = tmp_path / "args"
    target = data.draw(st.one_of(
        hostile_text(), st.sampled_from(FILE_KINDS).map(lambda k: make_hostile_file(folder, k))))
    args = data.draw(command_line({}, flags=["--strict"],
                                  positionals=[st.just(target), hostile_text(max_size=6)]))
    # When
    result = chirality("validate-run", *args)
    # Then
    if is_help(result, args):
        return
    if result.code == 0:  # an odd argument can still name a valid run: it must be one
        assert one_json_line(result.out, "stdout")["valid"] is True
        return
    error = error_of(result)
    assert error["code"] in ("INVALID_ARGUMENTS", "RUN_INVALID", "IO_ERROR"), result.describe()


@fuzz_settings(40)
@given(args=command_line({}, positionals=[hostile_text(), hostile_text()]))
def test_unknown_commands_and_flags_are_usage_errors(chirality: Chirality,
                                                     args: list[str]) -> None:
    result = chirality(*args)
    if is_help(result, args):
        return
    if not args:  # bare: its help, as --help
        assert result.code == 0 and result.out.startswith("Usage: chirality")
        return
    if args and args[0] in ("compute-pipeline", "validate-run"):
        return  # covered by the tests above
    assert error_of(result)["code"] == "INVALID_ARGUMENTS", result.describe()
