"""One run from request to manifest: claim, reuse or compute, write, manifest last.

The deadline covers everything after the CLI started: time spent queued, waiting for
another job's claim on the same run_id, computing and writing. Past it the run stops
(calls in flight cancelled) and no manifest is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common.clock import now_iso
from config.chirality import ChiralitySettings
from domain.chirality.artifacts import build_manifest, encode_manifest, stage_snapshots
from domain.chirality.attempts import ResolverAttempts
from domain.chirality.calls import Resolver
from domain.chirality.claim import claim_run
from domain.chirality.compute import Computation, compute
from domain.chirality.errors import invalid_arguments, io_error, timed_out
from domain.chirality.layout import RunLayout, layout_for, prepare_run_dir
from domain.chirality.problem import Problem, problem_from_json
from domain.chirality.resolvers import RESOLVER_NAMES, make_resolver
from domain.chirality.run_ids import check_run_id, manifest_ref

logger = logging.getLogger("conveyor.chirality")

MAX_CONCURRENCY = 256


@dataclass(frozen=True, kw_only=True)
class PipelineRequest:
    run_id: str
    runs_root: str
    """Absolute: the folder holding runs/<run_id>."""
    resolver: str
    problem: Problem
    max_seconds: float
    deadline_epoch: float | None = None
    """Wall-clock end of the run as the CLI set it (queue time included)."""
    force: bool = False
    concurrency: int | None = None
    """None: the worker's CHIRALITY_CONCURRENCY."""

    @classmethod
    def from_job(cls, kwargs: dict[str, Any]) -> PipelineRequest:
        """Check a job's arguments again: a message may come from anywhere."""
        run_id = check_run_id(str(kwargs.get("run_id", "")))
        resolver = kwargs.get("resolver")
        if resolver not in RESOLVER_NAMES:
            raise invalid_arguments(f"unknown resolver {resolver!r}", resolver=resolver)
        max_seconds = kwargs.get("max_seconds")
        if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) \
                or max_seconds <= 0:
            raise invalid_arguments(f"max_seconds must be a positive number, got {max_seconds!r}")
        deadline_epoch = kwargs.get("deadline_epoch")
        if deadline_epoch is not None and (isinstance(deadline_epoch, bool)
                                           or not isinstance(deadline_epoch, (int, float))):
            raise invalid_arguments(f"deadline_epoch must be a number, got {deadline_epoch!r}")
        concurrency = kwargs.get("concurrency")
        if concurrency is not None and (isinstance(concurrency, bool)
                                        or not isinstance(concurrency, int)
                                        or not 1 <= concurrency <= MAX_CONCURRENCY):
            raise invalid_arguments(f"concurrency must be 1..{MAX_CONCURRENCY}")
        return cls(run_id=run_id, runs_root=str(kwargs.get("runs_root", "")),
                   resolver=str(resolver), problem=problem_from_json(kwargs.get("problem")),
                   max_seconds=float(max_seconds), deadline_epoch=deadline_epoch,
                   force=bool(kwargs.get("force", False)), concurrency=concurrency)

    def budget_s(self, now_epoch: float) -> float:
        """Seconds left; never more than max_seconds, whatever the clocks say."""
        if self.deadline_epoch is None:
            return self.max_seconds
        return min(self.max_seconds, float(self.deadline_epoch) - now_epoch)


@dataclass(frozen=True)
class PipelineOutcome:
    run_id: str
    reused: bool
    resolver_calls: int
    total_ms: int
    waited_for_other_job: bool
    attempts: ResolverAttempts = field(default_factory=ResolverAttempts)
    """The requests behind the calls: retries and the last failure (none when reused)."""

    def as_result(self) -> dict[str, Any]:
        """The job's result (its row); the CLI prints only run_id and manifest."""
        return {"run_id": self.run_id, "manifest": manifest_ref(self.run_id),
                "reused": self.reused, "resolver_calls": self.resolver_calls,
                **self.attempts.as_json(),
                "total_ms": self.total_ms, "waited_for_other_job": self.waited_for_other_job}


ProgressCallback = Callable[[str], None]


def run_pipeline(request: PipelineRequest, *, settings: ChiralitySettings,
                 on_progress: ProgressCallback | None = None) -> PipelineOutcome:
    """Produce runs/<run_id> (or find it already produced). ContractError on failure:
    2 bad request, 3 time limit, 4 filesystem, 5 resolver."""
    started = time.monotonic()
    deadline = started + request.budget_s(time.time())
    if deadline <= started:
        raise timed_out(f"run {request.run_id}: the time limit had passed before a worker "
                        f"took the job", run_id=request.run_id)
    layout = layout_for(request.runs_root, request.run_id)
    try:
        prepare_run_dir(layout)
        with claim_run(layout.lock_path, run_id=request.run_id, deadline=deadline,
                       poll_s=settings.lock_poll_s) as waited:
            if not request.force and _has_valid_manifest(layout):
                logger.info("run %s has a valid manifest: not recomputed", request.run_id)
                return PipelineOutcome(request.run_id, True, 0, _ms_since(started), waited)
            computation = _compute_and_write(request, layout, settings=settings,
                                             started=started, deadline=deadline,
                                             on_progress=on_progress)
            return PipelineOutcome(request.run_id, False, computation.calls,
                                   _ms_since(started), waited, computation.attempts)
    except OSError as exc:  # resolvers convert their own errors: these are the filesystem's
        raise io_error(f"run {request.run_id}: {exc.strerror or exc}", exc,
                       run_id=request.run_id) from None


def _has_valid_manifest(layout: RunLayout) -> bool:
    if not layout.manifest_path.exists():
        return False
    from domain.chirality.validate import validate_run

    report = validate_run(layout.run_dir)
    if not report.ok:
        logger.warning("run %s has an invalid manifest; computing it again: %s",
                       layout.run_id, "; ".join(report.problems[:3]))
    return report.ok


def _compute_and_write(request: PipelineRequest, layout: RunLayout, *,
                       settings: ChiralitySettings, started: float, deadline: float,
                       on_progress: ProgressCallback | None) -> Computation:
    def resolver() -> Resolver:
        return make_resolver(request.resolver, settings=settings, problem=request.problem)

    computation: Computation = compute(
        resolver, concurrency=request.concurrency or settings.concurrency,
        deadline=deadline, on_progress=on_progress)
    if on_progress is not None:
        on_progress(f"writing snapshots{computation.attempts.summary()}")
    write_started = time.monotonic()
    staged = stage_snapshots(layout, computation.matrices, resolver=request.resolver)
    try:
        if time.monotonic() >= deadline:
            raise timed_out(f"run {request.run_id} ran out of time while writing its "
                            f"snapshots; no manifest was written", run_id=request.run_id)
        finished = time.monotonic()
        staged.add(layout.manifest_path, encode_manifest(build_manifest(
            run_id=request.run_id, created_at=now_iso(), problem=request.problem,
            durations={"total_ms": round((finished - started) * 1000),
                       "compute_ms": round(computation.elapsed_s * 1000),
                       "write_ms": round((finished - write_started) * 1000)},
            files=staged.files)))
        staged.commit()
    finally:
        staged.discard()
    logger.info("run %s computed: %d resolver calls (%d requests) in %.2f s", request.run_id,
                computation.calls, computation.attempts.attempts, computation.elapsed_s)
    return computation


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
