"""Alembic environment of Synora's own database (SQLite under $SYNORA_HOME)."""

from store.migration_env import run_migrations
from store.models.synora import SynoraBase

run_migrations(SynoraBase.metadata)
