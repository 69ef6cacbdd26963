"""`rollback`: make an earlier version of an installed plugin active again.

Targets are the versions the plugin's registry history names, newest first; any other
version is refused (ERR-ROLLBACK-002: installing it is install's job). A cached target
whose files still match their tree digest is activated without the network or the
marketplace (the cache exists so that rollback always works); cachePreference
download-if-missing fetches an uncached or damaged one from the marketplace through the
install transaction. The same compatibility checks as install run, against this
machine (the request carries no compatibilityIntent: it is detected, as interactive
install does). The request carries no lifecycle consent, so a download whose scripts
would run (enableLifecycleHooks on) is refused. Every rollback leaves a checkpoint:
backups/<checkpointId>.json, naming the registry backup taken just before it and the
confirmation token given.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from domain.marketplace.cache import DAMAGED, USABLE, CacheIndex, cache_state, load_index
from domain.marketplace.errors import plugin_error
from domain.marketplace.fsutil import atomic_write_json
from domain.marketplace.install import plan_for
from domain.marketplace.layout import PluginLayout
from domain.marketplace.registry import Registry, backup_name, load_registry
from domain.marketplace.requests import RollbackRequest
from domain.marketplace.service import Command, Outcome
from domain.marketplace.transaction import InstallPlan, Transaction, inspect, not_usable

logger = logging.getLogger("conveyor.plugins.rollback")

CACHED_ONLY = "cached-only"


def targets(layout: PluginLayout, index: CacheIndex, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Every earlier version of the history, newest first, with where it is cached."""
    found = []
    for item in reversed(entry.get("history", [])):
        version = item["version"]
        if version == entry["version"]:
            continue
        cached = cache_state(layout, index, entry["pluginId"], version) == USABLE
        target: dict[str, Any] = {"version": version, "cached": cached,
                                  "installedAt": item["installedAt"]}
        if cached:
            target["cachePath"] = layout.display(layout.cache_dir(entry["pluginId"], version))
        found.append(target)
    return found


def _default_target(options: list[dict[str, Any]], preference: str) -> dict[str, Any] | None:
    for option in options:
        if option["cached"] or preference != CACHED_ONLY:
            return option
    return None


def checkpoint_id(tx_id: str) -> str:
    return "ckpt-" + tx_id.removeprefix("txn-")


def _write_checkpoint(cmd: Command, request: RollbackRequest, from_version: str,
                      to_version: str, backup: str | None) -> str:
    ckpt = checkpoint_id(cmd.tx_id)
    try:
        atomic_write_json(cmd.runtime.layout.backups / f"{ckpt}.json", {
            "checkpointId": ckpt, "transactionId": cmd.tx_id, "pluginId": request.plugin_id,
            "fromVersion": from_version, "toVersion": to_version,
            "registryBackup": backup or backup_name(cmd.tx_id),
            "confirmationToken": request.confirmation_token, "createdAt": cmd.runtime.now()})
    except OSError as exc:  # the rollback is committed; the registry backup still exists
        logger.warning("checkpoint %s not written: %s", ckpt, exc)
    return ckpt


def _plan(cmd: Command, request: RollbackRequest, version: str, state: str) -> InstallPlan:
    if state == USABLE:
        return InstallPlan(plugin_id=request.plugin_id, version=version, sha256=None,
                           source=None, intent=request.intent)
    if request.cache_preference == CACHED_ONLY:
        raise not_usable(request.plugin_id, version, damaged=state == DAMAGED,
                         why=" and cachePreference is cached-only")
    return plan_for(cmd.marketplace(), request.plugin_id, version, intent=request.intent)


def _entry(registry: Registry, plugin_id: str) -> dict[str, Any]:
    entry = registry.entry(plugin_id)
    if entry is None:
        raise plugin_error("ERROR-DISC-004", f"{plugin_id} is not installed",
                           {"pluginId": plugin_id})
    return entry


def _choose(request: RollbackRequest, current: str, options: list[dict[str, Any]]) -> str:
    if request.target_version is None:
        chosen = _default_target(options, request.cache_preference)
        if chosen is None:
            raise plugin_error("ERR-ROLLBACK-002", f"{request.plugin_id} has no earlier "
                               f"{'cached ' if request.cache_preference == CACHED_ONLY else ''}"
                               f"version to roll back to",
                               {"pluginId": request.plugin_id, "availableTargets": options})
        return str(chosen["version"])
    if request.target_version == current:
        raise plugin_error("ERR-ROLLBACK-002", f"{request.plugin_id}@{current} is already "
                           "active", {"pluginId": request.plugin_id, "version": current})
    if request.target_version not in {str(o["version"]) for o in options}:
        raise plugin_error("ERR-ROLLBACK-002", f"{request.plugin_id}@{request.target_version} "
                           "was never installed, so it is no rollback target (install it "
                           "instead)", {"pluginId": request.plugin_id,
                                        "version": request.target_version,
                                        "availableTargets": options})
    return request.target_version


def rollback(request: RollbackRequest, cmd: Command) -> Outcome:
    rt = cmd.runtime
    with rt.steps("VALIDATE"):
        flags = cmd.flags()
        if not flags.enabled("enableRollback"):
            raise plugin_error("ERR-ROLLBACK-001", "rollback is disabled: the enableRollback "
                               "flag is off", {"flag": "enableRollback"})
        registry = load_registry(rt.layout)
        entry = _entry(registry, request.plugin_id)
        current = str(entry["version"])
        index = load_index(rt.layout)
        options = targets(rt.layout, index, entry)
    data: dict[str, Any] = {"pluginId": request.plugin_id, "fromVersion": current}
    if request.list_targets:
        chosen = _default_target(options, request.cache_preference)
        data.update(toVersion=chosen["version"] if chosen else current, installState="active",
                    cacheSource="cached" if chosen is None or chosen["cached"] else "downloaded",
                    availableTargets=options, flagEvaluations=flags.evaluations())
        return Outcome("success", f"{len(options)} rollback target(s) for {request.plugin_id}"
                       f"@{current}", data)
    version = _choose(request, current, options)
    state = cache_state(rt.layout, index, request.plugin_id, version)
    cached = state == USABLE
    plan = _plan(cmd, request, version, state)
    data.update(toVersion=version, cacheSource="cached" if cached else "downloaded")
    if cmd.dry_run:
        _dry_run(cmd, plan, cached)
        data.update(installState="staged", registryDelta={"modified": [request.plugin_id]},
                    flagEvaluations=flags.evaluations())
        return Outcome("dry-run", f"Dry run: {request.plugin_id} can be rolled back from "
                       f"{current} to {version}; nothing was changed", data)
    result = Transaction(rt, plan, flags, cmd.tx_id).run(registry, index)
    data.update(installState="active",
                checkpointId=_write_checkpoint(cmd, request, current, version, result.backup),
                registryDelta={"modified": [request.plugin_id]},
                flagEvaluations=flags.evaluations())
    return Outcome("success", f"Successfully rolled back {request.plugin_id} from {current} "
                   f"to {version}", data)


def _dry_run(cmd: Command, plan: InstallPlan, cached: bool) -> None:
    if cached:
        cmd.runtime.metrics.cache_hits += 1
        return
    cmd.runtime.metrics.cache_misses += 1
    with tempfile.TemporaryDirectory(prefix="plugins-dry-run-") as work:
        inspect(cmd.runtime, plan, cmd.flags(), Path(work))
