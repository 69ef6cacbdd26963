"""What every benchmark shares: medians, ratios, the machine, a private Redis and worker."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its same-run baseline."""

    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str
    target: str = ""
    passed: bool | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


@dataclass
class BenchReport:
    title: str
    command: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", f"Command: `{self.command}`", "",
                 "| figure | value | baseline | ratio | target | met |",
                 "|---|---|---|---|---|---|"]
        for f in self.figures:
            met = "" if f.passed is None else ("yes" if f.passed else "**no**")
            lines.append(f"| {f.name} | {_fmt(f.value)} {f.unit} | {f.baseline_name}: "
                         f"{_fmt(f.baseline)} {f.unit} | {f.ratio:.2f}x | {f.target} | {met} |")
        lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def print(self) -> None:
        print(self.markdown())


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    return (f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} "
            f"· {platform.system()} {platform.release()}")


def time_once(argv: list[str], *, env: dict[str, str] | None = None,
              cwd: Path | None = None, check: bool = True) -> float:
    """Wall-clock seconds of one whole process (check=False: any exit code will do)."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=check)
    return time.perf_counter() - started


def time_command(argv: list[str], *, env: dict[str, str] | None = None,
                 runs: int = 11) -> list[float]:
    """Wall-clock seconds of whole processes, one value per run."""
    return [time_once(argv, env=env) for _ in range(runs)]


def interleaved(runs: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Run each measure once per round, alternating, so drift hits all of them alike."""
    results: list[list[float]] = [[] for _ in measures]
    for _ in range(runs):
        for index, measure in enumerate(measures):
            results[index].append(measure())
    return results


@contextmanager
def private_stack(queues: list[str], *, concurrency: int = 4, workers: int = 1,
                  extra_task_modules: str = "bench.tasks",
                  database_url: str | None = None) -> Iterator[dict[str, str]]:
    """A private redis-server and ``workers`` worker processes on ``queues``; yields the
    client environment (CONVEYOR_HOME is a fresh temporary folder)."""
    from workers.ports import free_port
    from workers.redis_server import RedisOptions, start_redis

    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        home = Path(tmp)
        port = free_port()
        redis_process = start_redis(RedisOptions(port=port, data_dir=home / "redis",
                                                 persistent=False))
        env = {**os.environ, "CONVEYOR_HOME": str(home),
               "CONVEYOR_BROKER_URL": f"redis://127.0.0.1:{port}/0",
               "CONVEYOR_RESULT_BACKEND": f"redis://127.0.0.1:{port}/1",
               "CONVEYOR_EXTRA_TASK_MODULES": extra_task_modules,
               "CONVEYOR_LOG_LEVEL": "warning"}
        env.pop("CONVEYOR_DATABASE_URL", None)
        if database_url:
            env["CONVEYOR_DATABASE_URL"] = database_url
        processes = [subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(queues),
             "-n", f"bench{index}@localhost", "--pool", "threads", "-c", str(concurrency),
             "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True) for index in range(workers)]
        try:
            _wait_for_worker(port, queues, count=workers)
            yield env
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            redis_process.terminate()
            redis_process.wait(timeout=30)


def _wait_for_worker(port: int, queues: list[str], *, count: int = 1,
                     timeout_s: float = 60) -> None:
    import redis

    from workers.consumers import live_consumers

    client = redis.Redis(port=port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(len(live_consumers(client, q, lease_renew_s=2.5)) >= count for q in queues):
            return
        time.sleep(0.05)
    raise TimeoutError("the benchmark worker did not start")
