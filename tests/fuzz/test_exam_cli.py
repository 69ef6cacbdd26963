"""Bad input to the seven exam console scripts (exam-session-isolation.md, docs/exam.md).

Every command gets generated arguments: ids that are valid, nearly valid or junk, states,
reasons, numbers and JSON of every wrong kind, unknown flags. Each example must answer
with the exit code an independent oracle expects, in the contract's format (the standard
error object on stderr, nothing on stdout), without a crash, and change nothing in the
store unless it succeeded (and then only what the command is for).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from cli.exam.access import environment_access
from cli.exam.cleanup import cleanup_ttl
from cli.exam.common import ERRORS
from cli.exam.environment import execution_environment
from cli.exam.failures import MAX_CONTEXT_CHARS, failure_classification
from cli.exam.identity import session_identity
from cli.exam.lifecycle import MAX_DURATION_S, session_lifecycle
from cli.exam.status import session_status
from domain.exam.failures import (
    _GENERIC_USER_MESSAGE,
    CATALOGUE,
    FAILURE_TYPES,
    MAX_TECHNICAL_CHARS,
    SEVERITIES,
)
from domain.exam.states import ALL_STATES, TRANSITIONS, SessionState
from tests.fuzz.conftest import (
    FuzzHome,
    Outcome,
    Rows,
    RunCli,
    accepts_int,
    accepts_seconds,
    db_rows,
    fuzz_settings,
    standard_error,
    tree,
)
from tests.fuzz.strategies import (
    hostile_text,
    id_arguments,
    int_text,
    json_texts,
    json_values,
    junk_flags,
    maybe_missing,
    mostly,
    number_text,
    optional,
    rfc4122_uuids,
    setting_values,
    unknown_flags,
)

SCRIPTS: dict[str, click.Group] = {
    "session-identity": session_identity, "session-lifecycle": session_lifecycle,
    "execution-environment": execution_environment, "environment-access": environment_access,
    "session-status": session_status, "failure-classification": failure_classification,
    "cleanup-ttl": cleanup_ttl,
}
# docs/exam.md: the codes each exit code may carry.
CODES_BY_EXIT = {
    1: {"ENVIRONMENT_CREATE_FAILED", "ENVIRONMENT_DESTROY_FAILED", "ENVIRONMENT_STATUS_FAILED",
        "JOB_SYSTEM_UNAVAILABLE", "INTERNAL_ERROR"},
    2: {"INVALID_ARGUMENTS"},
    3: {"INVALID_IDENTITY", "INVALID_STATE", "SESSION_EXISTS", "ACTIVE_SESSION_EXISTS"},
    4: {"SESSION_NOT_FOUND", "ENVIRONMENT_NOT_FOUND"},
    5: {"ACCESS_DENIED"},
    6: {"INVALID_TRANSITION"},
}
EXAM_TABLES = ("exam_sessions", "exam_environments", "exam_access_log")
USAGE = 2
DENIAL = {"error": True, "code": "ACCESS_DENIED", "message": "Access denied", "details": {}}


# ---- the oracle ----------------------------------------------------------------------------

def canonical_id(value: str) -> str | None:
    """The id in canonical form if it is an RFC 4122 UUID of version 1-5, else None
    (decided with the uuid module, independently of the code under test)."""
    text = value.strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    if str(parsed) != text.lower() or parsed.variant != uuid.RFC_4122:
        return None
    return str(parsed) if parsed.version in (1, 2, 3, 4, 5) else None


def storable(text: str | None) -> bool:
    """Free text a database can hold: UTF-8 (no lone surrogates) and no NUL."""
    if text is None:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def check_format(outcome: Outcome, exits: set[int]) -> dict[str, Any]:
    """The contract's shape: JSON on stdout and nothing else on success; the standard
    error object on stderr and nothing on stdout otherwise. Returns the parsed JSON."""
    event(f"exit {outcome.exit_code}")  # --hypothesis-show-statistics: what was reached
    assert outcome.exit_code in exits, outcome
    if outcome.exit_code == 0:
        assert outcome.stderr == "", outcome
        data = outcome.json_out()
        assert isinstance(data, dict), outcome
        return data
    error = standard_error(outcome)
    assert error["code"] in CODES_BY_EXIT[outcome.exit_code], error
    return error


def exam_rows() -> Rows:
    return db_rows(*EXAM_TABLES)


# ---- seeded sessions -------------------------------------------------------------------

# How a seeded session is reached from `created`, along the lifecycle machine.
PATHS = {
    "created": [], "initializing": ["initializing"], "ready": ["initializing", "ready"],
    "running": ["initializing", "ready", "running"],
    "terminated": ["initializing", "ready", "terminated"], "failed": ["failed"],
}


@dataclass(frozen=True)
class Seed:
    """A session to create before the example, in a state; the id as the user types it."""

    state: str
    style: str  # exact | upper | padded

    def make(self) -> tuple[str, str, str]:
        """Create it; returns (id as typed, canonical id, owner)."""
        from domain.exam.sessions import create_session, transition

        sid, uid = str(uuid.uuid4()), str(uuid.uuid4())
        create_session(uid, sid, 7200)
        for step in PATHS[self.state]:
            transition(sid, SessionState(step), "seeded" if step == "failed" else None)
        typed = {"exact": sid, "upper": sid.upper(), "padded": f" {sid}\n"}[self.style]
        return typed, sid, uid


def seeds(states: tuple[str, ...] = ALL_STATES) -> st.SearchStrategy[Seed]:
    return st.builds(Seed, st.sampled_from(states), st.sampled_from(("exact", "upper", "padded")))


Target = Seed | str | None


def resolve(target: Target) -> tuple[str | None, str | None, str | None]:
    """(value to pass, canonical id of an existing session, its owner): a seed, or any
    value, which may name a session an earlier example created."""
    if isinstance(target, Seed):
        return target.make()
    sid = canonical_id(target) if target is not None else None
    row = next((row for row in db_rows("exam_sessions")["exam_sessions"] if row["id"] == sid),
               None)
    return (target, None, None) if row is None else (target, row["id"], row["user_id"])


def args_for(sub: str, options: dict[str, str | None], junk: list[str],
             equals: bool = False) -> list[str]:
    args = [sub]
    for flag, value in options.items():
        if value is not None:
            args += [f"{flag}={value}"] if equals else [flag, value]
    return args + junk


def expect_id(value: str | None) -> int | None:
    """Exit for a --session-id value that is missing (2), blank or malformed (3); else None."""
    if value is None:
        return USAGE
    return None if canonical_id(value) is not None else 3


# ---- session-identity --------------------------------------------------------------------

@fuzz_settings(400)
@given(user=maybe_missing(mostly(rfc4122_uuids(), id_arguments())),
       session=maybe_missing(mostly(rfc4122_uuids(), id_arguments())),
       environment=optional(id_arguments()), junk=junk_flags(), equals=st.booleans())
def test_identity_validate(run_cli: RunCli, user: str | None, session: str | None,
                           environment: str | None, junk: list[str], equals: bool) -> None:
    outcome = run_cli(session_identity, ERRORS, args_for(
        "validate", {"--user-id": user, "--session-id": session, "--environment-id": environment},
        junk, equals), "session-identity")
    given_ids = {"user_id": user, "exam_session_id": session, "environment_id": environment}
    missing = [k for k in ("user_id", "exam_session_id") if not (given_ids[k] or "").strip()]
    invalid = [k for k, v in given_ids.items() if (v or "").strip() and canonical_id(v) is None]
    expected = USAGE if junk else 3 if missing or invalid else 0
    data = check_format(outcome, {expected})
    if expected == 3:
        assert data["details"] == {"missing_fields": missing, "invalid_fields": invalid}
    elif expected == 0:
        assert data == {"valid": True, "identity": {
            k: canonical_id(v) if v is not None and v.strip() else None
            for k, v in given_ids.items()}}


# ---- session-lifecycle -------------------------------------------------------------------

@fuzz_settings(200)
@given(user=maybe_missing(mostly(st.sampled_from(("owner", "fresh")), id_arguments())),
       target=maybe_missing(mostly(st.one_of(seeds(), st.just("fresh")), id_arguments())),
       duration=optional(mostly(int_text(1, MAX_DURATION_S), number_text())),
       junk=junk_flags())
def test_lifecycle_create(run_cli: RunCli, user: str | None, target: Target,
                          duration: str | None, junk: list[str]) -> None:
    typed, existing, owner = resolve(target)
    if typed == "fresh":
        typed = str(uuid.uuid4())
    user = {"owner": owner or str(uuid.uuid4()), "fresh": str(uuid.uuid4())}.get(user or "", user)
    before = exam_rows()
    expected = _create_expectation(user, typed, existing, owner, duration, junk)
    outcome = run_cli(session_lifecycle, ERRORS, args_for("create", {
        "--user-id": user, "--session-id": typed, "--duration-seconds": duration}, junk),
        "session-lifecycle")
    data = check_format(outcome, {expected})
    if outcome.exit_code != 0:
        assert exam_rows() == before
        return
    assert user is not None and typed is not None
    assert data["session_id"] == canonical_id(typed) and data["user_id"] == canonical_id(user)
    after = exam_rows()["exam_sessions"]
    assert len(after) == len(before["exam_sessions"]) + (0 if existing else 1)


def _create_expectation(user: str | None, typed: str | None, existing: str | None,
                        owner: str | None, duration: str | None, junk: list[str]) -> int:
    if junk or user is None or typed is None:
        return USAGE
    if duration is not None and not accepts_int(duration, 1, MAX_DURATION_S):
        return USAGE
    if canonical_id(user) is None or canonical_id(typed) is None:
        return 3
    if existing is not None:
        return 0 if canonical_id(user) == owner else 3
    return 0 if _active_session_of(canonical_id(user)) is None else 3


def _active_session_of(user_id: str | None) -> str | None:
    rows = db_rows("exam_sessions")["exam_sessions"]
    return next((row["id"] for row in rows
                 if row["user_id"] == user_id and row["state"] not in ("terminated", "failed")),
                None)


def _targets_of(state: str | None) -> st.SearchStrategy[str]:
    """A --to for a session in `state`: often an edge it has, else any state."""
    edges = [s.value for s in TRANSITIONS[SessionState(state)]] if state else []
    anything = st.sampled_from(ALL_STATES)
    return mostly(st.sampled_from(edges), anything) if edges else anything


@fuzz_settings(300)
@given(target=maybe_missing(mostly(seeds(), id_arguments())),
       reason=optional(mostly(st.sampled_from(("", " ", "Pod evicted", "é\n¿")), hostile_text())),
       junk=junk_flags(), data=st.data())
def test_lifecycle_transition(run_cli: RunCli, target: Target, reason: str | None,
                              junk: list[str], data: st.DataObject) -> None:
    typed, existing, _owner = resolve(target)
    before = exam_rows()
    to = data.draw(maybe_missing(mostly(_targets_of(_state_of(before, existing)),
                                        hostile_text())), label="to")
    outcome = run_cli(session_lifecycle, ERRORS, args_for("transition", {
        "--session-id": typed, "--to": to, "--reason": reason}, junk), "session-lifecycle")
    current = _state_of(before, existing)
    expected = _transition_expectation(typed, to, reason, current, junk)
    answer = check_format(outcome, {expected})
    if expected != 0:
        assert exam_rows() == before
        if expected == 6:
            assert answer["details"]["current_state"] == current
            assert answer["details"]["requested_state"] == to
        return
    assert answer["session_id"] == existing and answer["current_state"] == to
    assert answer["previous_state"] == current
    after = exam_rows()
    changed = [row for row in after["exam_sessions"] if row not in before["exam_sessions"]]
    assert [row["id"] for row in changed] == [existing]
    assert changed[0]["reason"] == (reason.strip() if reason and reason.strip() else None)
    assert after["exam_environments"] == before["exam_environments"]


def _state_of(rows: Rows, session_id: str | None) -> str | None:
    return next((row["state"] for row in rows["exam_sessions"] if row["id"] == session_id),
                None)


def _transition_expectation(typed: str | None, to: str | None, reason: str | None,
                            current: str | None, junk: list[str]) -> int:
    if junk or typed is None or to not in ALL_STATES or not storable(reason):
        return USAGE
    if to == "failed" and not (reason and reason.strip()):
        return USAGE
    if canonical_id(typed) is None:
        return 3
    if current is None:
        return 4
    return 0 if SessionState(to) in TRANSITIONS[SessionState(current)] else 6


@fuzz_settings(150)
@given(target=maybe_missing(mostly(seeds(), id_arguments())), junk=junk_flags())
def test_lifecycle_status(run_cli: RunCli, target: Target, junk: list[str]) -> None:
    typed, existing, _owner = resolve(target)
    before = exam_rows()
    outcome = run_cli(session_lifecycle, ERRORS,
                      args_for("status", {"--session-id": typed}, junk), "session-lifecycle")
    expected = USAGE if junk else expect_id(typed) or (0 if existing else 4)
    data = check_format(outcome, {expected})
    assert exam_rows() == before
    if expected == 0:
        assert set(data) == {"session_id", "state", "reason", "started_at",
                             "last_transition_at"}
        assert data["session_id"] == existing and data["state"] == _state_of(before, existing)


# ---- execution-environment ---------------------------------------------------------------
# Only sessions that must not get an environment (ended ones, unknown ids, malformed ids):
# bad input never starts a real one.

ENDED = ("terminated", "failed")


def _no_environment_started(home: FuzzHome, before: Rows) -> None:
    assert db_rows("exam_sessions", "exam_environments") == {
        k: before[k] for k in ("exam_sessions", "exam_environments")}
    assert tree(home.conveyor / "exam") == {}


@fuzz_settings(150)
@given(target=maybe_missing(mostly(st.one_of(seeds(ENDED), rfc4122_uuids()), id_arguments())),
       timeout=optional(mostly(int_text(1, 3600), number_text())),
       no_wait=st.sampled_from((False, False, False, True)), junk=junk_flags())
def test_environment_create(run_cli: RunCli, fuzz_home: FuzzHome, target: Target,
                            timeout: str | None, no_wait: bool, junk: list[str]) -> None:
    typed, existing, _owner = resolve(target)
    before = exam_rows()
    args = args_for("create", {"--session-id": typed, "--timeout": timeout}, junk)
    outcome = run_cli(execution_environment, ERRORS, args + (["--no-wait"] if no_wait else []),
                      "execution-environment")
    if junk or (timeout is not None and not accepts_int(timeout, 1, 3600)):
        expected = USAGE
    else:
        # --no-wait has no worker to leave the job with in the embedded mode (exit 1).
        expected = expect_id(typed) or (1 if no_wait else 3 if existing else 4)
    check_format(outcome, {expected})
    _no_environment_started(fuzz_home, before)


@fuzz_settings(120)
@given(command=st.sampled_from(("status", "destroy")),
       target=maybe_missing(mostly(st.one_of(seeds(), rfc4122_uuids()), id_arguments())),
       junk=junk_flags())
def test_environment_status_and_destroy(run_cli: RunCli, fuzz_home: FuzzHome, command: str,
                                        target: Target, junk: list[str]) -> None:
    typed, existing, _owner = resolve(target)
    before = exam_rows()
    outcome = run_cli(execution_environment, ERRORS,
                      args_for(command, {"--session-id": typed}, junk), "execution-environment")
    expected = USAGE if junk else expect_id(typed) or 4  # no session here has an environment
    error = check_format(outcome, {expected})
    if expected == 4:
        assert error["code"] == ("ENVIRONMENT_NOT_FOUND" if existing else "SESSION_NOT_FOUND")
    _no_environment_started(fuzz_home, before)


# ---- environment-access ------------------------------------------------------------------

@fuzz_settings(200)
@given(target=maybe_missing(mostly(seeds(), id_arguments())),
       user=maybe_missing(mostly(st.just("owner"), id_arguments())), junk=junk_flags())
def test_access_authorize(run_cli: RunCli, target: Target, user: str | None,
                          junk: list[str]) -> None:
    typed, _existing, owner = resolve(target)
    if user == "owner":
        user = owner or str(uuid.uuid4())
    before = exam_rows()
    outcome = run_cli(environment_access, ERRORS, args_for(
        "authorize", {"--session-id": typed, "--user-id": user}, junk), "environment-access")
    # No session here has a running environment: every well-formed call is the one denial.
    usage = bool(junk) or typed is None or user is None
    data = check_format(outcome, {USAGE if usage else 5})
    after = exam_rows()
    assert after["exam_sessions"] == before["exam_sessions"]
    assert after["exam_environments"] == before["exam_environments"]
    if usage:
        assert after["exam_access_log"] == before["exam_access_log"]
        return
    assert data == DENIAL
    logged = [row for row in after["exam_access_log"] if row not in before["exam_access_log"]]
    assert len(logged) == 1 and logged[0]["decision"] == "denied"


# ---- session-status and cleanup-ttl check ------------------------------------------------

DISPLAY = {"created": "preparing", "initializing": "preparing", "ready": "preparing",
           "running": "in_progress", "terminated": "ended", "failed": "error"}


@fuzz_settings(150)
@given(target=maybe_missing(mostly(seeds(), id_arguments())), junk=junk_flags())
def test_session_status_get(run_cli: RunCli, target: Target, junk: list[str]) -> None:
    typed, existing, _owner = resolve(target)
    before = exam_rows()
    outcome = run_cli(session_status, ERRORS, args_for("get", {"--session-id": typed}, junk),
                      "session-status")
    expected = USAGE if junk else expect_id(typed) or (0 if existing else 4)
    data = check_format(outcome, {expected})
    assert exam_rows() == before
    if expected == 0:
        state = _state_of(before, existing)
        assert data["session_id"] == existing and data["display_state"] == DISPLAY[str(state)]
        keys = ({"error_reason", "recoverable"} if state == "failed" else
                {"progress", "environment_ready", "remaining_seconds"})
        assert set(data) == {"session_id", "display_state", "message", "updated_at"} | keys


@fuzz_settings(150)
@given(target=maybe_missing(mostly(seeds(), id_arguments())), junk=junk_flags())
def test_cleanup_check(run_cli: RunCli, target: Target, junk: list[str]) -> None:
    typed, existing, _owner = resolve(target)
    before = exam_rows()
    outcome = run_cli(cleanup_ttl, ERRORS, args_for("check", {"--session-id": typed}, junk),
                      "cleanup-ttl")
    expected = USAGE if junk else expect_id(typed) or (0 if existing else 4)
    data = check_format(outcome, {expected})
    assert exam_rows() == before
    if expected == 0:
        assert set(data) == {"session_id", "should_cleanup", "reason", "ttl_remaining_seconds"}
        assert data["session_id"] == existing and data["should_cleanup"] is False
        assert 0 <= data["ttl_remaining_seconds"] <= 2 * 7200


@fuzz_settings(80)
@given(dry_run=st.booleans(),
       timeout=optional(mostly(st.sampled_from(("30", "0.5", "300")), number_text())),
       junk=junk_flags(), seed=optional(seeds()))
def test_cleanup_sweep(run_cli: RunCli, dry_run: bool, timeout: str | None, junk: list[str],
                       seed: Seed | None) -> None:
    if seed is not None:
        seed.make()  # a fresh session is neither expired nor abandoned: nothing to clean
    before = exam_rows()
    args = args_for("sweep", {"--timeout": timeout}, junk) + (["--dry-run"] if dry_run else [])
    outcome = run_cli(cleanup_ttl, ERRORS, args, "cleanup-ttl")
    usage = bool(junk) or (timeout is not None and not accepts_seconds(timeout))
    # A valid but tiny --timeout may end the wait before the sweep job answers (exit 1).
    data = check_format(outcome, {USAGE} if usage else {0} if dry_run else {0, 1})
    assert exam_rows() == before
    if outcome.exit_code == 1:
        assert data["details"]["reason"] == "wait_timeout"
    elif outcome.exit_code == 0:
        assert data["dry_run"] is dry_run and data["sessions_cleaned"] == 0
        assert data["cleaned_session_ids"] == []


# ---- failure-classification --------------------------------------------------------------

USER_MESSAGES = {kind.user_message for kind in CATALOGUE} | set(_GENERIC_USER_MESSAGE.values())


def _context_ok(text: str) -> bool:
    if len(text) > MAX_CONTEXT_CHARS:
        return False
    try:
        parsed = json.loads(text)
        # Text that is not Unicode (lone surrogates, from bytes or \\ud800 escapes) cannot
        # be classified into valid UTF-8 output: an argument error, like invalid JSON.
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict)


def contexts() -> st.SearchStrategy[str]:
    reasons = st.sampled_from(["ImagePullBackOff", "OOMKilled", "timeout", "Evicted", ""])
    shaped = st.fixed_dictionaries(
        {}, optional={"reason": st.one_of(reasons, json_values()),
                      "message": json_values(), "error": json_values(), "details": json_values()})
    return mostly(shaped.map(lambda v: json.dumps(v, ensure_ascii=False)), json_texts())


@fuzz_settings(500)
@given(failure_type=maybe_missing(mostly(st.sampled_from(FAILURE_TYPES), hostile_text())),
       context=maybe_missing(contexts()), junk=junk_flags())
def test_failure_classify(run_cli: RunCli, failure_type: str | None, context: str | None,
                          junk: list[str]) -> None:
    outcome = run_cli(failure_classification, ERRORS, args_for(
        "classify", {"--type": failure_type, "--context": context}, junk),
        "failure-classification")
    ok = (not junk and failure_type in FAILURE_TYPES and context is not None
          and _context_ok(context))
    data = check_format(outcome, {0 if ok else USAGE})
    if ok:
        assert set(data) == {"type", "severity", "message", "user_message", "technical_details",
                             "recoverable", "recovery_action"}
        assert data["type"] == failure_type and data["severity"] in SEVERITIES
        assert data["user_message"] in USER_MESSAGES
        assert isinstance(data["recoverable"], bool)
        assert 0 < len(data["technical_details"]) <= MAX_TECHNICAL_CHARS


# ---- any arguments at all ----------------------------------------------------------------

def _tokens(script: str) -> st.SearchStrategy[list[str]]:
    group = SCRIPTS[script]
    names = sorted(group.commands)
    flags = sorted({opt for cmd in group.commands.values() for p in cmd.params
                    for opt in getattr(p, "opts", [])} - {"--help", "-h"})
    word = st.one_of(st.sampled_from(names + flags), hostile_text(), unknown_flags())
    return st.lists(word, max_size=5).filter(lambda ts: "--help" not in ts and "-h" not in ts)


# Every exit code a script's commands may answer with (docs/exam.md).
SCRIPT_EXITS = {
    "session-identity": {2, 3}, "session-lifecycle": {2, 3, 4, 6},
    "execution-environment": {1, 2, 3, 4}, "environment-access": {2, 5},
    "session-status": {2, 3, 4}, "failure-classification": {2},
    "cleanup-ttl": {0, 1, 2, 3, 4},
}


@fuzz_settings(400)
@given(script=st.sampled_from(sorted(SCRIPTS)), data=st.data())
def test_any_arguments(run_cli: RunCli, fuzz_home: FuzzHome, script: str,
                       data: st.DataObject) -> None:
    tokens = data.draw(_tokens(script))
    before = exam_rows()
    outcome = run_cli(SCRIPTS[script], ERRORS, tokens, script)
    if list(tokens) in ([], ["--version"]):  # bare: its help; every script has --version
        assert outcome.exit_code == 0
        assert outcome.stdout.startswith(("Usage:", f"{script}, version"))
        return
    # No session exists here, so nothing can succeed but a sweep, a valid identity or a
    # valid classification; nothing may change the sessions or start an environment.
    exits = SCRIPT_EXITS[script] | {0}
    check_format(outcome, exits)
    after = exam_rows()
    assert after["exam_environments"] == before["exam_environments"] == []
    assert tree(fuzz_home.conveyor / "exam") == {}
    assert not list(Path(fuzz_home.cwd).iterdir())


# ---- bad settings ------------------------------------------------------------------------

EXAM_SETTINGS = ("CONVEYOR_EXAM_NAMESPACE", "CONVEYOR_EXAM_DEFAULT_DURATION_S",
                 "CONVEYOR_EXAM_BACKEND", "CONVEYOR_EXAM_IN_CLUSTER",
                 "CONVEYOR_EXAM_API_TIMEOUT_S", "CONVEYOR_EXAM_POD_GRACE_PERIOD_S")


@pytest.mark.parametrize("name", EXAM_SETTINGS)
@fuzz_settings(30)
@given(value=setting_values())
def test_bad_settings(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, name: str,
                      value: str) -> None:
    from config.settings import reset_settings

    with monkeypatch.context() as patch:
        patch.setenv(name, value)
        reset_settings()
        outcome = run_cli(session_lifecycle, ERRORS, [
            "create", "--user-id", str(uuid.uuid4()), "--session-id", str(uuid.uuid4())],
            "session-lifecycle")
    reset_settings()
    data = check_format(outcome, {0, 2})
    if outcome.exit_code == 2:
        assert name in data["message"], data
    elif name == "CONVEYOR_EXAM_DEFAULT_DURATION_S" and value:
        assert data["duration_seconds"] == int(value)
