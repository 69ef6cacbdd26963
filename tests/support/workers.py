"""Real `celery worker` subprocesses for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.support.env import ROOT
from workers.consumers import live_consumers


class WorkerProcess:
    """One `celery -A config worker` process in its own session, logging to a file."""

    def __init__(self, env: dict[str, str], queues: list[str], log_dir: Path, *,
                 concurrency: int = 2, name: str | None = None) -> None:
        self.env = env
        self.queues = queues
        self.name = name or f"test-{uuid.uuid4().hex[:8]}"
        self.hostname = f"{self.name}@localhost"
        self.log_path = log_dir / f"{self.name}.log"
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker",
                   "-Q", ",".join(self.queues), "-n", self.hostname, "--pool", "threads",
                   "-c", str(self.concurrency), "--without-mingle", "--without-gossip",
                   "--loglevel", "INFO"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, redis_client: Any, *, timeout_s: float = 60.0,
                   lease_renew_s: float = 0.5) -> WorkerProcess:
        """Until the worker's heartbeat shows it on every one of its queues."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if all(self.hostname in live_consumers(redis_client, q, lease_renew_s=lease_renew_s)
                   for q in self.queues):
                return self
            time.sleep(0.05)
        raise TimeoutError(f"worker not ready in {timeout_s} s:\n{self.log()}")

    def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signum)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-5000:]
        except OSError:
            return ""
