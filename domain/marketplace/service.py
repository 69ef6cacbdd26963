"""What every plugins command shares: ids, the lock and recovery, flags, the marketplace,
error mapping and the TELEMETRY step."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import ContractError
from config.plugins import FLAG_DEFAULTS
from domain.marketplace.catalog import Marketplace, load_marketplace
from domain.marketplace.errors import plugin_error
from domain.marketplace.flags import FlagSet, read_flags_file, resolve_flags
from domain.marketplace.journal import recover
from domain.marketplace.lock import folder_lock
from domain.marketplace.redact import Redactor
from domain.marketplace.runtime import Runtime
from domain.marketplace.telemetry import append_event, build_event, metrics_dict


def new_transaction_id(*, dry_run: bool = False) -> str:
    """txn-20260111-103045-a1b2c3; a dry run's is marked: it names nothing persistent."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"txn-{'dry-' if dry_run else ''}{stamp}-{secrets.token_hex(3)}"


def new_correlation_id() -> str:
    return f"corr-{uuid.uuid4()}"


@dataclass
class Outcome:
    """A command's answer before it becomes the response envelope."""

    status: str  # success, dry-run or partial (errors are raised as ContractError)
    message: str
    data: dict[str, Any] | None
    telemetry: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class Command:
    name: str  # install, update or rollback
    tx_id: str
    correlation_id: str
    dry_run: bool
    runtime: Runtime
    marketplace_location: str | None
    flag_overrides: Mapping[str, bool] = field(default_factory=dict)
    telemetry_context: Mapping[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _flags: FlagSet | None = None
    _marketplace: Marketplace | None = None

    @property
    def redactor(self) -> Redactor:
        return Redactor(self.runtime.settings.home)

    def flags(self) -> FlagSet:
        if self._flags is None:
            self._flags = resolve_flags(overrides=self.flag_overrides,
                                        env=self.runtime.settings.env_flags,
                                        file=read_flags_file(self.runtime.layout.flags))
        return self._flags

    def marketplace(self) -> Marketplace:
        if self._marketplace is None:
            if not self.marketplace_location:
                raise plugin_error("ERROR-DISC-002", "no marketplace configured: give "
                                   "--marketplace or set YELLOW_PLUGINS_MARKETPLACE")
            self._marketplace = load_marketplace(self.marketplace_location,
                                                 self.runtime.fetcher)
        return self._marketplace

    def warnings(self) -> list[str]:
        """What the request or the marketplace held that was ignored or dropped."""
        found = [f"unknown flag {name} ignored" for name in self.flag_overrides
                 if name not in FLAG_DEFAULTS]
        if self._marketplace is not None:
            found += self._marketplace.warnings
        return found

    def metrics(self) -> dict[str, Any]:
        rt = self.runtime
        return metrics_dict(duration_ms=int((time.monotonic() - self.started) * 1000),
                            cache_status=rt.metrics.cache_status(),
                            bytes_downloaded=rt.fetcher.bytes_downloaded,
                            scripts_run=rt.metrics.scripts_run,
                            registry_mutations=0 if self.dry_run else
                            rt.metrics.registry_mutations)


def as_contract_error(cmd: Command, exc: BaseException) -> ContractError:
    step = cmd.runtime.steps.current
    if isinstance(exc, ContractError):
        context = exc.details.setdefault("context", {})
        if step and isinstance(context, dict):
            context.setdefault("step", step)
        return exc
    assert isinstance(exc, OSError)
    what = exc.strerror or str(exc)
    # A failed write (a full disk) names no file: name the folder the command writes.
    path = str(exc.filename) if exc.filename else str(cmd.runtime.layout.root)
    return plugin_error("ERROR-INST-004", f"{cmd.name} failed during {step or 'setup'}: "
                        f"{what} ({path}); the previous state is active",
                        {"step": step, "errno": exc.errno, "path": path})


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # ENAMETOOLONG and the like: no folder to write the event into
        return False


def _telemetry(cmd: Command, *, status: str, error_code: str | None,
               metrics: Mapping[str, Any]) -> None:
    """The TELEMETRY step: one redacted event, only where the command may write."""
    layout = cmd.runtime.layout
    if cmd.dry_run or not _is_folder(layout.root):
        return
    with cmd.runtime.steps("TELEMETRY"):
        event = build_event(command=cmd.name, transaction_id=cmd.tx_id,
                            correlation_id=cmd.correlation_id, timestamp=cmd.runtime.now(),
                            status=status, error_code=error_code,
                            marketplace=cmd.marketplace_location, metrics=metrics,
                            steps=cmd.runtime.steps.timings, context=cmd.telemetry_context,
                            environment=cmd.runtime.settings.telemetry_env,
                            redactor=cmd.redactor)
        append_event(layout.telemetry, event)


def execute(cmd: Command, body: Callable[[Command], Outcome], *, mutating: bool) -> Outcome:
    """Run body (under the folder lock, after recovery, when it changes things)."""
    rt = cmd.runtime
    try:
        if mutating and not cmd.dry_run:
            with folder_lock(rt.layout, rt.settings.lock_timeout_s):
                recover(rt.layout, rt.now())
                outcome = body(cmd)
        else:
            outcome = body(cmd)
    except (ContractError, OSError) as exc:
        error = as_contract_error(cmd, exc)
        _telemetry(cmd, status="error", error_code=error.code, metrics=cmd.metrics())
        if error is exc:
            raise
        raise error from None
    outcome.telemetry = cmd.metrics()
    warnings = cmd.warnings()
    if warnings:  # the response has no field for them: the catalog's message carries them
        outcome.message += f" (warnings: {'; '.join(warnings)})"
    _telemetry(cmd, status=outcome.status, error_code=None, metrics=outcome.telemetry)
    return outcome
