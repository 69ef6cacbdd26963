"""The built-in transparency log's table: an append-only sequence, read by seq.

Appends are serialized (BEGIN IMMEDIATE on SQLite, a table lock on PostgreSQL), so
sequence numbers have no gaps and each append sees every earlier entry; the log's
logic (leaves, tree heads, signatures) is in domain/oord/tl_local.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from store.engine import get_engine, write_session
from store.models.oord import OordTlEntry

_entries = cast(Table, OordTlEntry.__table__)


class TlAppend:
    """Inside one serialized transaction: look up, read the leaves, insert one entry."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, merkle_root: str) -> dict[str, Any] | None:
        row = self.session.execute(
            select(_entries).where(_entries.c.merkle_root == merkle_root)).first()
        return dict(row._mapping) if row is not None else None

    def leaf_hashes(self) -> list[str]:
        return list(self.session.execute(
            select(_entries.c.leaf_hash).order_by(_entries.c.seq)).scalars())

    def insert(self, entry: dict[str, Any]) -> None:
        self.session.execute(insert(_entries).values(**entry))


@contextmanager
def append_transaction(url: str | None = None) -> Iterator[TlAppend]:
    with write_session(url) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Serialize appends (readers are not blocked): seq = count, no gaps.
            session.execute(_lock_statement())
        yield TlAppend(session)


def _lock_statement() -> Any:
    from sqlalchemy import text

    return text("LOCK TABLE oord_tl_entries IN SHARE ROW EXCLUSIVE MODE")


def get_entry(seq: int, url: str | None = None) -> dict[str, Any] | None:
    with get_engine(url).connect() as conn:
        row = conn.execute(select(_entries).where(_entries.c.seq == seq)).first()
    return dict(row._mapping) if row is not None else None


def latest_entry(url: str | None = None) -> dict[str, Any] | None:
    with get_engine(url).connect() as conn:
        row = conn.execute(select(_entries).order_by(_entries.c.seq.desc()).limit(1)).first()
    return dict(row._mapping) if row is not None else None


def entry_count(url: str | None = None) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(_entries)).scalar_one())
