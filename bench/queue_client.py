"""One measuring process of bench/queue.py: latency and throughput of one task kind.

Run as `python -m bench.queue_client bare|persisted N` with the private stack's
environment; prints JSON {"latencies_s": [...], "throughput_per_s": x}.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def _bare_app() -> Any:
    """A Celery app with Conveyor's exact settings but none of its hooks: plain Celery.

    config.celery_settings, not config.celery_app: importing the latter creates Conveyor's
    app and connects its global before_task_publish hook, which would write a job row
    for every bare publish too and slow the baseline down with our own bookkeeping.
    """
    from celery import Celery

    from config.celery_settings import celery_config
    from config.connection import resolve_connection
    from config.settings import get_settings

    settings = get_settings()
    app = Celery("bare", set_as_current=False)
    app.conf.update(celery_config(settings, resolve_connection(settings)))
    return app


def measure_bare(n: int) -> dict[str, Any]:
    app = _bare_app()
    from celery import signals

    if signals.before_task_publish.receivers:
        raise RuntimeError("the bare baseline has a before_task_publish hook: it is not bare")
    app.send_task("bench.tasks.bare_noop").get(timeout=30)  # warm the connections
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        app.send_task("bench.tasks.bare_noop").get(timeout=30)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    results = [app.send_task("bench.tasks.bare_noop") for _ in range(n)]
    for result in results:
        result.get(timeout=60)
    return {"latencies_s": latencies, "throughput_per_s": n / (time.perf_counter() - started)}


def measure_persisted(n: int) -> dict[str, Any]:
    from cli.jobs_client import JobClient

    client = JobClient()
    client.wait(client.submit("bench.tasks.persisted_noop", {}), timeout_s=30)
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        client.wait(client.submit("bench.tasks.persisted_noop", {}), timeout_s=30)
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    jobs = [client.submit("bench.tasks.persisted_noop", {}, require_worker=False)
            for _ in range(n)]
    for job in jobs:
        client.wait(job, timeout_s=60)
    return {"latencies_s": latencies, "throughput_per_s": n / (time.perf_counter() - started)}


def main() -> None:
    kind, n = sys.argv[1], int(sys.argv[2])
    outcome = measure_bare(n) if kind == "bare" else measure_persisted(n)
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
