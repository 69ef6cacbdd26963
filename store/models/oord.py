"""Oord's tables: the sender's batches, the receiver's bundles, the transparency log.

Times are integer milliseconds since the epoch (`*_ms`), as the contract names them.
A row being worked on is `processing` under a claim: `claim_token` names the
attempt, `lease_expires_at_ms` says until when; an expired lease may be taken over.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base


class _AgentState:
    """Columns the sender's and the receiver's rows share: state, retry, claim."""

    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_exit_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    # A job for this row was published and should arrive before this time: the scan
    # does not publish another meanwhile (the claim would refuse it anyway).
    dispatch_until_ms: Mapped[int | None] = mapped_column(BigInteger)
    discovered_at_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)
    finished_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    # What the source (folder or bundle file) held when the last attempt began
    # (domain.oord.sources.source_fingerprint), kept when the row gives up: a failed row is
    # taken again once its source differs.
    source_fingerprint: Mapped[str | None] = mapped_column(String(64))


class OordBatch(_AgentState, Base):
    """A folder of the watch folder that the sender seals exactly once."""

    __tablename__ = "oord_batches"

    batch_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source_path: Mapped[str] = mapped_column(Text)
    org_id: Mapped[str] = mapped_column(String(200))
    # Fixed when the batch is first seen: every attempt builds the same manifest.
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    # Set once the finished bundle is in place under a hidden name, before it is
    # published: a retry after a crash publishes that bundle instead of sealing again.
    bundle_name: Mapped[str | None] = mapped_column(String(200))
    bundle_id: Mapped[str | None] = mapped_column(String(16))
    merkle_root: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (Index("ix_oord_batches_state_next_retry", "state", "next_retry_at_ms"),)


class OordBundle(_AgentState, Base):
    """A bundle file of the incoming folder that the receiver verifies."""

    __tablename__ = "oord_bundles"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    source_path: Mapped[str] = mapped_column(Text)
    org_id: Mapped[str | None] = mapped_column(String(200))
    batch_id: Mapped[str | None] = mapped_column(String(200))
    bundle_id: Mapped[str | None] = mapped_column(String(16))
    verified_path: Mapped[str | None] = mapped_column(Text)
    quarantine_path: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[Any | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_oord_bundles_state_next_retry", "state", "next_retry_at_ms"),)


class OordTlEntry(Base):
    """One entry of the built-in transparency log (append-only) with its signed tree head."""

    __tablename__ = "oord_tl_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    merkle_root: Mapped[str] = mapped_column(String(80), unique=True)
    t_log_ms: Mapped[int] = mapped_column(BigInteger)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    signer_key_id: Mapped[str] = mapped_column(String(200))
    sth_sig: Mapped[str] = mapped_column(String(100))
    tree_size: Mapped[int] = mapped_column(BigInteger)
    tree_root: Mapped[str] = mapped_column(String(64))
    tree_head_sig: Mapped[str] = mapped_column(String(100))
    inclusion_path: Mapped[list[str]] = mapped_column(JSON)
