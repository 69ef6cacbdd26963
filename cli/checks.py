"""`conveyor check`: a probe job through every queue, the full path, timed."""

from __future__ import annotations

import time
from typing import Any

from cli.jobs_client import JobClient, SubmittedJob
from config.connection import redact_url
from domain.errors import ConveyorError


def _probe_outcome(client: JobClient, job: SubmittedJob, started: float,
                   timeout_s: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": job.queue, "ok": False, "latency_ms": None,
                             "job_id": job.job_id}
    remaining = max(0.001, timeout_s - (time.perf_counter() - started))
    try:
        result = client.wait(job, timeout_s=remaining)
    except ConveyorError as exc:
        entry["error"] = str(exc)
        return entry
    entry.update(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2),
                 worker=result.get("worker") if isinstance(result, dict) else None)
    return entry


def run_check(queues: list[str], *, timeout_s: float) -> dict[str, Any]:
    """Publish one probe per queue, then wait for each; report ok and latency per queue."""
    client = JobClient()
    report_queues: list[dict[str, Any]] = []
    pending: list[tuple[SubmittedJob, float]] = []
    for queue in queues:
        started = time.perf_counter()
        try:
            # The probe expires with the check: a queue nobody consumes keeps no stale probes.
            job = client.submit("tasks.probe.probe", {"sent_at": time.time()}, queue=queue,
                                expires_s=timeout_s)
        except ConveyorError as exc:
            report_queues.append({"name": queue, "ok": False, "latency_ms": None,
                                  "error": str(exc)})
            continue
        pending.append((job, started))
    for job, started in pending:
        report_queues.append(_probe_outcome(client, job, started, timeout_s))
    report_queues.sort(key=lambda entry: queues.index(entry["name"]))
    return {
        "ok": all(entry["ok"] for entry in report_queues),
        "mode": client.connection.mode.value,
        "broker": redact_url(client.connection.broker_url),
        "queues": report_queues,
    }
