"""The Celery beat schedule: a registry of periodic jobs that contract issues add to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config.env import env_float


@dataclass(frozen=True, kw_only=True)
class PeriodicJob:
    """One entry of the beat schedule."""

    name: str
    task: str
    every_s: float
    kwargs: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False
    """Record a job row only when a run found work (its task's base is QuietPeriodicTask)."""


def periodic_jobs() -> list[PeriodicJob]:
    """Every periodic job, with intervals from the environment."""
    return [
        PeriodicJob(
            name="prune-finished-jobs",
            task="tasks.sweeps.prune_jobs",
            every_s=env_float("CONVEYOR_PRUNE_EVERY_S", 3600.0, minimum=1.0),
        ),
        PeriodicJob(
            name="reconcile-lost-jobs",
            task="tasks.sweeps.reconcile_jobs",
            every_s=env_float("CONVEYOR_RECONCILE_EVERY_S", 60.0, minimum=1.0),
        ),
        PeriodicJob(name="exam-cleanup-ttl", task="tasks.sweeps.exam_cleanup_ttl",
                    every_s=env_float("CONVEYOR_EXAM_SWEEP_EVERY_S", 300.0, minimum=1.0)),
        *_oord_jobs(),
    ]


def _oord_jobs() -> list[PeriodicJob]:
    """The oord agent: the sender's and the receiver's scans."""
    from config.oord import get_oord_settings

    settings = get_oord_settings()
    return [
        PeriodicJob(name="oord-scan-outgoing", task="tasks.oord.scan_outgoing",
                    every_s=settings.send_scan_every_s, quiet=True),
        PeriodicJob(name="oord-scan-incoming", task="tasks.oord.scan_incoming",
                    every_s=settings.receive_scan_every_s, quiet=True),
    ]


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The schedule in the shape Celery's beat_schedule setting expects."""
    return {
        job.name: {
            "task": job.task,
            "schedule": job.every_s,
            "kwargs": job.kwargs,
            # A periodic run that could not start within one interval is stale.
            "options": {"expires": job.every_s,
                        # store.job_schema.QUIET_HEADER (config imports nothing of ours)
                        **({"headers": {"conveyor_quiet": True}} if job.quiet else {})},
        }
        for job in periodic_jobs()
    }
