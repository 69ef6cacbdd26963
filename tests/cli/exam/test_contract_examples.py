"""Every example of exam-session-isolation.md, through the console scripts."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.exam.conftest import SESSION, USER, Run
from tests.domain.exam.conftest import put_session
from tests.support.cli import json_err, json_out

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_session_identity_validate(exam: Run) -> None:
    ok = exam("session-identity", "validate", "--user-id", USER, "--session-id", SESSION)
    assert ok.returncode == 0, ok.stderr
    assert json_out(ok) == {"valid": True, "identity": {
        "user_id": USER, "exam_session_id": SESSION, "environment_id": None}}
    assert ok.stderr == ""

    missing = exam("session-identity", "validate", "--session-id", SESSION)
    assert missing.returncode == 3 and missing.stdout == ""
    assert json_err(missing) == {
        "error": True, "code": "INVALID_IDENTITY",
        "message": "Missing required identity component: user_id",
        "details": {"missing_fields": ["user_id"], "invalid_fields": []}}

    both = exam("session-identity", "validate", "--environment-id", "nope")
    assert both.returncode == 3
    assert json_err(both)["details"] == {"missing_fields": ["user_id", "exam_session_id"],
                                         "invalid_fields": ["environment_id"]}


def test_session_lifecycle_transition_and_status(exam: Run) -> None:
    created = exam("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION)
    assert created.returncode == 0, created.stderr
    assert json_out(created)["state"] == "created"
    assert exam("session-lifecycle", "transition", "--session-id", SESSION,
                "--to", "initializing").returncode == 0

    ready = exam("session-lifecycle", "transition", "--session-id", SESSION, "--to", "ready")
    assert ready.returncode == 0, ready.stderr
    body = json_out(ready)
    assert list(body) == ["session_id", "previous_state", "current_state", "transitioned_at"]
    assert (body["session_id"], body["previous_state"], body["current_state"]) == (
        SESSION, "initializing", "ready")
    assert ISO_Z.fullmatch(body["transitioned_at"])

    exam("session-lifecycle", "transition", "--session-id", SESSION, "--to", "running")
    status = json_out(exam("session-lifecycle", "status", "--session-id", SESSION))
    assert list(status) == ["session_id", "state", "reason", "started_at", "last_transition_at"]
    assert (status["state"], status["reason"]) == ("running", None)
    assert status["started_at"] == json_out(created)["created_at"]
    assert status["last_transition_at"] > status["started_at"]

    exam("session-lifecycle", "transition", "--session-id", SESSION, "--to", "terminated")
    refused = exam("session-lifecycle", "transition", "--session-id", SESSION, "--to", "running")
    assert refused.returncode == 6
    assert json_err(refused) == {
        "error": True, "code": "INVALID_TRANSITION",
        "message": "Cannot transition from 'terminated' to 'running'",
        "details": {"current_state": "terminated", "requested_state": "running",
                    "allowed_transitions": []}}


def test_execution_environment_access_status_and_cleanup(exam: Run) -> None:
    exam("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION)
    created = exam("execution-environment", "create", "--session-id", SESSION)
    assert created.returncode == 0, created.stderr
    env = json_out(created)
    assert list(env) == ["environment_id", "session_id", "pod_name", "pod_namespace", "status",
                         "created_at", "ready_at"]
    assert UUID.fullmatch(env["environment_id"])
    assert (env["session_id"], env["pod_name"], env["pod_namespace"], env["status"]) == (
        SESSION, "exam-6ba7b810", "exam-sessions", "running")
    assert ISO_Z.fullmatch(env["created_at"]) and env["ready_at"] >= env["created_at"]

    status = exam("execution-environment", "status", "--session-id", SESSION)
    assert json_out(status) == {
        "environment_id": env["environment_id"], "session_id": SESSION,
        "pod_name": "exam-6ba7b810", "pod_namespace": "exam-sessions", "status": "running",
        "ready": True}

    granted = exam("environment-access", "authorize", "--session-id", SESSION, "--user-id", USER)
    assert granted.returncode == 0
    assert json_out(granted) == {"authorized": True, "session_id": SESSION, "user_id": USER}
    denied = exam("environment-access", "authorize", "--session-id", SESSION,
                  "--user-id", "1b4e28ba-2fa1-41d2-883f-0016d3cca427")
    assert denied.returncode == 5 and denied.stdout == ""
    assert json_err(denied) == {"error": True, "code": "ACCESS_DENIED",
                                "message": "Access denied", "details": {}}

    display = json_out(exam("session-status", "get", "--session-id", SESSION))
    assert display == {
        "session_id": SESSION, "display_state": "ready",
        "message": "Your exam environment is ready",
        "progress": {"current_step": 3, "total_steps": 3, "step_description": "Environment ready"},
        "environment_ready": True, "remaining_seconds": 7200,
        "updated_at": display["updated_at"]}

    exam("session-lifecycle", "transition", "--session-id", SESSION, "--to", "running")
    check = json_out(exam("cleanup-ttl", "check", "--session-id", SESSION))
    assert list(check) == ["session_id", "should_cleanup", "reason", "ttl_remaining_seconds"]
    assert (check["should_cleanup"], check["reason"]) == (False, "Session still active")
    assert 7190 <= check["ttl_remaining_seconds"] <= 7200

    destroyed = exam("execution-environment", "destroy", "--session-id", SESSION)
    assert destroyed.returncode == 0, destroyed.stderr
    body = json_out(destroyed)
    assert list(body) == ["environment_id", "session_id", "destroyed_at"]
    assert body["environment_id"] == env["environment_id"] and ISO_Z.fullmatch(
        body["destroyed_at"])
    assert json_out(exam("execution-environment", "status", "--session-id", SESSION))[
        "status"] == "destroyed"


def test_environment_create_failure_and_the_error_display(exam: Run) -> None:
    exam("session-lifecycle", "create", "--user-id", USER, "--session-id", SESSION)
    failed = exam("execution-environment", "create", "--session-id", SESSION, "--timeout", "1",
                  CONVEYOR_EXAM_LOCAL_COMMAND="sleep 30")
    assert failed.returncode == 1 and failed.stdout == ""
    assert json_err(failed) == {
        "error": True, "code": "ENVIRONMENT_CREATE_FAILED",
        "message": "Failed to create execution environment",
        "details": {"session_id": SESSION, "reason": "Pod creation timeout after 1 seconds"}}
    display = json_out(exam("session-status", "get", "--session-id", SESSION))
    assert display == {"session_id": SESSION, "display_state": "error",
                       "message": "Failed to start your exam environment",
                       "error_reason": "Container creation timeout", "recoverable": False,
                       "updated_at": display["updated_at"]}
    status = json_out(exam("session-lifecycle", "status", "--session-id", SESSION))
    assert (status["state"], status["reason"]) == ("failed",
                                                   "Pod creation timeout after 1 seconds")


def test_failure_classification_classify(exam: Run) -> None:
    result = exam("failure-classification", "classify", "--type", "init",
                  "--context", '{"reason": "ImagePullBackOff"}')
    assert result.returncode == 0, result.stderr
    assert json_out(result) == {
        "type": "init", "severity": "high", "message": "Failed to start exam environment",
        "user_message": "We couldn't start your exam environment. Please try again or contact "
                        "support.",
        "technical_details": "Pod creation failed: ImagePullBackOff",
        "recoverable": True, "recovery_action": "retry"}


def test_cleanup_ttl_sweep(exam: Run, conveyor_home: Path) -> None:
    # Given a session that has been running for 61 s of its 60,
    put_session(f"sqlite:///{conveyor_home / 'conveyor.db'}", session_id=SESSION, user_id=USER,
                state="running", duration_s=60, running_for_s=61)
    check = json_out(exam("cleanup-ttl", "check", "--session-id", SESSION))
    assert check["should_cleanup"] is True and check["ttl_remaining_seconds"] == 0

    dry = exam("cleanup-ttl", "sweep", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    preview = json_out(dry)
    assert preview["dry_run"] is True and preview["cleaned_session_ids"] == [SESSION]
    assert json_out(exam("session-lifecycle", "status", "--session-id", SESSION))[
        "state"] == "running"

    swept = exam("cleanup-ttl", "sweep")
    assert swept.returncode == 0, swept.stderr
    body = json_out(swept)
    assert list(body) == ["sweep_started_at", "sweep_completed_at", "sessions_checked",
                          "sessions_cleaned", "cleaned_session_ids", "dry_run"]
    assert (body["sessions_checked"], body["sessions_cleaned"], body["cleaned_session_ids"],
            body["dry_run"]) == (1, 1, [SESSION], False)
    assert body["sweep_completed_at"] >= body["sweep_started_at"]
    status = json_out(exam("session-lifecycle", "status", "--session-id", SESSION))
    assert (status["state"], status["reason"]) == ("terminated",
                                                   "Session expired: ran past its duration")
