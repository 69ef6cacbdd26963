"""`conveyor metrics [serve]`: the jobs table and the queues in Prometheus' text format.

Flower's /metrics knows the tasks it saw since it started; these come from the jobs
table (every job, its attempts and its error) and from the broker (what waits in each
queue), read afresh at every scrape by a custom collector of the official
prometheus_client.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import click

PREFIX = "conveyor"
DEFAULT_PORT = 9808


class ConveyorCollector:
    """Collects at every scrape: a few aggregate queries and one LLEN per queue key."""

    def __init__(self, *, strict: bool) -> None:
        # strict (printed once): an unreachable database is the command's error.
        # Serving: it is a scrape with conveyor_database_up 0, the server stays up.
        self.strict = strict

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        database_up = GaugeMetricFamily(f"{PREFIX}_database_up",
                                        "1 if the jobs table could be read for this scrape.")
        try:
            yield from self._job_metrics()
            database_up.add_metric([], 1)
        except Exception:
            if self.strict:
                raise
            database_up.add_metric([], 0)
        yield database_up
        yield from self._queue_metrics()

    def _job_metrics(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

        from config.queues import QUEUES
        from store.job_metrics import DURATION_BUCKETS_S, job_figures

        figures = job_figures()
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Rows of the jobs table by kind and status.",
                                 labels=["kind", "status"])
        for (kind, status), count in sorted(figures.by_kind_status.items()):
            jobs.add_metric([kind, status], count)
        attempts = GaugeMetricFamily(
            f"{PREFIX}_job_attempts", "Deliveries recorded in the jobs table, by kind "
            "(a sum over the rows kept: it falls when old rows are pruned).", labels=["kind"])
        retries = GaugeMetricFamily(
            f"{PREFIX}_job_retries", "Deliveries after each job's first, by kind "
            "(transient errors and redeliveries; over the rows kept).", labels=["kind"])
        for kind in sorted(figures.attempts):
            attempts.add_metric([kind], figures.attempts[kind])
            retries.add_metric([kind], figures.retries[kind])
        failures = GaugeMetricFamily(
            f"{PREFIX}_job_failures", "Failed jobs by kind and error code (NONE: a crash "
            "without a contract error).", labels=["kind", "code"])
        for (kind, code), count in sorted(figures.failures.items()):
            failures.add_metric([kind, code], count)
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_queued_job_age_seconds", "Age of the oldest job still queued, "
            "per queue (0 when none waits).", labels=["queue"])
        now = time.time()
        for queue in sorted(set(QUEUES) | set(figures.oldest_queued_at)):
            moment = figures.oldest_queued_at.get(queue)
            oldest.add_metric([queue], max(0.0, now - moment.timestamp()) if moment else 0.0)
        durations = HistogramMetricFamily(
            f"{PREFIX}_job_duration_seconds", "Run time of finished jobs' last attempt "
            "(started to finished), by kind.", labels=["kind"])
        for found in figures.durations:
            buckets = [(_bound(b), c) for b, c in zip(DURATION_BUCKETS_S, found.cumulative,
                                                       strict=True)]
            durations.add_metric([found.kind], [*buckets, ("+Inf", found.count)],
                                 sum_value=found.sum_s)
        yield from (jobs, attempts, retries, failures, oldest, durations)

    def _queue_metrics(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from config.connection import resolve_connection
        from config.settings import get_settings

        connection = resolve_connection(get_settings())
        if not connection.is_redis:
            return  # embedded: no broker outside this process, nothing waits anywhere
        broker_up = GaugeMetricFamily(f"{PREFIX}_broker_up",
                                      "1 if the broker answered for this scrape.")
        try:
            depth, consumers = _queue_figures(connection.broker_url)
        except Exception:  # redis.ConnectionError and friends
            broker_up.add_metric([], 0)
            yield broker_up
            return
        broker_up.add_metric([], 1)
        yield broker_up
        waiting = GaugeMetricFamily(f"{PREFIX}_queue_depth",
                                    "Messages waiting in each queue.", labels=["queue"])
        live = GaugeMetricFamily(f"{PREFIX}_queue_consumers",
                                 "Live workers consuming each queue.", labels=["queue"])
        for queue in sorted(depth):
            waiting.add_metric([queue], depth[queue])
            live.add_metric([queue], consumers[queue])
        yield waiting
        yield live


def _bound(value: float) -> str:
    return repr(float(value))


def _queue_figures(broker_url: str) -> tuple[dict[str, int], dict[str, int]]:
    import redis

    from config.queues import QUEUES
    from config.settings import get_settings
    from workers.consumers import live_consumers
    from workers.reconcile import _queue_keys

    client = redis.Redis.from_url(broker_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        depth = {q: sum(int(client.llen(key)) for key in _queue_keys([q])) for q in QUEUES}
        renew_s = get_settings().lease_renew_s
        consumers = {q: len(live_consumers(client, q, lease_renew_s=renew_s)) for q in QUEUES}
    finally:
        client.close()
    return depth, consumers


def registry(*, strict: bool) -> Any:
    from prometheus_client import CollectorRegistry

    found = CollectorRegistry(auto_describe=False)
    found.register(ConveyorCollector(strict=strict))
    return found


def exposition() -> str:
    """The metrics once, in Prometheus' text format."""
    from prometheus_client import generate_latest

    from cli.jobs_client import database_reachable

    with database_reachable():
        return generate_latest(registry(strict=True)).decode()


@click.group("metrics", invoke_without_command=True)
@click.pass_context
def metrics_group(ctx: click.Context) -> None:
    """Print Conveyor's metrics once (Prometheus text format), or serve them."""
    if ctx.invoked_subcommand is None:
        click.echo(exposition(), nl=False)


@metrics_group.command("serve")
@click.option("--port", type=click.IntRange(1, 65_535), default=DEFAULT_PORT, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Where to listen: loopback unless told otherwise (0.0.0.0: every interface).")
def serve_command(port: int, address: str) -> None:
    """Serve /metrics over HTTP until interrupted (Ctrl-C, SIGTERM)."""
    import signal
    import sys

    from prometheus_client import start_http_server

    from common.errors import JobSystemError

    try:
        server, thread = start_http_server(port, addr=address, registry=registry(strict=False))
    except OSError as exc:
        raise JobSystemError("port_unavailable", f"cannot listen on {address}:{port}: "
                             f"{exc.strerror or exc}", {"port": port}) from None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stderr.write(f"serving metrics on http://{address}:{server.server_port}/metrics\n")
    sys.stderr.flush()
    try:
        while thread.is_alive():
            thread.join(1.0)
    finally:
        server.shutdown()
