"""Exam: an environment's name (namespace, pod name) is never shared between sessions.

Revision ID: exam_0002
Revises: exam_0001
Create Date: 2026-12-04

Before this revision two sessions whose ids began with the same 8 hex could be given the
same environment name; such rows get the longer name (exam-<all 32 hex of the session
id>) here, the first of each name keeping it, so the unique index can be built.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "exam_0002"
down_revision = "exam_0001"
branch_labels = None
depends_on = None

INDEX = "uq_exam_environments_pod"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, session_id, pod_namespace, pod_name FROM exam_environments "
        "ORDER BY created_at, id")).all()
    seen: set[tuple[str, str]] = set()
    for env_id, session_id, namespace, name in rows:
        if (namespace, name) in seen:
            bind.execute(sa.text("UPDATE exam_environments SET pod_name = :name WHERE id = :id"),
                         {"name": "exam-" + session_id.replace("-", "").lower(), "id": env_id})
        else:
            seen.add((namespace, name))
    op.create_index(INDEX, "exam_environments", ["pod_namespace", "pod_name"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="exam_environments")
