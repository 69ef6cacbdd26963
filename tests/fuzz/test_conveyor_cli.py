"""Bad input to `conveyor` (docs/conveyor.md): every command and subcommand.

`up`, `down` and `worker` only ever get arguments that must be refused: a guard turns
starting a stack or exec'ing a worker into a crash, which fails the test. The job
commands (check, jobs prune/reconcile) run real jobs on the embedded worker.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from cli.conveyor import ERRORS, JOB_STATUSES, MAX_PRUNE_DAYS, VERSION, conveyor
from config.queues import QUEUES
from tests.fuzz.conftest import (
    FuzzHome,
    Outcome,
    RunCli,
    accepts_int,
    accepts_seconds,
    db_rows,
    fuzz_settings,
    standard_error,
)
from tests.fuzz.strategies import (
    FileSpec,
    file_specs,
    hostile_text,
    id_arguments,
    int_text,
    junk_flags,
    mostly,
    number_text,
    optional,
    setting_values,
    unknown_flags,
)

# docs/conveyor.md: exit code -> error code (exit 1 may also be a JSON report on stdout).
CODES_BY_EXIT = {1: "INTERNAL_ERROR", 2: "INVALID_ARGUMENTS", 3: "JOB_SYSTEM_UNAVAILABLE",
                 4: "JOB_NOT_FOUND"}
HELP = {"--help", "-h"}


class ReachedForbidden(Exception):
    """Bad input got as far as starting a stack or a worker."""


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch, run_cli: RunCli) -> Iterator[RunCli]:
    """run_cli, with starting or stopping the stack and exec'ing a worker made impossible."""
    from workers.stack import Stack

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise ReachedForbidden("bad input reached a command's real work")

    monkeypatch.setattr(Stack, "up", refuse)
    monkeypatch.setattr(Stack, "down", refuse)
    monkeypatch.setattr(os, "execv", refuse)
    yield run_cli


def run(runner: RunCli, args: list[str]) -> Outcome:
    return runner(conveyor, ERRORS, args, "conveyor")


def check_outcome(outcome: Outcome, exits: set[int]) -> Any:
    """Exit code allowed; an error is the standard object with its exit's code; success
    (and a failed probe or job, exit 1) prints on stdout only. Returns what was printed."""
    event(f"exit {outcome.exit_code}")  # --hypothesis-show-statistics: what was reached
    assert outcome.exit_code in exits, outcome
    if outcome.exit_code == 0 or (outcome.exit_code == 1 and outcome.stdout):
        assert outcome.stderr == "", outcome
        return outcome.stdout
    error = standard_error(outcome)
    assert error["code"] == CODES_BY_EXIT[outcome.exit_code], error
    return error


def no_help(tokens: list[str]) -> bool:
    return not HELP & set(tokens)


def options(pairs: dict[str, str | None]) -> list[str]:
    return [part for flag, value in pairs.items() if value is not None for part in (flag, value)]


# ---- the stack, status, version, db, worker ----------------------------------------------

def junk_tokens(min_size: int = 0) -> st.SearchStrategy[list[str]]:
    # "--" alone ends the options: `up --` would be a real `up`, so it is not junk.
    token = st.one_of(hostile_text(), unknown_flags()).filter(lambda t: t != "--")
    return st.lists(token, min_size=min_size, max_size=3).filter(no_help)


@fuzz_settings(120)
@given(command=st.sampled_from((["up"], ["down"], ["status"], ["db", "upgrade"], ["jobs"],
                                ["db"], [])),
       junk=junk_tokens())
def test_commands_without_arguments(guarded: RunCli, command: list[str],
                                    junk: list[str]) -> None:
    assume(junk or command[:1] not in (["up"], ["down"]))  # a bare up/down is real work
    outcome = run(guarded, command + junk)
    # A group without a command only shows its usage; any extra argument is refused.
    # Bare `conveyor` prints its help (exit 0), as --help does.
    if not command and not junk:
        assert outcome.exit_code == 0 and outcome.stdout.startswith("Usage: conveyor")
        return
    expected = 2 if junk or command in ([], ["jobs"], ["db"]) else 0
    out = check_outcome(outcome, {expected})
    if expected == 0 and command == ["status"]:
        assert outcome.json_out()["mode"] == "embedded"
    elif expected == 0:
        assert set(outcome.json_out()) == {"database", "heads"}, out


def test_version(guarded: RunCli) -> None:
    outcome = run(guarded, ["--version"])
    assert (outcome.exit_code, outcome.stdout.strip()) == (0, f"conveyor, version {VERSION}")


def _worker_args_valid(queues: str | None, concurrency: str | None, pool: str | None) -> bool:
    chosen = [q.strip() for q in (queues or ",".join(QUEUES)).split(",") if q.strip()]
    return (bool(chosen) and all(q in QUEUES for q in chosen)
            and (concurrency is None or accepts_int(concurrency, 1, 256))
            and (pool is None or pool in ("threads", "prefork", "solo")))


