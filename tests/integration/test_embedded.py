"""Zero configuration: no broker, no stack; the worker runs inside the CLI process."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import json_err, json_out, run_cli


def test_check_and_jobs_list_in_embedded_mode(conveyor_home: Path) -> None:
    env = dict(os.environ)
    result = run_cli("conveyor", "check", env=env)
    assert result.returncode == 0, result.stderr
    report = json_out(result)
    assert report["ok"] is True and report["mode"] == "embedded"
    assert [q["name"] for q in report["queues"]] == [
        "environments", "sweeps", "pipelines", "oord", "default"]

    listed = run_cli("conveyor", "jobs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json_out(listed)
    assert sorted(r["queue"] for r in rows) == sorted(q["name"] for q in report["queues"])
    assert {(r["kind"], r["status"], r["attempts"]) for r in rows} == {
        ("tasks.probe.probe", "succeeded", 1)}
    assert (conveyor_home / "conveyor.db").exists()

    shown = run_cli("conveyor", "jobs", "show", rows[0]["id"], env=env)
    assert json_out(shown)["id"] == rows[0]["id"]


def test_no_wait_is_refused_in_embedded_mode(conveyor_home: Path) -> None:
    result = run_cli("conveyor", "jobs", "prune", "--no-wait")
    assert result.returncode == 3
    assert json_err(result)["details"]["reason"] == "no_wait_embedded"


def test_bad_flags_get_the_json_error(conveyor_home: Path) -> None:
    result = run_cli("conveyor", "jobs", "list", "--status", "exploded")
    assert result.returncode == 2
    error = json_err(result)
    assert error["code"] == "INVALID_ARGUMENTS" and "Traceback" not in result.stderr
    assert run_cli("conveyor", "check", "--queue", "nope").returncode == 2


def test_a_bad_setting_is_a_clear_error(conveyor_home: Path) -> None:
    env = {**os.environ, "CONVEYOR_VISIBILITY_TIMEOUT_S": "soon"}
    result = run_cli("conveyor", "check", env=env)
    assert result.returncode == 2
    assert "CONVEYOR_VISIBILITY_TIMEOUT_S" in json_err(result)["message"]


def test_absurd_ages_are_argument_errors(conveyor_home: Path) -> None:
    # Found by tests/fuzz: these reached the job, which crashed on date arithmetic.
    for args in (["jobs", "prune", "--older-than-days", "1000000000"],
                 ["jobs", "reconcile", "--older-than-s", "1e300"],
                 ["jobs", "reconcile", "--older-than-s", "nan"]):
        result = run_cli("conveyor", *args)
        assert result.returncode == 2, result.stderr
        assert json_err(result)["code"] == "INVALID_ARGUMENTS"


def test_a_queue_named_twice_is_probed_once(conveyor_home: Path) -> None:
    result = run_cli("conveyor", "check", "--queue", "default", "--queue", "default")
    assert result.returncode == 0, result.stderr
    assert [q["name"] for q in json_out(result)["queues"]] == ["default"]
