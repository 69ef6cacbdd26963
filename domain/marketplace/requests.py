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
    intent: Intent | None = None  # not in the request: this machine's, for the same checks


def canonical_version(text: str) -> str:
    """1.2.3 as written; "01.2.3" (which the original's ^\\d+\\.\\d+\\.\\d+$ accepts) as 1.2.3."""
    parts = text.split(".")
    if len(parts) == 3 and all(p.isascii() and p.isdigit() for p in parts):
        return ".".join(str(int(p)) for p in parts)
    return text


def _base(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"correlation_id": raw.get("correlationId"), "dry_run": bool(raw.get("dryRun")),
            "flag_overrides": dict(raw.get("flagOverrides", {})),
            "telemetry_context": dict(raw.get("telemetryContext", {}))}


def _intent(raw: Mapping[str, Any]) -> Intent:
    claude = raw.get("claudeVersion")
    return Intent(node_version=canonical_version(raw["nodeVersion"]), os=raw["os"],
                  arch=raw["arch"], claude_version=canonical_version(claude) if claude else None)


def install_request(raw: Mapping[str, Any]) -> InstallRequest:
    return InstallRequest(**_base(raw), plugin_id=raw["pluginId"],
                          version=canonical_version(raw.get("version", "latest")),
                          force=bool(raw.get("force")),
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


def rollback_request(raw: Mapping[str, Any],
                     intent: Mapping[str, Any] | None = None) -> RollbackRequest:
    target = raw.get("targetVersion")
    return RollbackRequest(**_base(raw), plugin_id=raw["pluginId"],
                           target_version=canonical_version(target) if target else None,
                           cache_preference=raw["cachePreference"],
                           confirmation_token=raw.get("confirmationToken"),
                           list_targets=bool(raw.get("listTargets")),
                           intent=_intent(intent) if intent else None)
