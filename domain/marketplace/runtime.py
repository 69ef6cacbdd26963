"""What a command runs against: the plugin folder, settings, fetcher, clock, step timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from common.clock import now_iso
from config.plugins import PluginsSettings
from domain.marketplace.faults import Faults
from domain.marketplace.fetch import Fetcher
from domain.marketplace.layout import PluginLayout

# The install transaction's steps, in order (a cache hit skips STAGE to PROMOTE).
STEPS = ("VALIDATE", "STAGE", "EXTRACT", "LIFECYCLE_PRE", "PROMOTE", "ACTIVATE", "TELEMETRY")


class Steps:
    """Milliseconds spent in each step, and the step running now (for error context)."""

    def __init__(self) -> None:
        self.timings: dict[str, int] = {}
        self.current: str | None = None

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.current = name
        started = time.monotonic()
        try:
            yield
        finally:
            spent = int((time.monotonic() - started) * 1000)
            self.timings[name] = self.timings.get(name, 0) + spent


@dataclass
class Metrics:
    """The response's telemetry, gathered as the command goes."""

    registry_mutations: int = 0
    scripts_run: int = 0
    cache_hits: int = 0
    cache_misses: int = 0

    def cache_status(self) -> str | None:
        if self.cache_hits and self.cache_misses:
            return "partial"
        if self.cache_hits:
            return "hit"
        return "miss" if self.cache_misses else None


@dataclass(kw_only=True)
class Runtime:
    layout: PluginLayout
    settings: PluginsSettings
    fetcher: Fetcher
    faults: Faults
    now: Callable[[], str] = now_iso
    steps: Steps = field(default_factory=Steps)
    metrics: Metrics = field(default_factory=Metrics)