@fuzz_settings(150)
@given(queues=optional(st.one_of(st.sampled_from([*QUEUES, ",", " , ", "default,"]),
                                 hostile_text(nul=False))),
       concurrency=optional(number_text()),
       pool=optional(st.one_of(st.sampled_from(("threads", "solo")), hostile_text())),
       hostname=optional(hostile_text()), extra=junk_tokens())
def test_worker_refuses_bad_options(guarded: RunCli, queues: str | None,
                                    concurrency: str | None, pool: str | None,
                                    hostname: str | None, extra: list[str]) -> None:
    assume(not _worker_args_valid(queues, concurrency, pool))  # never exec a real worker
    args = ["worker", *options({"-Q": queues, "-c": concurrency, "--pool": pool,
                                "-n": hostname}), *extra]
    check_outcome(run(guarded, args), {2})


# ---- check -------------------------------------------------------------------------------

@fuzz_settings(50)
@given(queues=st.lists(mostly(st.sampled_from(QUEUES), hostile_text()), max_size=3),
       timeout=optional(mostly(st.sampled_from(("0.000001", "5")), number_text())),
       junk=junk_flags())
def test_check(guarded: RunCli, queues: list[str], timeout: str | None,
               junk: list[str]) -> None:
    args = ["check", *[part for q in queues for part in ("--queue", q)],
            *options({"--timeout": timeout}), *junk]
    usage = (bool(junk) or any(q not in QUEUES for q in queues)
             or (timeout is not None and not accepts_seconds(timeout)))
    outcome = run(guarded, args)
    if usage:
        check_outcome(outcome, {2})
    else:
        # A valid but tiny --timeout may end a probe's wait first: ok false, exit 3
        # (the job system did not serve in time) or 1 (a probe failed otherwise); the
        # report is on stdout either way.
        assert outcome.exit_code in (0, 1, 3) and outcome.stderr == "", outcome
        report = outcome.json_out()
        assert report["ok"] is (outcome.exit_code == 0)
        assert [q["name"] for q in report["queues"]] == list(dict.fromkeys(queues or QUEUES))


# ---- jobs --------------------------------------------------------------------------------

def seed_jobs() -> dict[str, str]:
    """A succeeded and a failed job row; returns id -> status."""
    from store import job_writes

    made = {}
    for status in ("succeeded", "failed"):
        job_id = str(uuid.uuid4())
        job_writes.record_queued(None, job_writes.QueuedJob(
            id=job_id, kind="tasks.probe.probe", queue="default", args={}))
        if status == "succeeded":
            job_writes.mark_succeeded(job_id, result={"ok": True})
        else:
            job_writes.mark_failed(job_id, error="seeded failure", exit_code=1)
        made[job_id] = status
    return made


def job_rows() -> list[dict[str, Any]]:
    return db_rows("jobs")["jobs"]


@fuzz_settings(150)
@given(status=optional(mostly(st.sampled_from(JOB_STATUSES), hostile_text())),
       kind=optional(mostly(st.sampled_from(("tasks.probe.probe", "tasks.x")), hostile_text())),
       limit=optional(mostly(int_text(1, 10_000), number_text())), as_json=st.booleans(),
       junk=junk_flags())
def test_jobs_list(guarded: RunCli, status: str | None, kind: str | None, limit: str | None,
                   as_json: bool, junk: list[str]) -> None:
    seed_jobs()
    before = job_rows()
    args = ["jobs", "list", *options({"--status": status, "--kind": kind, "--limit": limit}),
            *(["--json"] if as_json else []), *junk]
    usage = (bool(junk) or (status is not None and status not in JOB_STATUSES)
             or (limit is not None and not accepts_int(limit, 1, 10_000)))
    outcome = run(guarded, args)
    check_outcome(outcome, {2 if usage else 0})
    assert job_rows() == before
    if usage or not as_json:
        return
    listed = outcome.json_out()
    assert len(listed) <= (int(limit) if limit is not None else 50)
    assert all((status is None or row["status"] == status) and (kind is None or row["kind"] == kind)
               for row in listed)


@fuzz_settings(150)
@given(command=st.sampled_from(("show", "wait")),
       target=mostly(st.sampled_from(("seed:succeeded", "seed:failed")), id_arguments()),
       timeout=optional(mostly(st.sampled_from(("0.5", "30")), number_text())),
       junk=junk_flags())
def test_jobs_show_and_wait(guarded: RunCli, command: str, target: str,
                            timeout: str | None, junk: list[str]) -> None:
    seeded = {status: job_id for job_id, status in seed_jobs().items()}
    job_id = seeded.get(target.removeprefix("seed:"), target)
    before = job_rows()
    existing = {row["id"]: row["status"] for row in before}
    args = ["jobs", command, "--", job_id] if job_id.startswith("-") else ["jobs", command, job_id]
    if command == "wait":
        args[2:2] = options({"--timeout": timeout})
    args[2:2] = junk
    usage = bool(junk) or (command == "wait" and timeout is not None
                           and not accepts_seconds(timeout))
    # Only finished jobs exist here, so a wait answers at once: 0 succeeded, 1 failed.
    expected = 2 if usage else 4 if job_id not in existing else \
        0 if command == "show" or existing[job_id] == "succeeded" else 1
    outcome = run(guarded, args)
    check_outcome(outcome, {expected})
    assert job_rows() == before
    if expected in (0, 1):
        assert outcome.json_out()["id"] == job_id


