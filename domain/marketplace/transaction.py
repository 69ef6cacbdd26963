"""The install transaction: VALIDATE, STAGE, EXTRACT, LIFECYCLE_PRE, PROMOTE, ACTIVATE.

(TELEMETRY, the last step, is the command's: see service.py.) Everything is staged in
tmp/<txId>; the plugin is promoted into cache/<id>/<version> by a rename, activated by
an atomic symlink swap, and committed by the atomic write of registry.json. A failure
at any step settles the journal, which puts the previous state back: nothing is ever
half-installed. An install whose version is already cached (same sha256) skips
straight to ACTIVATE, once the cached folder is verified against the tree digest recorded
when it was cached: a damaged copy is fetched again when the plan has a source, and
refused (ERR-CACHE-001) when it has none; it is never activated.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ContractError
from domain.marketplace import lifecycle
from domain.marketplace.activation import read_link, swap_link, target_for
from domain.marketplace.archive import Limits, copy_folder, extract
from domain.marketplace.cache import (
    DAMAGED,
    USABLE,
    CacheIndex,
    cache_state,
    load_index,
    save_index,
)
from domain.marketplace.catalog import SourceRef
from domain.marketplace.compat import Intent, blocking, evaluate
from domain.marketplace.errors import plugin_error
from domain.marketplace.eviction import evict
from domain.marketplace.fetch import copy_local
from domain.marketplace.flags import FlagSet
from domain.marketplace.fsutil import tree_digest
from domain.marketplace.journal import ACTIVATING, PROMOTING, REPLACED, STAGING, Journal, settle
from domain.marketplace.manifest import Manifest
from domain.marketplace.manifest_loader import load_manifest
from domain.marketplace.registry import Registry, load_registry, save_registry
from domain.marketplace.runtime import Runtime

logger = logging.getLogger("conveyor.plugins.install")

PRE_SCRIPTS = ("preInstall", "install")
POST_SCRIPTS = ("postInstall",)


@dataclass(frozen=True, kw_only=True)
class InstallPlan:
    plugin_id: str
    version: str
    sha256: str | None  # None: any cached copy will do (rollback; a Claude Code marketplace)
    source: SourceRef | None  # None: only a cached copy will do
    marketplace: str = ""
    force: bool = False
    skip_lifecycle: bool = False
    consents: Sequence[Mapping[str, str]] = ()
    intent: Intent | None = None  # None: no compatibility check
    manifest_optional: bool = False  # a Claude Code plugin may come without plugin.json


@dataclass
class InstallResult:
    plugin_id: str
    version: str
    from_version: str | None
    cache_hit: bool
    cache_dir: Path
    link: Path
    scripts: list[lifecycle.ScriptRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backup: str | None = None
    manifest: Manifest | None = None


@dataclass(frozen=True)
class Staged:
    root: Path
    manifest: Manifest
    size: int
    digest: str  # of the source: the archive's sha256 or the folder's tree digest


def _limits(rt: Runtime) -> Limits:
    return Limits(max_bytes=rt.settings.extract_max_bytes,
                  max_files=rt.settings.extract_max_files)


def _mismatch(plan: InstallPlan, got: str) -> ContractError:
    return plugin_error("ERROR-INST-005", f"{plan.plugin_id}@{plan.version}: checksum mismatch "
                        f"(expected sha256 {plan.sha256}, got {got})",
                        {"pluginId": plan.plugin_id, "version": plan.version,
                         "expected": plan.sha256, "actual": got,
                         "source": plan.source.shown if plan.source else None})


def stage(rt: Runtime, plan: InstallPlan, work: Path) -> Staged:
    """STAGE (fetch and verify) then EXTRACT into work/root; read plugin.json."""
    assert plan.source is not None
    root = work / "root"
    with rt.steps("STAGE"):
        if plan.source.kind == "folder":
            size = copy_folder(Path(plan.source.location), root, _limits(rt))
            digest = tree_digest(root)
        else:
            archive = work / "download"
            if plan.source.kind == "url":
                got = rt.fetcher.download(plan.source.location, archive,
                                          max_bytes=rt.settings.download_max_bytes)
            else:
                got = copy_local(Path(plan.source.location), archive,
                                 max_bytes=rt.settings.download_max_bytes)
            digest = got.sha256
        # No sha256 (a Claude Code marketplace lists none): the digest taken here is
        # the one recorded, and the cache verifies against it from now on.
        if plan.sha256 is not None and digest != plan.sha256:
            raise _mismatch(plan, digest)
    with rt.steps("EXTRACT"):
        if plan.source.kind != "folder":
            size = extract(work / "download", root, _limits(rt))
            (work / "download").unlink()
        manifest = load_manifest(root, expected=_expected(plan))
        if manifest.name != plan.plugin_id or manifest.version != plan.version:
            raise plugin_error("ERR-INSTALL-001", f"plugin.json says {manifest.name}@"
                               f"{manifest.version}, the marketplace {plan.plugin_id}@"
                               f"{plan.version}", {"manifest": f"{manifest.name}@"
                                                   f"{manifest.version}"})
    return Staged(root, manifest, size, digest)


def _expected(plan: InstallPlan) -> tuple[str, str] | None:
    """Name and version for a plugin with no plugin.json (allowed in Claude Code's format)."""
    return (plan.plugin_id, plan.version) if plan.manifest_optional else None


def check_compatibility(plan: InstallPlan, manifest: Manifest, flags: FlagSet) -> list[str]:
    """Raise the blocking finding, if any; return the warnings to mention."""
    if plan.intent is None:
        return []
    verdict = evaluate(manifest.compatibility, plan.intent)
    checks = flags.enabled("enableCompatibilityChecks")
    strict = flags.enabled("strictCompatibility") if verdict.verdict == "warn" else False
    stop = blocking(verdict, checks_enabled=checks, strict=strict)
    if stop is not None:
        raise plugin_error(stop.code, f"{plan.plugin_id}@{plan.version} is incompatible: "
                           f"{stop.message}", {"pluginId": plan.plugin_id,
                                               "version": plan.version,
                                               "verdict": verdict.verdict,
                                               "findings": [f.message for f in
                                                            verdict.findings]})
    return [f.message for f in verdict.findings]


def scripts_to_run(plan: InstallPlan, staged: Staged, flags: FlagSet,
                   notes: list[str]) -> list[lifecycle.Script]:
    """The lifecycle scripts this install runs; ERROR-PERM-001 if one lacks consent."""
    if not any(t in staged.manifest.lifecycle for t in PRE_SCRIPTS + POST_SCRIPTS):
        return []
    if plan.skip_lifecycle:
        notes.append("lifecycle scripts skipped as requested")
        return []
    if not flags.enabled("enableLifecycleHooks"):
        notes.append("lifecycle scripts not run: enableLifecycleHooks is off")
        return []
    scripts = lifecycle.collect(staged.manifest.lifecycle, staged.root,
                                PRE_SCRIPTS + POST_SCRIPTS)
    missing = lifecycle.missing_consent(scripts, plan.consents)
    if missing:
        raise lifecycle.refused(plan.plugin_id, plan.version, missing)
    return scripts


def inspect(rt: Runtime, plan: InstallPlan, flags: FlagSet, work: Path) -> list[str]:
    """Everything an install checks, done in a scratch folder (dry-run): the warnings."""
    staged = stage(rt, plan, work)
    with rt.steps("VALIDATE"):
        warnings = check_compatibility(plan, staged.manifest, flags)
        scripts_to_run(plan, staged, flags, warnings)
    return warnings


class Transaction:
    """One plugin version made active, atomically."""

    def __init__(self, rt: Runtime, plan: InstallPlan, flags: FlagSet, tx_id: str) -> None:
        self.rt = rt
        self.plan = plan
        self.flags = flags
        self.tx_id = tx_id
        self.layout = rt.layout
        self.journal = Journal(rt.layout, tx_id)
        self.cache_dir = rt.layout.cache_dir(plan.plugin_id, plan.version)
        self.link = rt.layout.link(plan.plugin_id)
        self.sha256 = plan.sha256  # the source digest, once known

    def _script_env(self, script_type: str) -> dict[str, str]:
        return {**self.rt.settings.script_env, "YELLOW_PLUGIN_ID": self.plan.plugin_id,
                "YELLOW_PLUGIN_VERSION": self.plan.version,
                "YELLOW_PLUGIN_SCRIPT": script_type}

    def _run_scripts(self, scripts: list[lifecycle.Script], types: Sequence[str], cwd: Path,
                     result: InstallResult) -> None:
        for script in scripts:
            if script.script_type in types:
                run = lifecycle.run(script, cwd, env=self._script_env(script.script_type),
                                    timeout_s=self.rt.settings.script_timeout_s)
                result.scripts.append(run)
                self.rt.metrics.scripts_run += 1

    def run(self, registry: Registry, index: CacheIndex) -> InstallResult:
        plan = self.plan
        state = "" if plan.force else cache_state(self.layout, index, plan.plugin_id,
                                                  plan.version, plan.sha256)
        hit = state == USABLE
        if not hit and plan.source is None:
            raise not_usable(plan.plugin_id, plan.version, damaged=state == DAMAGED)
        result = InstallResult(plan.plugin_id, plan.version,
                               registry.active_version(plan.plugin_id), hit, self.cache_dir,
                               self.link)
        if state == DAMAGED:
            result.warnings.append(f"the cached copy of {plan.plugin_id}@{plan.version} was "
                                   "damaged; it was fetched again")
        if hit:
            entry = index.get(plan.plugin_id, plan.version) or {}
            self.sha256 = self.sha256 or str(entry.get("sha256", ""))
        try:
            self._steps(hit, result)
        except BaseException:
            self._settle_failure()
            raise
        self._after_commit(result)
        return result

    def _steps(self, hit: bool, result: InstallResult) -> None:
        if hit:
            self.rt.metrics.cache_hits += 1
            with self.rt.steps("VALIDATE"):
                result.manifest = load_manifest(self.cache_dir, expected=(
                    self.plan.plugin_id, self.plan.version))  # verified: as installed
                result.warnings += check_compatibility(self.plan, result.manifest, self.flags)
            scripts: list[lifecycle.Script] = []
        else:
            self.rt.metrics.cache_misses += 1
            self.journal.write(phase=STAGING, pluginId=self.plan.plugin_id,
                               version=self.plan.version)
            staged = stage(self.rt, self.plan, self.journal.folder)
            self.sha256, result.manifest = staged.digest, staged.manifest
            with self.rt.steps("VALIDATE"):
                result.warnings += check_compatibility(self.plan, staged.manifest, self.flags)
                scripts = scripts_to_run(self.plan, staged, self.flags, result.warnings)
            with self.rt.steps("LIFECYCLE_PRE"):
                self._run_scripts(scripts, PRE_SCRIPTS, staged.root, result)
            with self.rt.steps("PROMOTE"):
                self._promote(staged)
        with self.rt.steps("ACTIVATE"):
            self._activate(scripts, result)

    def _promote(self, staged: Staged) -> None:
        had = self.cache_dir.exists() or self.cache_dir.is_symlink()
        self.journal.write(phase=PROMOTING, promotedPath=self.layout.relative(self.cache_dir),
                           hadExisting=had, sha256=self.sha256,
                           source=self.plan.source.shown if self.plan.source else "")
        self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
        if had:
            os.rename(self.cache_dir, self.journal.folder / REPLACED)
        os.rename(staged.root, self.cache_dir)
        self.rt.faults.hit("promote")

    def _activate(self, scripts: list[lifecycle.Script], result: InstallResult) -> None:
        previous = read_link(self.link)
        new_target = target_for(self.link, self.cache_dir)
        self.journal.write(phase=ACTIVATING, pluginId=self.plan.plugin_id,
                           version=self.plan.version, linkPath=self.layout.relative(self.link),
                           previousTarget=previous, newTarget=new_target)
        swap_link(self.link, new_target)
        self.rt.faults.hit("activate")
        self._run_scripts(scripts, POST_SCRIPTS, self.cache_dir, result)
        if self.journal.data:  # a new copy: its tree digest, as activated, goes to the index
            self.journal.write(treeDigest=tree_digest(self.cache_dir))
        result.backup = self._commit(result)
        self.rt.faults.hit("commit")

    def _commit(self, result: InstallResult) -> str | None:
        """Write registry.json: the commit point."""
        now = self.rt.now()
        registry = load_registry(self.layout)
        index_entry = load_index(self.layout).get(self.plan.plugin_id, self.plan.version) or {}
        fields: dict[str, Any] = {
            "cachePath": self.layout.relative(self.cache_dir),
            "linkPath": self.layout.relative(self.link),
            "sha256": self.sha256 or index_entry.get("sha256", ""),
            "source": self.plan.source.shown if self.plan.source else index_entry.get(
                "source", ""),
        }
        if self.plan.marketplace:
            fields["marketplace"] = self.plan.marketplace
        if result.manifest is not None:
            fields["permissions"] = list(result.manifest.permissions)
        registry.activate(self.plan.plugin_id, self.plan.version, tx_id=self.tx_id, now=now,
                          **fields)
        backup = save_registry(self.layout, registry, tx_id=self.tx_id, now=now,
                               keep=self.rt.settings.backups_keep)
        self.rt.metrics.registry_mutations += 1
        return backup

    def _settle_failure(self) -> None:
        if not self.journal.data:
            return  # a cache hit failed before changing anything
        try:
            index = load_index(self.layout)
            if settle(self.layout, self.journal.data, index, self.rt.now()):
                save_index(self.layout, index)
        except Exception:  # the next command's recovery tries again
            logger.exception("could not undo transaction %s now; the next command will",
                             self.tx_id)

    def _after_commit(self, result: InstallResult) -> None:
        """Index the version, evict old ones, clean tmp/ (all retried by recovery)."""
        try:
            index = load_index(self.layout)
            if self.journal.data:
                settle(self.layout, self.journal.data, index, self.rt.now())
            else:
                index.touch(self.plan.plugin_id, self.plan.version, self.rt.now())
            save_index(self.layout, index)
            evict(self.layout, index, load_registry(self.layout).active_versions(),
                  keep=self.rt.settings.cache_keep_versions,
                  max_bytes=self.rt.settings.cache_max_bytes, tx_id=self.tx_id,
                  faults=self.rt.faults)
        except Exception:
            logger.exception("transaction %s committed; its cleanup is left to the next "
                             "command", self.tx_id)


def not_usable(plugin_id: str, version: str, *, damaged: bool, why: str = "") -> ContractError:
    """ERR-CACHE-001: no usable cached copy, and nothing to fetch one from."""
    if damaged:
        return plugin_error("ERR-CACHE-001", f"{plugin_id}@{version} is cached but damaged (its "
                            "files no longer match the tree digest recorded when it was "
                            f"cached){why}; it was not activated",
                            {"pluginId": plugin_id, "version": version, "damaged": True})
    return plugin_error("ERR-CACHE-001", f"{plugin_id}@{version} is not cached{why}",
                        {"pluginId": plugin_id, "version": version})
