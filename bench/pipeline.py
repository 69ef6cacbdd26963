"""Pipeline benchmark: a full chirality run at concurrency 16 against concurrency 1.

In one run, against a loopback chat completions endpoint answering every request
after a fixed 50 ms (tests/support/chat_server.py, in a process of its own so that
serving does not compete with the client for the interpreter): full runs (380 resolver
calls through the openai resolver, the snapshots and the manifest written) at
concurrency 1, 8 (the default) and 16, in alternating rounds; medians of the rounds.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, BenchReport, Figure, interleaved, median

LATENCY_MS = 50
ROUNDS = 3
CRITICAL_PATH_CALLS = 18  # the longest chain of dependent calls in a run


@contextmanager
def loopback_endpoint(latency_ms: float) -> Iterator[str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.chat_server", "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _full_run(base_url: str, concurrency: int, root: Path) -> Callable[[], float]:
    from config.chirality import load_chirality_settings
    from domain.chirality.pipeline import PipelineRequest, run_pipeline
    from domain.chirality.problem import Problem

    settings = dataclasses.replace(load_chirality_settings(), openai_api_key="bench",
                                   openai_base_url=base_url, concurrency=concurrency)
    counter = iter(range(1_000_000))

    def measure() -> float:
        request = PipelineRequest(run_id=f"c{concurrency}-{next(counter)}",
                                  runs_root=str(root), resolver="openai",
                                  problem=Problem("Bench", "A full run."), max_seconds=600)
        started = time.perf_counter()
        outcome = run_pipeline(request, settings=settings)
        elapsed = time.perf_counter() - started
        assert outcome.resolver_calls == 380 and not outcome.reused
        return elapsed

    return measure


def run() -> BenchReport:
    report = BenchReport("Pipeline: a full chirality run, concurrent resolver calls",
                         "python -m bench pipeline")
    import openai  # noqa: F401 - imported once, outside every measured run

    with loopback_endpoint(LATENCY_MS) as base_url, \
            tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        one, eight, sixteen = interleaved(ROUNDS, _full_run(base_url, 1, root),
                                          _full_run(base_url, 8, root),
                                          _full_run(base_url, 16, root))
    t1, t8, t16 = median(one), median(eight), median(sixteen)
    ideal = CRITICAL_PATH_CALLS * LATENCY_MS / 1000
    report.figures += [
        Figure("full run at concurrency 16", t16, "concurrency 1", t1, "s",
               ">= 8x faster (ratio <= 0.125x)", t1 >= 8 * t16),
        Figure("full run at concurrency 8 (the default)", t8, "concurrency 1", t1, "s"),
        Figure("full run at concurrency 16", t16,
               f"critical path ({CRITICAL_PATH_CALLS} calls x {LATENCY_MS} ms)", ideal, "s"),
    ]
    report.notes += [
        f"Speed-up at concurrency 16: {t1 / t16:.1f}x; at 8: {t1 / t8:.1f}x.",
        f"Medians of {ROUNDS} alternating rounds; every run makes the 380 resolver calls of "
        f"a full run (openai resolver, official client) against a loopback endpoint that "
        f"answers after {LATENCY_MS} ms, and writes the four snapshots and the manifest.",
        "Concurrency 1 is bounded by the call count (380 x latency); concurrency 16 by the "
        "critical path and by the client's own CPU time per request on this machine.",
    ]
    return report


if __name__ == "__main__":
    run().print()
