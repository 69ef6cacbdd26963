"""`conveyor check`: a probe job through every queue, the full path, timed.

Each probe carries a fresh marker that the worker writes into the job's row in its
database; the check reads that row from the CLI's own database afterwards, so a worker
answering from another database (CONVEYOR_DATABASE_URL set on one side only) is
reported as database_mismatch instead of a false "ok".
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from cli.jobs_client import JobClient, SubmittedJob, read_job_row
from common.errors import ConveyorError, JobSystemError
from config.connection import redact_url

# A report failing for one of these reasons means the job system cannot serve (exit 3).
SYSTEM_REASONS = ("no_worker", "broker_unavailable", "database_unavailable",
                  "database_mismatch", "wait_timeout")


def _failed(entry: dict[str, Any], exc: ConveyorError) -> dict[str, Any]:
    entry["error"] = str(exc)
    if isinstance(exc, JobSystemError):
        entry["reason"] = exc.reason
    return entry


def _same_database(job: SubmittedJob, marker: str) -> JobSystemError | None:
    reachable, row = read_job_row(job.job_id)
    if not reachable:
        return JobSystemError("database_unavailable", "the jobs database is locked or "
                              "cannot be reached; try again shortly")
    result = row.get("result") if row else None
    if row and row["status"] == "succeeded" and isinstance(result, dict) \
            and result.get("marker") == marker:
        return None
    seen = row["status"] if row else "missing"
    return JobSystemError(
        "database_mismatch", f"the worker answered, but the job's row in this CLI's "
        f"database is {seen}: the worker uses another database (set the same "
        f"CONVEYOR_DATABASE_URL for workers and CLIs)", {"job_id": job.job_id})


def _probe_outcome(client: JobClient, job: SubmittedJob, marker: str, started: float,
                   timeout_s: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": job.queue, "ok": False, "latency_ms": None,
                             "job_id": job.job_id}
    remaining = max(0.001, timeout_s - (time.perf_counter() - started))
    try:
        result = client.wait(job, timeout_s=remaining)
    except ConveyorError as exc:
        return _failed(entry, exc)
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    mismatch = _same_database(job, marker)
    if mismatch is not None:
        return _failed(entry, mismatch)
    entry.update(ok=True, latency_ms=latency_ms,
                 worker=result.get("worker") if isinstance(result, dict) else None)
    return entry


def run_check(queues: list[str], *, timeout_s: float) -> dict[str, Any]:
    """Publish one probe per queue, then wait for each; report ok and latency per queue."""
    from cli.state_errors import ensure_state_folder_writable

    ensure_state_folder_writable()
    client = JobClient()
    report_queues: list[dict[str, Any]] = []
    pending: list[tuple[SubmittedJob, str, float]] = []
    broker_down: JobSystemError | None = None
    for queue in queues:
        started = time.perf_counter()
        entry: dict[str, Any] = {"name": queue, "ok": False, "latency_ms": None}
        if broker_down is not None:  # one unreachable broker is reported once per queue
            report_queues.append(_failed(entry, broker_down))
            continue
        marker = secrets.token_hex(8)
        try:
            # The probe expires with the check: a queue nobody consumes keeps no stale probes.
            job = client.submit("tasks.probe.probe", {"sent_at": time.time(), "marker": marker},
                                queue=queue, expires_s=timeout_s)
        except ConveyorError as exc:
            if isinstance(exc, JobSystemError) and exc.reason == "broker_unavailable":
                broker_down = exc
            report_queues.append(_failed(entry, exc))
            continue
        pending.append((job, marker, started))
    for job, marker, started in pending:
        report_queues.append(_probe_outcome(client, job, marker, started, timeout_s))
    report_queues.sort(key=lambda entry: queues.index(entry["name"]))
    return {
        "ok": all(entry["ok"] for entry in report_queues),
        "mode": client.connection.mode.value,
        "broker": redact_url(client.connection.broker_url),
        "queues": report_queues,
    }


def check_exit_code(report: dict[str, Any], *, failed: int, unavailable: int) -> int:
    """0 when every probe passed; ``unavailable`` when the job system cannot serve
    (no worker, broker or database unreachable, another database); else ``failed``."""
    if report["ok"]:
        return 0
    reasons = {entry.get("reason") for entry in report["queues"] if not entry["ok"]}
    return unavailable if reasons & set(SYSTEM_REASONS) else failed
