"""Telemetry events: one JSON line per command in <pluginDir>/logs/telemetry.jsonl.

Everything is redacted on the way out: tokens in URLs, the home folder in paths, and
the environment cut down to an allowlist (YELLOW_PLUGINS_TELEMETRY_ENV_ALLOW adds names).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain.marketplace.redact import Redactor

logger = logging.getLogger("conveyor.plugins.telemetry")

MAX_LOG_BYTES = 5 * 1024 * 1024


def metrics_dict(*, duration_ms: int, cache_status: str | None, bytes_downloaded: int,
                 scripts_run: int, registry_mutations: int) -> dict[str, Any]:
    """The response's TelemetryMetrics."""
    metrics: dict[str, Any] = {"durationMs": duration_ms}
    if cache_status is not None:
        metrics["cacheStatus"] = cache_status
    metrics.update(bytesDownloaded=bytes_downloaded, lifecycleScriptsRun=scripts_run,
                   registryMutations=registry_mutations)
    return metrics


def build_event(*, command: str, transaction_id: str, correlation_id: str, timestamp: str,
                status: str, error_code: str | None, marketplace: str | None,
                metrics: Mapping[str, Any], steps: Mapping[str, int],
                context: Mapping[str, Any], environment: Mapping[str, str],
                redactor: Redactor) -> dict[str, Any]:
    event = {"timestamp": timestamp, "command": command, "transactionId": transaction_id,
             "correlationId": correlation_id, "status": status, "errorCode": error_code,
             "marketplace": marketplace, "metrics": dict(metrics), "stepsMs": dict(steps),
             "telemetryContext": dict(context), "environment": dict(environment)}
    redacted: dict[str, Any] = redactor(event)
    return redacted


def append_event(path: Path, event: Mapping[str, Any]) -> None:
    """Append one line; never fails the command (telemetry is not worth an error)."""
    try:
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_suffix(".jsonl.1"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # ASCII escapes: a request's telemetryContext may carry lone surrogates (\\udcff),
        # which UTF-8 cannot encode; a failed write here came after the commit point.
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, ensure_ascii=True) + "\n")
    except OSError as exc:
        logger.warning("telemetry event not written to %s: %s", path, exc)
