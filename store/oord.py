"""The oord agent's state rows: discovery, claims under a lease, outcomes, retries.

Every state change is one conditional UPDATE (or an insert that ignores a
conflict), so concurrent scans and workers never both win. A row's work is one job
of the job layer: the scan stamps a pending row with the job id it publishes
(claim_token), and only that job claims it, attempt after attempt (a retry keeps the
token; the job layer keeps the schedule); a row whose lease expired may be taken
over. Later writes of an attempt succeed only while its claim token holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.engine import Connection

from store.engine import get_engine
from store.models.oord import OordBatch, OordBundle

PENDING, PROCESSING, RETRY = "pending", "processing", "retry"
SEALED, VERIFIED, QUARANTINED = "sealed", "verified", "quarantined"
FAILED = "failed"  # the job gave up after its last attempt
SENDER, RECEIVER = "sender", "receiver"

_TABLES: dict[str, Table] = {
    SENDER: cast(Table, OordBatch.__table__),
    RECEIVER: cast(Table, OordBundle.__table__),
}
_KEYS = {SENDER: "batch_id", RECEIVER: "name"}


def _table(role: str) -> Table:
    return _TABLES[role]


def _key(role: str) -> Any:
    return _table(role).c[_KEYS[role]]


def _insert_ignoring_conflict(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount: drivers disagree on the rowcount of a skipped insert.
    primary = next(iter(table.primary_key.columns))
    return conn.execute(stmt.returning(primary)).first() is not None


def record_discovered(role: str, values: dict[str, Any], *, now_ms: int,
                      url: str | None = None) -> bool:
    """Insert a newly found batch or bundle as pending; False if it was known already."""
    row = {**values, "state": PENDING, "attempts": 0, "discovered_at_ms": now_ms,
           "updated_at_ms": now_ms}
    with get_engine(url).begin() as conn:
        return _insert_ignoring_conflict(conn, _table(role), row)


def known_keys(role: str, url: str | None = None) -> dict[str, str]:
    """Every known row's key and state."""
    table = _table(role)
    with get_engine(url).connect() as conn:
        return {key: row_state for key, row_state in
                conn.execute(select(_key(role), table.c.state))}


def reopen(role: str, key: str, *, from_state: str, now_ms: int, url: str | None = None,
           **values: Any) -> bool:
    """Put a finished row back to pending (a quarantined bundle delivered again, a failed
    batch or bundle changed since): a new job takes it from its first attempt."""
    table = _table(role)
    stmt = (update(table).where(_key(role) == key, table.c.state == from_state)
            .values(state=PENDING, attempts=0, next_retry_at_ms=None, finished_at_ms=None,
                    claim_token=None, dispatch_until_ms=None,
                    discovered_at_ms=now_ms, updated_at_ms=now_ms, **values))
    with get_engine(url).begin() as conn:
        return bool(conn.execute(stmt).rowcount)


def _due(table: Table, now_ms: int, token: str) -> Any:
    """Rows job ``token`` may start an attempt on now: its own (pending or retry), one
    nobody holds (pending; retry whose time came, left by an earlier version), or one
    whose lease expired (its worker died)."""
    c = table.c
    own = or_(c.claim_token.is_(None), c.claim_token == token)
    return or_(
        and_(c.state == PENDING, own),
        and_(c.state == RETRY, c.claim_token == token),
        and_(c.state == RETRY, c.claim_token.is_(None),
             or_(c.next_retry_at_ms.is_(None), c.next_retry_at_ms <= now_ms)),
        and_(c.state == PROCESSING, or_(c.lease_expires_at_ms.is_(None),
                                        c.lease_expires_at_ms <= now_ms)),
    )


def dispatchable_keys(role: str, *, now_ms: int, limit: int = 100,
                      url: str | None = None) -> list[tuple[str, str | None]]:
    """(key, job id already stamped) of rows that need a job: pending ones, and retry
    rows of an earlier version that no job holds. A stamped pending row comes back once
    its dispatch window passed, so the caller can check that its job exists."""
    table = _table(role)
    c = table.c
    query = (select(_key(role), c.claim_token)
             .where(or_(c.state == PENDING,
                        and_(c.state == RETRY, c.claim_token.is_(None),
                             or_(c.next_retry_at_ms.is_(None), c.next_retry_at_ms <= now_ms))))
             .where(or_(c.dispatch_until_ms.is_(None), c.dispatch_until_ms <= now_ms))
             .order_by(c.discovered_at_ms).limit(limit))
    with get_engine(url).connect() as conn:
        return [(row[0], row[1]) for row in conn.execute(query)]


