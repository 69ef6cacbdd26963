"""Logging: JSON lines on stderr for machines, a short human format on a terminal."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from config.settings import Settings

# Attributes every LogRecord has; anything else was passed through `extra=` and is data.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, then the record's extra fields."""

    def __init__(self, *, tracebacks: bool = True) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(record_fields(record))
        if record.exc_info and self.tracebacks:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """`12:00:01 INFO  logger: message key=value ...` for a person at a terminal."""

    def __init__(self, *, tracebacks: bool = True) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in record_fields(record).items())
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        if record.exc_info and self.tracebacks:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


# Libraries that log every HTTP request at INFO (380 lines a pipeline run for openai).
HTTP_CLIENT_LOGGERS = ("openai", "httpx", "httpcore", "urllib3", "kubernetes")
# Celery's lines for every run of a periodic job (an oord scan every few seconds): at
# INFO they would be nearly all of an idle worker's log. The jobs table has each run.
_PER_TASK_LOGGERS = frozenset({"celery.app.trace", "celery.worker.strategy"})


class LazyFileHandler(logging.handlers.RotatingFileHandler):
    """Appends to a file created (with its folder) only when the first record comes,
    its owner's only (records carry task arguments); rotated at a size, a few kept."""

    def __init__(self, path: Path, *, max_bytes: int = 0, backups: int = 0) -> None:
        self.path = path
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, delay=True)

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream is None:  # type: ignore[has-type]
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return  # an unwritable state folder must not turn a log line into an error
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Drop the record (a full or read-only disk): logging's default would print a
        traceback to stderr, where a CLI's contract error must stand alone."""


class QuietPeriodicJobs(logging.Filter):
    """Drops the INFO lines of periodic jobs (beat's "sending due task", a worker's
    "received" and "succeeded"); their warnings and errors, and every other job's
    lines, pass."""

    def __init__(self) -> None:
        super().__init__()
        self._periodic: frozenset[str] | None = None

    def _periodic_tasks(self) -> frozenset[str]:
        if self._periodic is None:
            from config.beat import periodic_jobs

            self._periodic = frozenset(job.task for job in periodic_jobs())
        return self._periodic

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        if record.name == "celery.beat":
            return not record.getMessage().startswith("Scheduler: Sending due task")
        if record.name in _PER_TASK_LOGGERS:
            data = getattr(record, "data", None)
            name = data.get("name") if isinstance(data, dict) else None
            return name not in self._periodic_tasks()
        return True


def wants_json(settings: Settings, stream: TextIO) -> bool:
    if settings.log_format == "auto":
        return not stream.isatty()
    return settings.log_format == "json"


def configure_logging(settings: Settings, *, stream: TextIO | None = None,
                      level: str | None = None, log_file: Path | None = None) -> None:
    """Send every log record to stderr in the configured format (idempotent).

    With ``log_file`` (command lines), stderr gets the records at ``level`` without
    tracebacks, and the file gets everything from INFO up, tracebacks included: a
    person at a CLI never sees a traceback, an operator can still find it.
    """
    target = stream or sys.stderr
    tracebacks = log_file is None
    console_level = (level or settings.log_level).upper()
    handlers: list[logging.Handler] = []
    if log_file is None and settings.log_file is not None:
        # A process of the local stack: its own rotating file instead of stderr.
        own = LazyFileHandler(settings.log_file, max_bytes=settings.log_max_bytes,
                              backups=settings.log_backups)
        own.setFormatter(JsonFormatter())
        handlers.append(own)
    else:
        console = logging.StreamHandler(target)
        console.setFormatter(JsonFormatter(tracebacks=tracebacks)
                             if wants_json(settings, target)
                             else HumanFormatter(tracebacks=tracebacks))
        handlers.append(console)
    handlers[0].setLevel(console_level)
    if log_file is not None:
        file_handler = LazyFileHandler(log_file, max_bytes=settings.log_max_bytes,
                                       backups=settings.log_backups)
        file_handler.setFormatter(JsonFormatter())
        file_handler.setLevel(logging.INFO)
        handlers.append(file_handler)
    quiet = QuietPeriodicJobs()
    for handler in handlers:
        handler.addFilter(quiet)
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(settings.http_log_level.upper())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_conveyor", False):
            root.removeHandler(old)
            old.close()
    for handler in handlers:
        handler._conveyor = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(min(logging.getLevelName(console_level),
                      logging.INFO if log_file is not None else logging.CRITICAL))


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO,
              **fields: Any) -> None:
    """Log a named structured event (e.g. seal_success) with its fields as data."""
    logger.log(level, event, extra={"event": event, **fields})