def _unfinished(rows: list[dict[str, Any]]) -> set[str]:
    return {row["id"] for row in rows if row["status"] not in ("succeeded", "failed")}


def _settled_job_rows(timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The job rows once no job runs: a job an earlier example stopped waiting for (a tiny
    --timeout) finishes on the embedded worker, and must not change a later snapshot."""
    deadline = time.monotonic() + timeout_s
    while _unfinished(rows := job_rows()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return rows


@fuzz_settings(80)
@given(command=st.sampled_from(("prune", "reconcile")),
       age=optional(mostly(int_text(0, MAX_PRUNE_DAYS), number_text())),
       timeout=optional(mostly(st.just("30"), number_text())),
       wait=st.sampled_from((True, True, True, False)), junk=junk_flags())
def test_jobs_prune_and_reconcile(guarded: RunCli, command: str, age: str | None,
                                  timeout: str | None, wait: bool, junk: list[str]) -> None:
    seed_jobs()
    before = _settled_job_rows()
    age_flag = "--older-than-days" if command == "prune" else "--older-than-s"
    flags = [] if command == "reconcile" or wait else ["--no-wait"]
    args = ["jobs", command, *options({age_flag: age, "--timeout": timeout}), *flags, *junk]
    age_ok = age is None or (accepts_int(age, 0, MAX_PRUNE_DAYS) if command == "prune"
                             else accepts_seconds(age, positive=False))
    usage = bool(junk) or not age_ok or (timeout is not None
                                         and not accepts_seconds(timeout))
    # --no-wait has no worker to leave the job with in the embedded mode (exit 3); a tiny
    # --timeout may end the wait first (exit 3 too).
    outcome = run(guarded, args)
    answer = check_outcome(outcome, {2} if usage else {0, 3})
    after = job_rows()
    deleted = [row for row in before if row["id"] not in {r["id"] for r in after}]
    assert not _unfinished(deleted), deleted  # only finished jobs are ever pruned
    if command == "reconcile" or usage or age is None or int(age) > 0:
        assert not deleted, deleted  # every row here is less than a day old
    if usage:
        assert after == before
    elif outcome.exit_code == 3:
        assert answer["details"]["reason"] in ("no_wait_embedded", "wait_timeout"), answer
    else:
        assert outcome.json_out()["job_id"] in {row["id"] for row in after}


# ---- bad settings ------------------------------------------------------------------------

SETTINGS = ("CONVEYOR_VISIBILITY_TIMEOUT_S", "CONVEYOR_LEASE_RENEW_S",
            "CONVEYOR_RESULT_EXPIRES_S", "CONVEYOR_NO_WORKER_GRACE_S",
            "CONVEYOR_JOB_RETENTION_DAYS", "CONVEYOR_EMBEDDED_CONCURRENCY",
            "CONVEYOR_DATABASE_URL")
# No server URL: whether one answers depends on the machine (an unreachable database is
# an outage, not bad input; tests/store/test_engine.py covers an unmigrated one).
URLS = ("garbage", "foo://x", "sqlite://", "sqlite:///:memory:", "sqlite:///in-cwd.db",
        "sqlite:///in-cwd.db?mode=bogus", "mysql+nosuchdriver://u:secret@h/db")


def _refused_for(outcome: Outcome, names: tuple[str, ...]) -> None:
    if outcome.exit_code == 2:
        message = outcome.json_err()["message"]
        assert any(name in message for name in names), message


@pytest.mark.parametrize("name", SETTINGS)
@fuzz_settings(25)
@given(value=st.one_of(setting_values(), st.sampled_from(URLS)),
       command=st.sampled_from((["status"], ["jobs", "list", "--json"])))
def test_bad_settings(guarded: RunCli, monkeypatch: pytest.MonkeyPatch, name: str,
                      value: str, command: list[str]) -> None:
    from config.settings import reset_settings

    with monkeypatch.context() as patch:
        patch.setenv(name, value)
        reset_settings()
        outcome = run(guarded, command)
    reset_settings()
    check_outcome(outcome, {0, 2})
    _refused_for(outcome, (name,))


@fuzz_settings(20)
@given(home=file_specs(st.sampled_from((b"", b"not a folder"))),
       command=st.sampled_from((["status"], ["jobs", "list", "--json"], ["db", "upgrade"])))
def test_a_state_folder_that_cannot_be_one(guarded: RunCli, fuzz_home: FuzzHome,
                                           monkeypatch: pytest.MonkeyPatch, home: FileSpec,
                                           command: list[str]) -> None:
    from config.settings import reset_settings
    from store.engine import dispose_engines

    folder = home.make(fuzz_home.root / "homes", f"home-{uuid.uuid4().hex[:8]}")
    with monkeypatch.context() as patch:
        patch.setenv("CONVEYOR_HOME", str(folder))
        reset_settings()
        outcome = run(guarded, command)
    reset_settings()
    dispose_engines()
    check_outcome(outcome, {0, 2})
    _refused_for(outcome, ("CONVEYOR_HOME",))
