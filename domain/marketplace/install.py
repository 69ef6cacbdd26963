"""`install`: one plugin version from the marketplace, made active."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from domain.marketplace.activation import read_link, target_for
from domain.marketplace.cache import USABLE, cache_state, load_index
from domain.marketplace.catalog import Marketplace
from domain.marketplace.errors import plugin_error
from domain.marketplace.flags import FlagSet
from domain.marketplace.manifest_loader import load_manifest
from domain.marketplace.registry import Registry, load_registry
from domain.marketplace.requests import InstallRequest
from domain.marketplace.service import Command, Outcome
from domain.marketplace.transaction import (
    InstallPlan,
    InstallResult,
    Transaction,
    check_compatibility,
    inspect,
)


def plan_for(market: Marketplace, plugin_id: str, version: str, **options: Any) -> InstallPlan:
    """The plan of one marketplace version (ERROR-DISC-001/003 when there is none)."""
    entry = market.plugin(plugin_id)
    if entry.problem is not None:
        code = "ERROR-DISC-003" if "no version" in entry.problem else "ERROR-INST-001"
        raise plugin_error(code, f"{plugin_id} cannot be installed: {entry.problem}",
                           {"pluginId": plugin_id, "marketplace": market.shown})
    found = entry.version(version)
    if found is None:
        raise plugin_error("ERROR-DISC-003", f"{plugin_id} has no version {version} in the "
                           f"marketplace", {"pluginId": plugin_id, "version": version,
                                            "available": sorted(entry.versions)})
    if entry.claude and market.remote:
        raise plugin_error("ERROR-INST-001", f"{plugin_id} is a plugin folder of a Claude Code "
                           "marketplace read over HTTP, and a folder cannot be fetched over "
                           "HTTP: use a local copy (a clone) of the marketplace",
                           {"pluginId": plugin_id, "marketplace": market.shown})
    return InstallPlan(plugin_id=plugin_id, version=found.version, sha256=found.sha256,
                       source=market.resolve(found.source), marketplace=market.shown,
                       manifest_optional=entry.claude, **options)


def dry_run_warnings(cmd: Command, plan: InstallPlan, flags: FlagSet) -> list[str]:
    """Every check of the install, with no change to the plugin folder."""
    layout = cmd.runtime.layout
    if not plan.force and cache_state(layout, load_index(layout), plan.plugin_id, plan.version,
                                      plan.sha256) == USABLE:
        cmd.runtime.metrics.cache_hits += 1
        with cmd.runtime.steps("VALIDATE"):
            manifest = load_manifest(layout.cache_dir(plan.plugin_id, plan.version),
                                     expected=(plan.plugin_id, plan.version))
            return check_compatibility(plan, manifest, flags)
    cmd.runtime.metrics.cache_misses += 1
    with tempfile.TemporaryDirectory(prefix="plugins-dry-run-") as work:
        return inspect(cmd.runtime, plan, flags, Path(work))


def _already_active(cmd: Command, registry: Registry, plan: InstallPlan) -> bool:
    """Active, linked and intact (a damaged active copy is installed again)."""
    layout = cmd.runtime.layout
    cache_dir = layout.cache_dir(plan.plugin_id, plan.version)
    link = layout.link(plan.plugin_id)
    return (registry.active_version(plan.plugin_id) == plan.version and cache_dir.is_dir()
            and read_link(link) == target_for(link, cache_dir)
            and cache_state(layout, load_index(layout), plan.plugin_id,
                            plan.version) == USABLE)


def _with_warnings(message: str, warnings: list[str]) -> str:
    return f"{message} (warnings: {'; '.join(warnings)})" if warnings else message


def _data(cmd: Command, plan: InstallPlan, flags: FlagSet, *, state: str, added: bool,
          changed: bool, scripts: list[dict[str, Any]]) -> dict[str, Any]:
    layout = cmd.runtime.layout
    delta = {"added": [plan.plugin_id] if changed and added else [],
             "modified": [plan.plugin_id] if changed and not added else []}
    return {"pluginId": plan.plugin_id, "version": plan.version, "installState": state,
            "cachePath": layout.display(layout.cache_dir(plan.plugin_id, plan.version)),
            "symlinkTarget": layout.display(layout.link(plan.plugin_id)),
            "registryDelta": delta, "lifecycleScripts": scripts,
            "flagEvaluations": flags.evaluations()}


def install(request: InstallRequest, cmd: Command) -> Outcome:
    rt = cmd.runtime
    with rt.steps("VALIDATE"):
        flags = cmd.flags()
        plan = plan_for(cmd.marketplace(), request.plugin_id, request.version,
                        force=request.force, skip_lifecycle=request.skip_lifecycle,
                        consents=request.consents, intent=request.intent)
        registry = load_registry(rt.layout)
        added = registry.entry(plan.plugin_id) is None
    label = f"{plan.plugin_id}@{plan.version}"
    if not request.force and _already_active(cmd, registry, plan):
        return Outcome("dry-run" if cmd.dry_run else "success",
                       f"{label} is already installed and active (use --force to reinstall)",
                       _data(cmd, plan, flags, state="active", added=added, changed=False,
                             scripts=[]))
    if cmd.dry_run:
        warnings = dry_run_warnings(cmd, plan, flags)
        return Outcome("dry-run", _with_warnings(f"Dry run: {label} can be installed; nothing "
                                                 "was changed", warnings),
                       _data(cmd, plan, flags, state="staged", added=added, changed=True,
                             scripts=[]))
    result = Transaction(rt, plan, flags, cmd.tx_id).run(registry, load_index(rt.layout))
    return Outcome("success", _with_warnings(_installed_message(result), result.warnings),
                   _data(cmd, plan, flags, state="active", added=added, changed=True,
                         scripts=[s.to_dict() for s in result.scripts]))


def _installed_message(result: InstallResult) -> str:
    label = f"{result.plugin_id}@{result.version}"
    if result.from_version and result.from_version != result.version:
        return f"Successfully installed {label} (was {result.from_version})"
    return f"Successfully installed {label}"
