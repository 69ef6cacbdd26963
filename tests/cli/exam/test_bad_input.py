"""Bad input of every kind: the contract's error JSON and exit code, never a traceback."""

from __future__ import annotations

import pytest

from tests.cli.exam.conftest import SESSION, USER, Run
from tests.support.cli import json_err, json_out

ALL = ["session-identity", "session-lifecycle", "execution-environment", "environment-access",
       "session-status", "failure-classification", "cleanup-ttl"]


@pytest.mark.parametrize("script", ALL)
def test_an_unknown_flag_or_command_exits_2(exam: Run, script: str) -> None:
    for args in (["--bogus"], ["no-such-command"]):
        result = exam(script, *args)
        assert result.returncode == 2, result.stderr
        error = json_err(result)
        assert error["error"] is True and error["code"] == "INVALID_ARGUMENTS"
        assert error["details"] == {} and "Traceback" not in result.stderr
        assert result.stdout == ""


@pytest.mark.parametrize("args", [
    ["session-lifecycle", "transition", "--session-id", SESSION, "--to", "failed"],
    ["session-lifecycle", "transition", "--session-id", SESSION, "--to", "paused"],
    ["session-lifecycle", "transition", "--to", "ready"],
    ["session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION,
     "--duration-seconds", "0"],
    ["execution-environment", "create", "--session-id", SESSION, "--timeout", "-5"],
    ["environment-access", "authorize", "--session-id", SESSION],
    ["failure-classification", "classify", "--type", "cosmic", "--context", "{}"],
    ["failure-classification", "classify", "--type", "init", "--context", "{not json"],
    ["failure-classification", "classify", "--type", "init", "--context", "[1, 2]"],
    ["failure-classification", "classify", "--type", "init"],
    # Found by tests/fuzz: each of these crashed or was accepted.
    ["failure-classification", "classify", "--type", "init", "--context", "[" * 5000 + "]" * 5000],
    ["failure-classification", "classify", "--type", "init", "--context", '{"reason": "\\udcff"}'],
    ["session-lifecycle", "transition", "--session-id", SESSION, "--to", "ready",
     "--reason", "bad \udcff byte"],
    ["cleanup-ttl", "sweep", "--timeout", "nan"],
])
def test_argument_errors_exit_2(exam: Run, args: list[str]) -> None:
    result = exam(*args)
    assert result.returncode == 2, result.stderr
    assert json_err(result)["code"] == "INVALID_ARGUMENTS"


@pytest.mark.parametrize("args", [
    ["session-lifecycle", "status", "--session-id", "../../etc/passwd"],
    ["session-status", "get", "--session-id", "not-a-uuid"],
    ["cleanup-ttl", "check", "--session-id", "6ba7b810"],
    ["execution-environment", "status", "--session-id", "6ba7b810-9dad-11d1-80b4"],
])
def test_malformed_ids_are_validation_failures(exam: Run, args: list[str]) -> None:
    result = exam(*args)
    assert result.returncode == 3
    error = json_err(result)
    assert error["code"] == "INVALID_IDENTITY"
    assert error["details"] == {"missing_fields": [], "invalid_fields": ["session_id"]}


@pytest.mark.parametrize("args", [
    ["session-lifecycle", "status", "--session-id", SESSION],
    ["session-lifecycle", "transition", "--session-id", SESSION, "--to", "ready"],
    ["session-status", "get", "--session-id", SESSION],
    ["cleanup-ttl", "check", "--session-id", SESSION],
    ["execution-environment", "status", "--session-id", SESSION],
    ["execution-environment", "create", "--session-id", SESSION],
])
def test_unknown_sessions_exit_4(exam: Run, args: list[str]) -> None:
    result = exam(*args)
    assert result.returncode == 4, result.stderr
    assert json_err(result) == {"error": True, "code": "SESSION_NOT_FOUND",
                                "message": f"Session not found: {SESSION}",
                                "details": {"session_id": SESSION}}


def test_access_denials_reveal_nothing(exam: Run) -> None:
    answers = {
        exam("environment-access", "authorize", "--session-id", s, "--user-id", u).stderr
        for s, u in [(SESSION, USER), ("../../x", USER), (SESSION, "not-a-uuid"),
                     (SESSION.upper(), USER)]}
    assert len(answers) == 1
    assert json_err_text(answers.pop()) == {"error": True, "code": "ACCESS_DENIED",
                                            "message": "Access denied", "details": {}}


def json_err_text(text: str) -> object:
    import json

    return json.loads(text)


@pytest.mark.parametrize(("name", "value"), [
    ("CONVEYOR_EXAM_NAMESPACE", "../escape"),
    # Found by tests/fuzz: a huge default duration overflowed the session's deadlines.
    ("CONVEYOR_EXAM_DEFAULT_DURATION_S", str(10**30)),
])
def test_a_bad_setting_is_an_argument_error(exam: Run, name: str, value: str) -> None:
    result = exam("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION,
                  **{name: value})
    assert result.returncode == 2
    assert name in json_err(result)["message"]


def test_a_blank_reason_is_no_reason(exam: Run) -> None:
    # Found by tests/fuzz: --reason " " was stored and shown as "" instead of null.
    exam("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION)
    moved = exam("session-lifecycle", "transition", "--session-id", SESSION,
                 "--to", "initializing", "--reason", "  ")
    assert moved.returncode == 0, moved.stderr
    status = exam("session-lifecycle", "status", "--session-id", SESSION)
    assert json_out(status)["reason"] is None
