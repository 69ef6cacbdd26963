"""Queue benchmark: the persisted base task against bare Celery, and a cold CLI call.

In one run, on one private Redis and one worker (threads pool, 4 threads):
  1. median submit-and-wait latency and burst throughput of N no-op jobs through
     the persisted base task (JobClient: consumer check, job row, result, published
     without Celery in the client: cli/redis_jobs.py) against
     a bare Celery task with delay().get() from an app with Conveyor's settings but
     none of its signal hooks, alternating rounds;
  2. wall time of a cold `conveyor check --queue default` process (one
     submit-and-wait through the full CLI path) against `python -c pass`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.common import ROOT, BenchReport, Figure, interleaved, median, private_stack, time_command

ROUNDS = 5
JOBS_PER_ROUND = 300
CLI_RUNS = 15


def _client_round(kind: str, env: dict[str, str]) -> dict[str, float]:
    output = subprocess.run([sys.executable, "-m", "bench.queue_client", kind,
                             str(JOBS_PER_ROUND)], env=env, cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    data = json.loads(output)
    return {"latency_s": median(data["latencies_s"]), "throughput": data["throughput_per_s"]}


def run() -> BenchReport:
    report = BenchReport("Queue: persisted base task vs bare Celery", "./run bench queue")
    with private_stack(["default"]) as env:
        rounds: dict[str, list[dict[str, float]]] = {"bare": [], "persisted": []}

        def one(kind: str) -> float:
            rounds[kind].append(_client_round(kind, env))
            return 0.0

        interleaved(ROUNDS, lambda: one("bare"), lambda: one("persisted"))
        cold = time_command([str(ROOT / ".venv" / "bin" / "conveyor"), "check", "--queue",
                             "default"], env=env, runs=CLI_RUNS)
        python = time_command([sys.executable, "-c", "pass"], env=env, runs=CLI_RUNS)

    bare_latency = median([r["latency_s"] for r in rounds["bare"]]) * 1000
    persisted_latency = median([r["latency_s"] for r in rounds["persisted"]]) * 1000
    bare_tput = median([r["throughput"] for r in rounds["bare"]])
    persisted_tput = median([r["throughput"] for r in rounds["persisted"]])
    cold_s, python_s = median(cold), median(python)
    report.figures += [
        Figure("median submit-and-wait latency, persisted", persisted_latency,
               "bare Celery delay().get()", bare_latency, "ms", "<= 1.2x",
               persisted_latency <= 1.2 * bare_latency),
        Figure(f"throughput, burst of {JOBS_PER_ROUND}, persisted", persisted_tput,
               "bare Celery", bare_tput, "jobs/s", ">= 0.95x",
               persisted_tput >= 0.95 * bare_tput),
        Figure("cold CLI submit-and-wait (`conveyor check --queue default`)", cold_s,
               "`python -c pass`", python_s, "s", "<= 0.2 s median wall", cold_s <= 0.2),
    ]
    report.notes += [
        f"1-minute load average at the end of this run: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (the machine is shared: the ratios are what travel).",
        f"Medians over {ROUNDS} alternating rounds of {JOBS_PER_ROUND} sequential jobs "
        f"(latency) and {JOBS_PER_ROUND} published at once (throughput); the cold CLI "
        f"over {CLI_RUNS} runs each.",
        "Persisted = JobClient.submit + wait: consumer check (at most once a second per "
        "client), queued row at publish, running and succeeded rows in SQLite (WAL) on the "
        "worker, and the result stored without Celery's read-before-write (the row "
        "guards duplicates: workers/result_backend.py). Bare = Celery with the same "
        "settings and none of Conveyor's hooks "
        "(config/celery_settings.py): no rows, not even the queued one.",
        "The two clients differ too: bare publishes with Celery's send_task and waits with "
        "AsyncResult.get; JobClient publishes the same protocol-2 message over its own "
        "RESP3 connection and hears the same result channel (cli/redis_jobs.py), without "
        "Celery in the client. The worker (Celery, threads pool, 4 threads) is the same.",
    ]
    return report


if __name__ == "__main__":
    run().print()
