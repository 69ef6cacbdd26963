"""Conveyor's own settings, read from CONVEYOR_* environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from config.env import (
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    home_dir,
)

LOG_FORMATS = ("auto", "json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the job system needs to know about its environment."""

    home: Path
    """State folder: SQLite database, local stack pid files and logs."""
    broker_url: str | None
    """Explicit broker; None means: a running local stack, else the embedded mode."""
    result_backend: str | None
    database_url: str | None
    """Explicit database; None means SQLite at <home>/conveyor.db."""
    log_level: str
    cli_log_level: str
    """What a command line also logs on stderr (its log file gets INFO and up anyway):
    scripts read a contract CLI's stderr as its error output."""
    log_format: str
    visibility_timeout_s: float
    """How long a delivered, unacknowledged message stays invisible before another
    worker may take it. Live workers renew their leases, so this bounds only how
    long a killed worker's job waits before redelivery."""
    lease_renew_s: float
    unacked_restore_interval_s: float
    result_expires_s: int
    no_worker_grace_s: float
    """How long a CLI waits for some worker to consume a queue before saying none does."""
    broker_outage_grace_s: float
    """How long a waiting CLI rides out an unreachable broker (a Redis restart)."""
    reconcile_after_s: float
    """An unfinished job idle this long whose message the broker no longer holds is
    published again (workers/reconcile.py)."""
    job_retention_days: int
    embedded_concurrency: int
    extra_task_modules: tuple[str, ...]
    stack_worker_concurrency: int
    log_max_bytes: int
    """A log file is rotated once it would grow past this size."""
    log_backups: int
    """Rotated log files kept (name.log.1 ... name.log.N)."""
    log_file: Path | None
    """Where a worker or beat writes its log records (set by `conveyor up`); else stderr."""
    http_log_level: str
    """Level of the HTTP client libraries (openai, httpx, httpcore, urllib3, kubernetes)."""

    # Cached: every job write asks, and the settings never change (frozen, and read once
    # per process by get_settings()).
    @cached_property
    def default_database_url(self) -> str:
        return f"sqlite:///{self.home / 'conveyor.db'}"

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or self.default_database_url


def load_settings() -> Settings:
    """Read the settings from the environment now (no caching)."""
    visibility = env_float("CONVEYOR_VISIBILITY_TIMEOUT_S", 10.0, minimum=1.0)
    return Settings(
        home=env_path("CONVEYOR_HOME", home_dir() / ".local" / "share" / "conveyor"),
        broker_url=env_str("CONVEYOR_BROKER_URL"),
        result_backend=env_str("CONVEYOR_RESULT_BACKEND"),
        database_url=env_str("CONVEYOR_DATABASE_URL"),
        log_level=env_choice("CONVEYOR_LOG_LEVEL", "info", LOG_LEVELS),
        cli_log_level=env_choice("CONVEYOR_CLI_LOG_LEVEL", "critical", LOG_LEVELS),
        log_format=env_choice("CONVEYOR_LOG_FORMAT", "auto", LOG_FORMATS),
        visibility_timeout_s=visibility,
        # Renew well inside the timeout so one missed renewal is harmless.
        lease_renew_s=env_float("CONVEYOR_LEASE_RENEW_S", visibility / 4, minimum=0.1),
        unacked_restore_interval_s=env_float("CONVEYOR_UNACKED_RESTORE_S", 1.0, minimum=0.1),
        result_expires_s=env_int("CONVEYOR_RESULT_EXPIRES_S", 24 * 3600, minimum=60),
        no_worker_grace_s=env_float("CONVEYOR_NO_WORKER_GRACE_S", 3.0, minimum=0.0),
        broker_outage_grace_s=env_float("CONVEYOR_BROKER_OUTAGE_GRACE_S", 30.0, minimum=0.0),
        reconcile_after_s=env_float("CONVEYOR_RECONCILE_AFTER_S", 120.0, minimum=0.0),
        job_retention_days=env_int("CONVEYOR_JOB_RETENTION_DAYS", 30, minimum=1),
        embedded_concurrency=env_int("CONVEYOR_EMBEDDED_CONCURRENCY", 4, minimum=1),
        extra_task_modules=env_list("CONVEYOR_EXTRA_TASK_MODULES"),
        stack_worker_concurrency=env_int("CONVEYOR_STACK_CONCURRENCY", 4, minimum=1),
        log_max_bytes=env_int("CONVEYOR_LOG_MAX_BYTES", 10 * 1024 * 1024, minimum=1024),
        log_backups=env_int("CONVEYOR_LOG_BACKUPS", 5, minimum=1),
        log_file=env_path("CONVEYOR_LOG_FILE", Path()) if env_str("CONVEYOR_LOG_FILE") else None,
        http_log_level=env_choice("CONVEYOR_HTTP_LOG_LEVEL", "warning", LOG_LEVELS),
    )


@cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
