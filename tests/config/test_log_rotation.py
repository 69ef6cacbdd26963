"""Log files rotate at CONVEYOR_LOG_MAX_BYTES, keep CONVEYOR_LOG_BACKUPS, are 0600; the
HTTP client libraries log from warning; periodic jobs' INFO lines are dropped."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from config.logs import HTTP_CLIENT_LOGGERS, QuietPeriodicJobs, configure_logging
from config.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_worker_log_rotates_at_its_size_and_keeps_its_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "logs" / "worker.log"
    monkeypatch.setenv("CONVEYOR_LOG_FILE", str(log))
    monkeypatch.setenv("CONVEYOR_LOG_MAX_BYTES", "2048")
    monkeypatch.setenv("CONVEYOR_LOG_BACKUPS", "2")
    configure_logging(load_settings())
    try:
        for i in range(300):
            logging.getLogger("conveyor.test").info("line %d %s", i, "x" * 40)
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["worker.log", "worker.log.1", "worker.log.2"]
    for name in files:
        assert (log.parent / name).stat().st_size <= 2048
        assert _mode(log.parent / name) == 0o600
    assert _mode(log.parent) == 0o700
    assert "line 299" in log.read_text()  # the newest lines are in the current file


def test_http_client_libraries_log_from_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(load_settings())
    for name in HTTP_CLIENT_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    monkeypatch.setenv("CONVEYOR_HTTP_LOG_LEVEL", "debug")
    configure_logging(load_settings())
    assert logging.getLogger("openai").getEffectiveLevel() == logging.DEBUG


def _record(logger: str, level: int, message: str, task: str | None = None) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": logger, "levelno": level, "msg": message})
    if task is not None:
        record.data = {"name": task}
    return record


def test_periodic_jobs_info_lines_are_dropped_other_jobs_kept() -> None:
    quiet = QuietPeriodicJobs()
    trace = "celery.app.trace"
    assert not quiet.filter(_record(trace, logging.INFO, "ok", "tasks.oord.scan_outgoing"))
    assert not quiet.filter(_record("celery.beat", logging.INFO,
                                    "Scheduler: Sending due task x (tasks.oord.scan_incoming)"))
    assert quiet.filter(_record(trace, logging.ERROR, "boom", "tasks.oord.scan_outgoing"))
    assert quiet.filter(_record(trace, logging.INFO, "ok", "tasks.probe.probe"))
    assert quiet.filter(_record("conveyor.jobs", logging.INFO, "job_failed"))
