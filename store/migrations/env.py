"""Alembic environment of Conveyor's database (jobs and every contract's state)."""

from store.migration_env import run_migrations
from store.models import Base

run_migrations(Base.metadata)
