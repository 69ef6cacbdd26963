from __future__ import annotations

import io
import json
import logging

import pytest

from config.logs import configure_logging, log_event
from config.settings import load_settings


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_root_logger():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging(load_settings(), stream=stream)
    log_event(logging.getLogger("conveyor.test"), "seal_success", bundle_id="abc", bytes=3)
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "seal_success"
    assert entry["event"] == "seal_success"
    assert (entry["bundle_id"], entry["bytes"], entry["level"]) == ("abc", 3, "info")
    assert entry["ts"].endswith("Z") and entry["logger"] == "conveyor.test"


def test_human_lines_on_a_terminal() -> None:
    stream = _Tty()
    configure_logging(load_settings(), stream=stream)
    logging.getLogger("conveyor.test").warning("disk %s", "full", extra={"free": 0})
    line = stream.getvalue()
    assert "WARNING" in line and "disk full" in line and "free=0" in line
    assert not line.startswith("{")


def test_format_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_LOG_FORMAT", "json")
    stream = _Tty()
    configure_logging(load_settings(), stream=stream)
    logging.getLogger("x").error("boom")
    assert json.loads(stream.getvalue())["level"] == "error"


def test_configuring_twice_does_not_duplicate_lines() -> None:
    stream = io.StringIO()
    configure_logging(load_settings(), stream=stream)
    configure_logging(load_settings(), stream=stream)
    logging.getLogger("x").warning("once")
    assert len(stream.getvalue().splitlines()) == 1
