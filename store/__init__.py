"""Persistence: engine and sessions, models, migrations, the jobs table."""
