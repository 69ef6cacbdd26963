"""Requests as the catalog defines them, built from JSON already checked against its schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.marketplace.compat import Intent


@dataclass(frozen=True, kw_only=True)
class BaseRequest:
    correlation_id: str | None = None
    dry_run: bool = False
    flag_overrides: Mapping[str, bool] = field(default_factory=dict)
    telemetry_context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class InstallRequest(BaseRequest):
    plugin_id: str
    version: str = "latest"
    force: bool = False
    intent: Intent
    skip_lifecycle: bool = False
    consents: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class UpdateRequest(BaseRequest):
    plugin_id: str | None = None
    all: bool = False
    intent: Intent
    version_constraint: str | None = None
    skip_lifecycle: bool = False
    check_only: bool = False
    consents: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class RollbackRequest(BaseRequest):
    plugin_id: str
    target_version: str | None = None
    cache_preference: str = "cached-only"
    confirmation_token: str | None = None
    list_targets: bool = False


def _base(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"correlation_id": raw.get("correlationId"), "dry_run": bool(raw.get("dryRun")),
            "flag_overrides": dict(raw.get("flagOverrides", {})),
            "telemetry_context": dict(raw.get("telemetryContext", {}))}


def _intent(raw: Mapping[str, Any]) -> Intent:
    return Intent(node_version=raw["nodeVersion"], os=raw["os"], arch=raw["arch"],
                  claude_version=raw.get("claudeVersion"))


def install_request(raw: Mapping[str, Any]) -> InstallRequest:
    return InstallRequest(**_base(raw), plugin_id=raw["pluginId"],
                          version=raw.get("version", "latest"), force=bool(raw.get("force")),
                          intent=_intent(raw["compatibilityIntent"]),
                          skip_lifecycle=bool(raw.get("skipLifecycle")),
                          consents=tuple(raw.get("lifecycleConsent", ())))


def update_request(raw: Mapping[str, Any]) -> UpdateRequest:
    return UpdateRequest(**_base(raw), plugin_id=raw.get("pluginId"), all=bool(raw.get("all")),
                         intent=_intent(raw["compatibilityIntent"]),
                         version_constraint=raw.get("versionConstraint"),
                         skip_lifecycle=bool(raw.get("skipLifecycle")),
                         check_only=bool(raw.get("checkOnly")),
                         consents=tuple(raw.get("lifecycleConsent", ())))


def rollback_request(raw: Mapping[str, Any]) -> RollbackRequest:
    return RollbackRequest(**_base(raw), plugin_id=raw["pluginId"],
                           target_version=raw.get("targetVersion"),
                           cache_preference=raw["cachePreference"],
                           confirmation_token=raw.get("confirmationToken"),
                           list_targets=bool(raw.get("listTargets")))
