"""Settings of the `plugins` CLI (plugin marketplace), read from YELLOW_PLUGINS_* variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from config.env import (
    ConfigError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    environ,
    home_dir,
)

MB = 1024 * 1024

# Feature flags and their defaults (flags.json keys). Precedence, highest first: request
# flagOverrides / --flag, then YELLOW_PLUGINS_<FLAG> in the environment, then flags.json,
# then these defaults. strictCompatibility is ours: it turns "warn" verdicts into blocks.
FLAG_DEFAULTS: Mapping[str, bool] = {
    "enableBrowse": False,
    "enablePublish": False,
    "enableRollback": False,
    "enableVariants": False,
    "enableLifecycleHooks": False,
    "enableCompatibilityChecks": True,
    "strictCompatibility": False,
}

# Environment a lifecycle script may see (everything else is scrubbed).
SCRIPT_ENV_ALLOWLIST = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM",
                        "USER", "LOGNAME", "SHELL")
# Environment a telemetry event may record (everything else is left out).
TELEMETRY_ENV_ALLOWLIST = ("CI", "NODE_ENV", "LANG", "TZ", "TERM", "GITHUB_ACTIONS",
                           "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_REPOSITORY")

# Where a test may inject a failure into the install transaction: <point>[:raise|:exit].
# After the commit point only a crash (:exit) makes sense: an error there would report
# a failure for an install that took effect. The evict-* points are the steps of a cache
# eviction (after the commit): journal written, index saved, a folder moved out, a folder
# half deleted; raised there, the eviction is left for the next command to settle.
FAULT_POINTS = ("promote", "activate", "commit", "evict-journal", "evict-index",
                "evict-rename", "evict-delete")
_FAULT = re.compile(r"^((promote|activate|evict-(journal|index|rename|delete))(:(raise|exit))?"
                    r"|commit:exit)$")


def flag_env_name(flag: str) -> str:
    """enableLifecycleHooks -> YELLOW_PLUGINS_ENABLE_LIFECYCLE_HOOKS."""
    return "YELLOW_PLUGINS_" + re.sub(r"(?<!^)(?=[A-Z])", "_", flag).upper()


@dataclass(frozen=True, kw_only=True)
class PluginsSettings:
    """Where the marketplace and the plugin folder are, and the limits every command obeys."""

    marketplace: str | None
    """A marketplace folder or an http(s) URL; None: it must come from --marketplace."""
    plugin_dir: Path
    """Holds registry.json, flags.json, cache/, tmp/, backups/ and the plugins/ links."""
    env_flags: Mapping[str, bool]
    """Feature flags set in the environment (only those that are set)."""
    cache_keep_versions: int = 3
    cache_max_bytes: int = 500 * MB
    download_max_bytes: int = 100 * MB
    extract_max_bytes: int = 200 * MB
    extract_max_files: int = 10_000
    net_timeout_s: float = 30.0
    net_retries: int = 3
    net_backoff_base_s: float = 0.5
    net_backoff_cap_s: float = 8.0
    script_timeout_s: float = 60.0
    lock_timeout_s: float = 30.0
    backups_keep: int = 20
    script_env: Mapping[str, str] = field(default_factory=dict)
    telemetry_env: Mapping[str, str] = field(default_factory=dict)
    home: Path = Path("~")
    test_fault: str | None = None
    """Test-only: YELLOW_PLUGINS_TEST_FAULT=<point>[:raise|:exit] fails the install there."""


def _allowed_env(names: tuple[str, ...]) -> dict[str, str]:
    env = environ()
    return {name: env[name] for name in names if name in env}


def _env_flags() -> dict[str, bool]:
    flags = {}
    for flag in FLAG_DEFAULTS:
        if env_str(flag_env_name(flag)) is not None:
            flags[flag] = env_bool(flag_env_name(flag), FLAG_DEFAULTS[flag])
    return flags


def _test_fault() -> str | None:
    raw = env_str("YELLOW_PLUGINS_TEST_FAULT")
    if raw is not None and not _FAULT.match(raw):
        raise ConfigError("YELLOW_PLUGINS_TEST_FAULT must be promote, activate or evict-"
                          "journal|index|rename|delete with an optional :raise or :exit, or "
                          f"commit:exit; got {raw!r}")
    return raw


def load_plugins_settings() -> PluginsSettings:
    """Read the settings from the environment now (a CLI call reads them once)."""
    script_allow = SCRIPT_ENV_ALLOWLIST + env_list("YELLOW_PLUGINS_SCRIPT_ENV_ALLOW")
    telemetry_allow = TELEMETRY_ENV_ALLOWLIST + env_list("YELLOW_PLUGINS_TELEMETRY_ENV_ALLOW")
    return PluginsSettings(
        marketplace=env_str("YELLOW_PLUGINS_MARKETPLACE"),
        plugin_dir=Path(env_str("YELLOW_PLUGINS_DIR", "./.claude-plugin") or ".claude-plugin"),
        env_flags=_env_flags(),
        cache_keep_versions=env_int("YELLOW_PLUGINS_CACHE_KEEP_VERSIONS", 3, minimum=1),
        cache_max_bytes=env_int("YELLOW_PLUGINS_CACHE_MAX_MB", 500, minimum=1) * MB,
        download_max_bytes=env_int("YELLOW_PLUGINS_MAX_DOWNLOAD_MB", 100, minimum=1) * MB,
        extract_max_bytes=env_int("YELLOW_PLUGINS_MAX_EXTRACT_MB", 200, minimum=1) * MB,
        extract_max_files=env_int("YELLOW_PLUGINS_MAX_FILES", 10_000, minimum=1),
        net_timeout_s=env_float("YELLOW_PLUGINS_NET_TIMEOUT_S", 30.0, minimum=0.1),
        net_retries=env_int("YELLOW_PLUGINS_NET_RETRIES", 3, minimum=0),
        net_backoff_base_s=env_float("YELLOW_PLUGINS_NET_BACKOFF_BASE_S", 0.5, minimum=0.0),
        net_backoff_cap_s=env_float("YELLOW_PLUGINS_NET_BACKOFF_CAP_S", 8.0, minimum=0.0),
        script_timeout_s=env_float("YELLOW_PLUGINS_SCRIPT_TIMEOUT_S", 60.0, minimum=0.1),
        lock_timeout_s=env_float("YELLOW_PLUGINS_LOCK_TIMEOUT_S", 30.0, minimum=0.0),
        backups_keep=env_int("YELLOW_PLUGINS_BACKUPS_KEEP", 20, minimum=1),
        script_env=_allowed_env(script_allow),
        telemetry_env=_allowed_env(telemetry_allow),
        home=home_dir(),
        test_fault=_test_fault(),
    )
