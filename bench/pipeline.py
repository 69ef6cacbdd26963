"""Pipeline benchmark: a full chirality run at concurrency 16 against concurrency 1.

In one run, against a loopback chat completions endpoint answering every request
after a fixed 50 ms (tests/support/chat_server.py, in a process of its own so that
serving does not compete with the client for the interpreter): full runs (380 resolver
calls through the openai resolver, the snapshots and the manifest written) at
concurrency 1, 8 (the default) and 16, in alternating rounds; medians of the rounds.
Then the same with both cores busy (two busy-loop processes this benchmark starts and
stops), and the client's CPU seconds per call: the resolver's own HTTP path against the
official `openai` package's client, same endpoint, same concurrency.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchReport, Figure, interleaved, median

LATENCY_MS = 50
ROUNDS = 3
CRITICAL_PATH_CALLS = 18  # the longest chain of dependent calls in a run
_RUN_NUMBERS = itertools.count()  # every measured run is a new run id: never reused


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

    def measure() -> float:
        request = PipelineRequest(run_id=f"c{concurrency}-{next(_RUN_NUMBERS)}",
                                  runs_root=str(root), resolver="openai",
                                  problem=Problem("Bench", "A full run."), max_seconds=600)
        started = time.perf_counter()
        outcome = run_pipeline(request, settings=settings)
        elapsed = time.perf_counter() - started
        assert outcome.resolver_calls == 380 and not outcome.reused
        return elapsed

    return measure


@contextmanager
def busy_cores() -> Iterator[int]:
    """One busy-loop process per core, for the time of the block."""
    count = os.cpu_count() or 2
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(count)]
    try:
        yield count
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait(timeout=30)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU_CALLS = 380


def cpu_per_call_resolver(base_url: str) -> float:
    """Client CPU seconds per call of the openai resolver (aiohttp), at concurrency 16."""
    from config.chirality import load_chirality_settings
    from domain.chirality.calls import CallKind, CellRef, ResolverCall
    from domain.chirality.problem import Problem
    from domain.chirality.resolvers.openai_chat import OpenAIResolver

    settings = dataclasses.replace(load_chirality_settings(), openai_api_key="bench",
                                   openai_base_url=base_url)
    call = ResolverCall(CallKind.PAIR, CellRef("C", "Problem Requirements", 0, 0, "Normative",
                                               "Necessity"), ("Direction", "Essential Facts"))

    async def measure() -> float:
        resolver = OpenAIResolver(settings=settings, problem=Problem("Bench", "A full run."))
        try:
            return await _cpu_of(lambda: resolver.resolve(call))
        finally:
            await resolver.aclose()

    return asyncio.run(measure())


def cpu_per_call_openai_package(base_url: str) -> float:
    """The same calls through the official `openai` package's AsyncOpenAI client."""
    from openai import AsyncOpenAI

    messages: list[Any] = [{"role": "system", "content": "You resolve. Problem: Bench"},
                           {"role": "user", "content": 'Resolve "Direction * Essential Facts".'}]

    async def measure() -> float:
        client = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)

        async def one() -> str:
            answer = await client.chat.completions.create(model="m", messages=messages)
            return str(answer.choices[0].message.content)
        try:
            return await _cpu_of(one)
        finally:
            await client.close()

    return asyncio.run(measure())


async def _cpu_of(one: Callable[[], Awaitable[str]]) -> float:
    slots = asyncio.Semaphore(16)

    async def limited() -> str:
        async with slots:
            return await one()

    for _ in range(16):  # connections opened, code paths warm
        await one()
    started = _cpu_s()
    await asyncio.gather(*(limited() for _ in range(CPU_CALLS)))
    return (_cpu_s() - started) / CPU_CALLS


def run() -> BenchReport:
    report = BenchReport("Pipeline: a full chirality run, concurrent resolver calls",
                         "python -m bench pipeline")
    import aiohttp  # noqa: F401 - imported once, outside every measured run
    import openai  # noqa: F401

    with loopback_endpoint(LATENCY_MS) as base_url, \
            tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        cpu_ours = median([cpu_per_call_resolver(base_url) for _ in range(ROUNDS)])
        cpu_package = median([cpu_per_call_openai_package(base_url) for _ in range(ROUNDS)])
        one, eight, sixteen = interleaved(ROUNDS, _full_run(base_url, 1, root),
                                          _full_run(base_url, 8, root),
                                          _full_run(base_url, 16, root))
        with busy_cores() as loops:
            loaded_one, loaded_sixteen = interleaved(ROUNDS, _full_run(base_url, 1, root),
                                                     _full_run(base_url, 16, root))
    t1, t8, t16 = median(one), median(eight), median(sixteen)
    l1, l16 = median(loaded_one), median(loaded_sixteen)
    ideal = CRITICAL_PATH_CALLS * LATENCY_MS / 1000
    report.figures += [
        Figure("full run at concurrency 16", t16, "concurrency 1", t1, "s",
               ">= 8x faster (ratio <= 0.125x)", t1 >= 8 * t16),
        Figure(f"full run at concurrency 16, {loops} busy-loop processes", l16,
               f"concurrency 1, {loops} busy-loop processes", l1, "s",
               ">= 8x faster (ratio <= 0.125x)", l1 >= 8 * l16),
        Figure("full run at concurrency 8 (the default)", t8, "concurrency 1", t1, "s"),
        Figure("full run at concurrency 16", t16,
               f"critical path ({CRITICAL_PATH_CALLS} calls x {LATENCY_MS} ms)", ideal, "s"),
        Figure("client CPU per call, openai resolver (aiohttp)", cpu_ours * 1000,
               "official openai package client", cpu_package * 1000, "ms"),
    ]
    report.notes += [
        f"Speed-up at concurrency 16: {t1 / t16:.1f}x (both cores busy: {l1 / l16:.1f}x); "
        f"at 8: {t1 / t8:.1f}x.",
        f"Medians of {ROUNDS} alternating rounds; every run makes the 380 resolver calls of "
        f"a full run (openai resolver) against a loopback endpoint that answers after "
        f"{LATENCY_MS} ms, and writes the four snapshots and the manifest. The loaded rounds "
        f"run beside {loops} `while True: pass` processes started and stopped by the bench.",
        f"Client CPU per call: process CPU time (user + system) over {CPU_CALLS} calls at "
        f"concurrency 16, medians of {ROUNDS}. The openai resolver sends its requests with "
        f"aiohttp and reads the answers itself; through the official client each call cost "
        f"{cpu_package / cpu_ours:.1f}x the CPU, which on a busy machine bounded the "
        f"concurrency-16 run.",
        "The machine is shared (other work runs beside the bench), so the 'quiet' rounds "
        "are only as quiet as the machine was: rerun with `./run bench pipeline`.",
    ]
    return report


if __name__ == "__main__":
    run().print()
