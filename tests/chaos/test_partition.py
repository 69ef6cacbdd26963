"""A worker cut off from Redis by a network partition, then reconnected.

The worker runs in a network namespace of the test's own, reaching Redis through a
proxy on the host's end of a veth pair; the link is cut (both ends down: nothing
delivered, nothing refused) and restored. Afterwards the worker must serve again,
or be honestly gone: `conveyor check` then says no_worker, never a probe that waits
for a worker whose heartbeat lies.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import json_out, run_cli
from tests.support.netns import NetworkNamespace, netns_unavailable
from tests.support.tcp_proxy import TcpProxy
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTITION_S = float(__import__("os").environ.get("DRILL_PARTITION_S", "14"))
STALL_S = 3.0
# After the link returns: the consumer's own reconnect, else the stall watchdog
# (STALL_S) and the heartbeat's expiry (consumer_ttl_s: 5 s) make the truth visible.
SETTLE_S = 15.0
DRILL_S = 40.0


class NamespacedWorker(WorkerProcess):
    """A WorkerProcess whose command runs inside a network namespace."""

    def __init__(self, netns: NetworkNamespace, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.netns = netns

    def start(self) -> NamespacedWorker:
        import subprocess

        from tests.support.env import ROOT

        command = self.netns.command([
            sys.executable, "-m", "celery", "-A", "config", "worker", "-Q",
            ",".join(self.queues), "-n", self.hostname, "--pool", "threads", "-c",
            str(self.concurrency), "--without-mingle", "--without-gossip", "--loglevel", "INFO"])
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self


@pytest.fixture
def netns() -> Iterator[NetworkNamespace]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    namespace = NetworkNamespace(subnet=random.randrange(0, 250)).create()
    yield namespace
    namespace.delete()


def test_a_partitioned_worker_serves_again_or_is_reported_gone(
        job_env: dict[str, str], redis_db: Any, netns: NetworkNamespace,
        tmp_path: Path) -> None:
    proxy = TcpProxy(("127.0.0.1", redis_db.port), listen_host=netns.host_ip).start()
    broker = f"redis://{netns.host_ip}:{proxy.port}"
    worker_env = {**job_env, "CONVEYOR_BROKER_URL": f"{broker}/0",
                  "CONVEYOR_RESULT_BACKEND": f"{broker}/1",
                  "CONVEYOR_CONSUMER_STALL_S": str(STALL_S)}
    worker = NamespacedWorker(netns, worker_env, ["default"], tmp_path)
    worker.start()
    try:
        worker.wait_ready(redis_db.client(), lease_renew_s=0.5)
        before = run_cli("conveyor", "check", "--queue", "default", "--timeout", "10",
                         env=job_env)
        assert before.returncode == 0, before.stdout + before.stderr

        netns.cut()
        time.sleep(PARTITION_S)
        netns.restore()
        restored = time.monotonic()

        outcomes: Counter[str] = Counter()
        late_lies = []
        final = "none"
        while time.monotonic() - restored < DRILL_S:
            check = run_cli("conveyor", "check", "--queue", "default", "--timeout", "4",
                            env=job_env)
            entry = json_out(check)["queues"][0]
            final = "ok" if entry["ok"] else entry.get("reason", "error")
            outcomes[final] += 1
            if final not in ("ok", "no_worker") and time.monotonic() - restored > SETTLE_S:
                late_lies.append(entry)
            if final == "ok" or (final == "no_worker" and worker.process is not None
                                 and worker.process.poll() is not None):
                break
            time.sleep(0.2)
        took = time.monotonic() - restored
        print(f"partition: {PARTITION_S:g} s cut; after the link returned: {dict(outcomes)}, "
              f"final {final} after {took:.1f} s; worker "
              f"{'exited' if worker.process and worker.process.poll() is not None else 'alive'}")
        assert not late_lies, late_lies
        assert final in ("ok", "no_worker"), (outcomes, worker.log())
    finally:
        worker.stop()
        proxy.stop()
