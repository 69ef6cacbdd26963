"""Engines: a database setting Conveyor cannot use is a clear settings error."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.env import ConfigError
from config.settings import reset_settings
from store.engine import get_engine


@pytest.mark.parametrize("url", ["garbage", "foo://x", "nosuchdialect+driver://u:secret@h/db",
                                 # an empty database per connection: "no such table: jobs"
                                 "sqlite://", "sqlite:///:memory:"])
def test_a_url_that_is_no_database_url(url: str) -> None:
    # Found by tests/fuzz: SQLAlchemy's ArgumentError escaped as an internal error.
    with pytest.raises(ConfigError, match="CONVEYOR_DATABASE_URL") as caught:
        get_engine(url)
    assert "secret" not in str(caught.value)


def test_a_state_folder_that_is_a_file(conveyor_home: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by tests/fuzz: CONVEYOR_HOME=/dev/null (or any file) crashed with FileExistsError.
    conveyor_home.parent.mkdir(parents=True, exist_ok=True)
    a_file = conveyor_home.parent / "a-file"
    a_file.write_text("not a folder")
    monkeypatch.setenv("CONVEYOR_HOME", str(a_file))
    reset_settings()
    with pytest.raises(ConfigError, match="CONVEYOR_HOME"):
        get_engine()
    assert a_file.read_text() == "not a folder"


@pytest.mark.postgres
def test_a_server_database_without_the_schema(postgres_url: str) -> None:
    # Found by tests/fuzz: CONVEYOR_DATABASE_URL naming a database never upgraded crashed
    # with "relation jobs does not exist"; it is a settings error naming the fix.
    import uuid

    import psycopg

    from store.engine import dispose_engines

    base, _, _options = postgres_url.partition("?")
    schema = f"conveyor_empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with pytest.raises(ConfigError, match="conveyor db upgrade"):
            get_engine(f"{base}?options=-csearch_path%3D{schema}")
        assert get_engine(postgres_url) is not None  # a migrated one is fine
    finally:
        dispose_engines()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
