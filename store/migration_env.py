"""What every Alembic env.py of ours does: migrate on the connection it is handed."""

from __future__ import annotations

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

# Any fixed number: pg_advisory_xact_lock makes concurrent upgrades take turns.
_PG_MIGRATION_LOCK = 7_461_001


def _run(context: object, connection: Connection, metadata: MetaData) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
    context.configure(  # type: ignore[attr-defined]
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():  # type: ignore[attr-defined]
        context.run_migrations()  # type: ignore[attr-defined]


def run_migrations(metadata: MetaData) -> None:
    """Run the migrations of the current Alembic context against ``metadata``."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(context, connection, metadata)
        return
    from store.sqlalchemy_engine import raw_engine

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    with raw_engine(url).begin() as connection:
        _run(context, connection, metadata)
