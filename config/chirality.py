"""Settings of the chirality pipeline: CHIRALITY_* plus the OpenAI client's own variables.

The resolver settings (key, endpoint, model, timeouts, retries) are read where the
job runs: in the worker. A secret never travels through the queue or the jobs table;
in the embedded mode the worker is the CLI's own process, so it sees the same
environment as the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from config.env import ConfigError, env_float, env_int, env_path, env_str
from config.redact import redact_url

DEFAULT_CONCURRENCY = 8
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, kw_only=True)
class ChiralitySettings:
    runs_root: Path | None
    """Folder holding runs/<run_id>; None: the current folder of the CLI."""
    concurrency: int
    """Resolver calls in flight at once within one run."""
    model: str
    openai_api_key: str | None
    openai_base_url: str | None
    """Any OpenAI-compatible endpoint (http or https); None: DEFAULT_OPENAI_BASE_URL."""
    openai_organization: str | None
    """Sent as OpenAI-Organization (OPENAI_ORG_ID), as the official client does."""
    openai_project: str | None
    """Sent as OpenAI-Project (OPENAI_PROJECT_ID), as the official client does."""
    request_timeout_s: float
    """One resolver request, retries not included."""
    max_retries: int
    """Retries of one resolver call after a 429, a 5xx or a connection failure."""
    retry_base_s: float
    retry_cap_s: float
    lock_poll_s: float
    """How often a run waiting for another job's claim on the same run_id looks again."""

    def __repr__(self) -> str:  # never show the key in logs or tracebacks
        key = "set" if self.openai_api_key else "unset"
        return (f"ChiralitySettings(runs_root={self.runs_root}, concurrency={self.concurrency}, "
                f"model={self.model!r}, openai_api_key=<{key}>, "
                f"openai_base_url={self.openai_base_url!r})")


def load_chirality_settings() -> ChiralitySettings:
    """Read the settings from the environment now (ConfigError on a bad value)."""
    raw_root = env_str("CHIRALITY_RUNS_ROOT")
    return ChiralitySettings(
        runs_root=env_path("CHIRALITY_RUNS_ROOT", Path(".")) if raw_root else None,
        concurrency=env_int("CHIRALITY_CONCURRENCY", DEFAULT_CONCURRENCY, minimum=1),
        model=env_str("CHIRALITY_MODEL", DEFAULT_MODEL) or DEFAULT_MODEL,
        openai_api_key=env_str("OPENAI_API_KEY"),
        openai_base_url=_base_url("OPENAI_BASE_URL"),
        openai_organization=env_str("OPENAI_ORG_ID"),
        openai_project=env_str("OPENAI_PROJECT_ID"),
        request_timeout_s=env_float("CHIRALITY_REQUEST_TIMEOUT_S", 60.0, minimum=0.1),
        max_retries=env_int("CHIRALITY_MAX_RETRIES", 4, minimum=0),
        retry_base_s=env_float("CHIRALITY_RETRY_BASE_S", 0.5, minimum=0.0),
        retry_cap_s=env_float("CHIRALITY_RETRY_CAP_S", 8.0, minimum=0.0),
        lock_poll_s=env_float("CHIRALITY_LOCK_POLL_S", 0.05, minimum=0.001),
    )


def _base_url(name: str) -> str | None:
    """An http(s) URL with a host, or None: a bad one is a setting to fix (exit 2), not a
    connection failure to retry five times."""
    raw = env_str(name)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        valid = (parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
                 and not any(ch.isspace() for ch in raw))
        _ = parts.port  # a port that is no number raises
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f"{name} must be an http:// or https:// URL with a host, such as "
                          f"http://127.0.0.1:8000/v1; got {redact_url(raw)!r}")
    return raw
