"""Access decisions leak nothing (docs/security.md, "Access decisions").

environment-access authorize answers "granted" or one denial. Whatever the reason for
a denial (no such session, someone else's, not serving, no running environment, a
malformed or undecodable id), everything the caller can observe is the same bytes:
exit code, stdout and stderr. The reason is recorded for operators only
(exam_access_log). The other exam reads are keyed by session id and never show whose
session it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from cli.exam.access import environment_access
from cli.exam.common import ERRORS
from cli.exam.lifecycle import session_lifecycle
from cli.exam.status import session_status
from store.engine import session_scope
from store.models.exam import ExamAccessLog, ExamSession
from tests.domain.exam.conftest import put_session
from tests.security.conftest import Invoke, Outcome
from tests.support.cli import run_cli

OWNER = "550e8400-e29b-41d4-a716-446655440000"
STRANGER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
THE_DENIAL = Outcome(5, "", json.dumps({"error": True, "code": "ACCESS_DENIED",
                                        "message": "Access denied", "details": {}},
                                       indent=2) + "\n")


def _authorize(run_command: Invoke, session_id: str, user_id: str) -> Outcome:
    return run_command(environment_access, ERRORS, "environment-access", "authorize",
                       "--session-id", session_id, "--user-id", user_id)


def _cases(db_url: str) -> dict[str, tuple[str, str]]:
    """(session id, user id) for every reason a decision can be a denial."""
    def owned(state: str, env: str | None) -> tuple[str, str]:
        # One non-terminal session per user: each case has an owner of its own.
        user = str(uuid.uuid4())
        return put_session(db_url, state=state, user_id=user, env_status=env), user

    serving = put_session(db_url, state="running", user_id=STRANGER, env_status="running")
    return {
        "unknown_session": (str(uuid.uuid4()), OWNER),
        "not_owner": (serving, OWNER),
        "not_owner_upper_case": (serving.upper(), OWNER),
        "session_created": owned("created", "pending"),
        "session_initializing": owned("initializing", "creating"),
        "session_terminated": owned("terminated", "destroyed"),
        "session_failed": owned("failed", "error"),
        "environment_missing": owned("ready", None),
        "environment_creating": owned("ready", "creating"),
        "environment_terminating": owned("running", "terminating"),
        "malformed_session_id": ("../../etc/passwd", OWNER),
        "malformed_user_id": (serving, "' OR 1=1 --"),
        "undecodable_session_id": ("6ba7b810\udcff", OWNER),  # argv bytes that are not UTF-8
        "undecodable_user_id": (serving, "\udcfe\udcff"),
        "overlong_id": ("a" * 100_000, OWNER),
        "empty_ids": ("", ""),
    }


def _sessions(db_url: str) -> list[tuple[object, ...]]:
    with session_scope(db_url) as db:
        rows = db.scalars(select(ExamSession).order_by(ExamSession.id)).all()
        return [tuple(getattr(row, column.key) for column in ExamSession.__table__.columns)
                for row in rows]


def test_every_denial_is_byte_identical_whatever_the_reason(run_command: Invoke,
                                                            db_url: str) -> None:
    # Given sessions in every state a denial can come from, and ids of every bad shape
    cases = _cases(db_url)
    sessions_before = _sessions(db_url)
    # When each is asked for
    answers = {name: _authorize(run_command, sid, uid) for name, (sid, uid) in cases.items()}
    # Then the caller sees exactly one answer, with nothing in it that varies
    assert set(answers.values()) == {THE_DENIAL}, {
        name: a for name, a in answers.items() if a != THE_DENIAL}
    # ... a denial leaves nothing another command could read back (no session changed)
    assert _sessions(db_url) == sessions_before
    # ... while the operators' log tells the reasons apart (the cases really differ)
    with session_scope(db_url) as db:
        reasons = list(db.scalars(select(ExamAccessLog.reason).order_by(ExamAccessLog.id)))
    assert len(reasons) == len(cases)
    assert {"unknown_session", "not_owner", "session_created", "session_terminated",
            "environment_missing", "environment_creating", "malformed_id"} <= set(reasons)


def test_the_owner_is_granted_and_only_the_owner(run_command: Invoke, db_url: str) -> None:
    serving = put_session(db_url, state="ready", user_id=OWNER, env_status="running")
    granted = _authorize(run_command, serving, OWNER)
    assert granted.code == 0 and granted.err == ""
    assert json.loads(granted.out) == {"authorized": True, "session_id": serving,
                                       "user_id": OWNER}
    assert _authorize(run_command, serving, STRANGER) == THE_DENIAL


def test_undecodable_argument_bytes_through_the_console_script(db_url: str) -> None:
    # The real process decodes argv with surrogate escapes: the denial is the same there.
    script = os.path.join(os.path.dirname(sys.executable), "environment-access")
    result = subprocess.run([os.fsencode(script), b"authorize", b"--session-id", b"\xff\xfe",
                             b"--user-id", OWNER.encode()], capture_output=True,
                            timeout=60)
    assert (result.returncode, result.stdout, result.stderr.decode()) == (
        THE_DENIAL.code, b"", THE_DENIAL.err)
    # the same again through the usual text-mode helper, for a decodable id
    assert run_cli("environment-access", "authorize", "--session-id", "nope",
                   "--user-id", OWNER).stderr == THE_DENIAL.err


def test_reads_by_session_id_never_show_whose_session_it_is(run_command: Invoke,
                                                             db_url: str) -> None:
    # Given a failed session whose internal reason names infrastructure details
    sid = put_session(db_url, state="running", user_id=OWNER, env_status="running")
    internal = "ImagePullBackOff: Back-off pulling image registry.internal:5000/exam@sha256:ab"
    failed = run_command(session_lifecycle, ERRORS, "session-lifecycle", "transition",
                         "--session-id", sid, "--to", "failed", "--reason", internal)
    assert failed.code == 0, failed.err
    # When anyone asks for its display status or its lifecycle status
    display = run_command(session_status, ERRORS, "session-status", "get", "--session-id", sid)
    status = run_command(session_lifecycle, ERRORS, "session-lifecycle", "status",
                         "--session-id", sid)
    # Then neither names the owner, and the screen shows the catalogue's words only
    for answer in (display, status):
        assert answer.code == 0 and OWNER not in answer.out + answer.err
    shown = json.loads(display.out)
    assert shown["display_state"] == "error"
    assert "registry.internal" not in display.out and "sha256" not in display.out


@pytest.mark.parametrize("state", ["created", "running", "terminated"])
def test_creating_a_session_id_someone_else_holds_reveals_nothing_of_it(
        run_command: Invoke, db_url: str, state: str) -> None:
    sid = put_session(db_url, state=state, user_id=OWNER)
    answer = run_command(session_lifecycle, ERRORS, "session-lifecycle", "create",
                         "--user-id", STRANGER, "--session-id", sid)
    assert answer.code == 3 and answer.out == ""
    error = json.loads(answer.err)
    assert error == {"error": True, "code": "SESSION_EXISTS",
                     "message": f"Session {sid} exists for another user",
                     "details": {"session_id": sid}}
    assert OWNER not in answer.err and state not in answer.err
