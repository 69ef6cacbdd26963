"""`update`: one installed plugin or all of them, each in its own install transaction.

The candidate is the marketplace's latest version or, with a versionConstraint, the
highest version the range allows; it must be newer than the active one (update never
downgrades: that is rollback's job). versionConstraint "latest" (the original schema's
own example) means the newest compatible version: the newer versions are tried newest
first, and one the host is incompatible with gives way to the next. A plugin that cannot
be updated is skipped with its error code; when some plugins succeed and some are
skipped the status is partial.

An active content version (an unversioned Claude Code plugin's 0.0.N, see claude_code.py)
names its files, not a place in an order: any other version the marketplace offers is
newer than it, so changed files are always an update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.errors import ContractError
from domain.marketplace.cache import load_index
from domain.marketplace.catalog import Marketplace, PluginEntry
from domain.marketplace.claude_code import is_content_version
from domain.marketplace.errors import plugin_error
from domain.marketplace.install import dry_run_warnings, plan_for
from domain.marketplace.registry import load_registry
from domain.marketplace.requests import UpdateRequest
from domain.marketplace.semver import Range, SemverError, Version
from domain.marketplace.service import Command, Outcome, as_contract_error
from domain.marketplace.transaction import Transaction


@dataclass
class Report:
    updated: list[dict[str, Any]] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    available: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, plugin_id: str, error: ContractError) -> None:
        self.skipped.append({"pluginId": plugin_id, "reason": error.message,
                             "errorCode": error.code})


LATEST = "latest"


def parse_constraint(text: str | None) -> Range | None:
    if text is None or text == LATEST:
        return None
    try:
        return Range.parse(text)
    except SemverError as exc:
        raise plugin_error("ERR-UPDATE-002", f"invalid version constraint {text!r}: {exc}",
                           {"versionConstraint": text}) from None


def candidate(entry: PluginEntry, constraint: Range | None) -> Version | None:
    if constraint is None:
        return Version.parse(entry.latest)
    return constraint.max_satisfying(entry.sorted_versions())


def _no_match(plugin_id: str, constraint: Range | None) -> ContractError:
    text = constraint.text if constraint else "latest"
    return plugin_error("ERROR-DISC-003", f"no version of {plugin_id} satisfies {text}",
                        {"pluginId": plugin_id, "versionConstraint": text})


def _is_newer(version: Version, current: str, by_content: bool) -> bool:
    return str(version) != current if by_content else version > Version.parse(current)


def _newer(entry: PluginEntry, current: str, by_content: bool) -> list[Version]:
    """Every listed version newer than the active one, newest first ("latest")."""
    return sorted((v for v in entry.sorted_versions() if _is_newer(v, current, by_content)),
                  reverse=True)


def _active_by_content(cmd: Command, plugin_id: str, current: str) -> bool:
    """True when the active version is the content version of the files it installed."""
    active = load_registry(cmd.runtime.layout).entry(plugin_id) or {}
    return is_content_version(current, str(active.get("sha256", "")))


def _update_one(cmd: Command, request: UpdateRequest, market: Marketplace, plugin_id: str,
                current: str, constraint: Range | None, report: Report, n: int) -> None:
    entry = market.plugin(plugin_id)
    if entry.problem is not None:
        plan_for(market, plugin_id, LATEST)  # raises the entry's problem
    by_content = _active_by_content(cmd, plugin_id, current)
    if request.version_constraint == LATEST:
        newer = _newer(entry, current, by_content)
        if not newer:
            report.up_to_date.append(plugin_id)
            return
        for version in newer[:-1]:
            try:
                _update_to(cmd, request, market, entry, current, version, report, n)
                return
            except ContractError as exc:
                if not exc.code.startswith("ERROR-COMPAT-"):
                    raise
        _update_to(cmd, request, market, entry, current, newer[-1], report, n)
        return
    target = candidate(entry, constraint)
    if target is None:
        raise _no_match(plugin_id, constraint)
    if not _is_newer(target, current, by_content):
        report.up_to_date.append(plugin_id)
        return
    _update_to(cmd, request, market, entry, current, target, report, n)


def _update_to(cmd: Command, request: UpdateRequest, market: Marketplace, entry: PluginEntry,
               current: str, target: Version, report: Report, n: int) -> None:
    plugin_id = entry.id
    if request.check_only:
        found = entry.versions[str(target)]
        item = {"pluginId": plugin_id, "currentVersion": current, "latestVersion": str(target)}
        if found.changelog_url:
            item["changelogUrl"] = found.changelog_url
        report.available.append(item)
        return
    plan = plan_for(market, plugin_id, str(target), skip_lifecycle=request.skip_lifecycle,
                    consents=request.consents, intent=request.intent)
    flags = cmd.flags()
    if cmd.dry_run:
        dry_run_warnings(cmd, plan, flags)
        state = "staged"
    else:
        rt = cmd.runtime
        Transaction(rt, plan, flags, f"{cmd.tx_id}.{n}").run(load_registry(rt.layout),
                                                             load_index(rt.layout))
        state = "active"
    report.updated.append({"pluginId": plugin_id, "fromVersion": current,
                           "toVersion": str(target), "installState": state})


def _targets(cmd: Command, request: UpdateRequest) -> dict[str, str]:
    active = load_registry(cmd.runtime.layout).active_versions()
    if request.all:
        return dict(sorted(active.items()))
    assert request.plugin_id is not None  # the schema requires pluginId or all
    if request.plugin_id not in active:
        raise plugin_error("ERROR-DISC-004", f"{request.plugin_id} is not installed",
                           {"pluginId": request.plugin_id})
    return {request.plugin_id: active[request.plugin_id]}


def update(request: UpdateRequest, cmd: Command) -> Outcome:
    with cmd.runtime.steps("VALIDATE"):
        constraint = parse_constraint(request.version_constraint)
        targets = _targets(cmd, request)
        flags = cmd.flags()
        market = cmd.marketplace() if targets else None
    report = Report()
    for n, (plugin_id, current) in enumerate(targets.items(), start=1):
        assert market is not None
        try:
            _update_one(cmd, request, market, plugin_id, current, constraint, report, n)
        except (ContractError, OSError) as exc:
            report.skip(plugin_id, as_contract_error(cmd, exc))
    return _outcome(cmd, request, report, flags.evaluations())


def _summary(cmd: Command, request: UpdateRequest, report: Report) -> str:
    if request.check_only:
        head = f"{len(report.available)} update(s) available"
    elif cmd.dry_run:
        head = f"Dry run: would update {len(report.updated)} plugin(s)"
    else:
        head = f"Updated {len(report.updated)} plugin(s)"
    return (f"{head}, {len(report.up_to_date)} already up-to-date, "
            f"{len(report.skipped)} skipped")


def _outcome(cmd: Command, request: UpdateRequest, report: Report,
             flag_evaluations: dict[str, Any]) -> Outcome:
    data: dict[str, Any] = {"updated": report.updated, "upToDate": report.up_to_date,
                            "skipped": report.skipped}
    if request.check_only:
        data["availableUpdates"] = report.available
    data["registryDelta"] = {"modified": [u["pluginId"] for u in report.updated]}
    data["flagEvaluations"] = flag_evaluations
    message = _summary(cmd, request, report)
    succeeded = report.updated or report.up_to_date or report.available
    if report.skipped and not succeeded:
        first = report.skipped[0]
        code = first["errorCode"] if len(report.skipped) == 1 else "ERR-UPDATE-001"
        raise plugin_error(code, f"{message}: {first['reason']}" if len(report.skipped) == 1
                           else message, {"skipped": report.skipped}, data=data)
    if cmd.dry_run:
        return Outcome("dry-run", message, data)
    return Outcome("partial" if report.skipped else "success", message, data)
