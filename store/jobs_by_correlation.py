"""The jobs one job started: rows that carry its id as their correlation id."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select

from store.engine import get_engine
from store.models.jobs import Job

_jobs = cast(Table, Job.__table__)


def job_statuses(correlation_id: str, kind: str, *, url: str | None = None) -> list[str]:
    query = select(_jobs.c.status).where(_jobs.c.correlation_id == correlation_id,
                                         _jobs.c.kind == kind)
    with get_engine(url).connect() as conn:
        return [str(s) for s in conn.execute(query).scalars()]