def mark_dispatched(role: str, key: str, *, job_id: str, now_ms: int, until_ms: int,
                    previous: str | None = None, url: str | None = None) -> bool:
    """Stamp the row with the job published for it (only one scan wins)."""
    table = _table(role)
    c = table.c
    holder = c.claim_token.is_(None) if previous is None else c.claim_token == previous
    stmt = (update(table).where(_key(role) == key, c.state.in_((PENDING, RETRY)), holder)
            .where(or_(c.dispatch_until_ms.is_(None), c.dispatch_until_ms <= now_ms))
            .values(dispatch_until_ms=until_ms, claim_token=job_id))
    with get_engine(url).begin() as conn:
        return bool(conn.execute(stmt).rowcount)


def claim(role: str, key: str, *, token: str, worker: str, now_ms: int, lease_ms: int,
          attempts: int | None = None, url: str | None = None) -> dict[str, Any] | None:
    """Take the row into `processing` for one attempt; None if it is not this job's now.

    ``attempts``: the job layer's count for this delivery, so the row and the job agree
    (None: count one more).
    """
    table = _table(role)
    counted = table.c.attempts + 1 if attempts is None else attempts
    stmt = (update(table).where(_key(role) == key).where(_due(table, now_ms, token))
            .values(state=PROCESSING, claim_token=token, claimed_by=worker,
                    lease_expires_at_ms=now_ms + lease_ms, attempts=counted,
                    dispatch_until_ms=None, updated_at_ms=now_ms))
    with get_engine(url).begin() as conn:
        if not conn.execute(stmt).rowcount:
            return None
        row = conn.execute(select(table).where(_key(role) == key)).first()
    return dict(row._mapping) if row is not None else None


def _owned(role: str, key: str, token: str) -> Any:
    table = _table(role)
    return and_(_key(role) == key, table.c.state == PROCESSING, table.c.claim_token == token)


def renew(role: str, key: str, *, token: str, now_ms: int, lease_ms: int,
          url: str | None = None) -> bool:
    """Extend the lease of a claim still held; False if it was lost."""
    stmt = (update(_table(role)).where(_owned(role, key, token))
            .values(lease_expires_at_ms=now_ms + lease_ms, updated_at_ms=now_ms))
    with get_engine(url).begin() as conn:
        return bool(conn.execute(stmt).rowcount)


def update_claimed(role: str, key: str, *, token: str, now_ms: int, url: str | None = None,
                   **values: Any) -> bool:
    """Write fields of a row while its claim holds (e.g. the bundle name before publishing)."""
    stmt = (update(_table(role)).where(_owned(role, key, token))
            .values(updated_at_ms=now_ms, **values))
    with get_engine(url).begin() as conn:
        return bool(conn.execute(stmt).rowcount)


def finish(role: str, key: str, *, token: str, state: str, now_ms: int,
           url: str | None = None, **values: Any) -> bool:
    """End an attempt in a final state (sealed, verified, quarantined)."""
    return update_claimed(role, key, token=token, now_ms=now_ms, url=url, state=state,
                          claim_token=None, claimed_by=None, lease_expires_at_ms=None,
                          next_retry_at_ms=None, finished_at_ms=now_ms, **values)


def schedule_retry(role: str, key: str, *, token: str, now_ms: int, next_retry_at_ms: int,
                   exit_code: int, error: str, dispatch_until_ms: int | None = None,
                   url: str | None = None) -> bool:
    """End an attempt in `retry` with its persisted schedule and the failure.

    The row keeps its claim token: the next attempt is the same job's, redelivered by
    the job layer at that time."""
    return update_claimed(role, key, token=token, now_ms=now_ms, url=url, state=RETRY,
                          claimed_by=None, lease_expires_at_ms=None,
                          next_retry_at_ms=next_retry_at_ms, last_exit_code=exit_code,
                          last_error=error[:4000], dispatch_until_ms=dispatch_until_ms)


def get_row(role: str, key: str, url: str | None = None) -> dict[str, Any] | None:
    table = _table(role)
    with get_engine(url).connect() as conn:
        row = conn.execute(select(table).where(_key(role) == key)).first()
    return dict(row._mapping) if row is not None else None


def list_rows(role: str, *, states: Iterable[str] | None = None,
              url: str | None = None) -> list[dict[str, Any]]:
    table = _table(role)
    query = select(table).order_by(table.c.discovered_at_ms, _key(role))
    if states is not None:
        query = query.where(table.c.state.in_(list(states)))
    with get_engine(url).connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def live_claims(role: str, *, now_ms: int, url: str | None = None) -> dict[str, dict[str, Any]]:
    """Rows processing under a lease that has not expired, by key."""
    table = _table(role)
    c = table.c
    query = select(table).where(c.state == PROCESSING, c.lease_expires_at_ms > now_ms)
    with get_engine(url).connect() as conn:
        return {row._mapping[_KEYS[role]]: dict(row._mapping) for row in conn.execute(query)}
