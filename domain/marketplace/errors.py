"""The marketplace's error codes: category, exit code and resolution of each.

Codes come in the two styles the catalog uses (ERROR-<AREA>-NNN for a cause,
ERR-<COMMAND>-NNN for a command-level condition); every one matches
^ERR(OR)?-[A-Z]+-\\d{3}$. The catalog gives no exit codes; ours are 0 for success,
dry-run and partial, 1 for an error, 2 for bad usage or a request that fails its schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.errors import ContractError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Code:
    category: str
    exit_code: int
    resolution: str
    spec: str = ""


CODES: dict[str, Code] = {
    "ERROR-SCHEMA-001": Code("SCHEMA_VALIDATION", EXIT_USAGE,
                             "Validate the request against api/cli-contracts/<command>.json",
                             "FR-001, FR-002"),
    "ERROR-SCHEMA-002": Code("USAGE", EXIT_USAGE, "See `plugins <command> --help`"),
    "ERROR-SCHEMA-003": Code("SCHEMA_VALIDATION", EXIT_USAGE,
                             "Give --input a readable file (or - for stdin) holding one "
                             "JSON object"),
    "ERROR-SCHEMA-004": Code("MANIFEST", EXIT_ERROR,
                             "The plugin's plugin.json is invalid; ask its author to fix it"),
    "ERROR-SCHEMA-005": Code("CONFIGURATION", EXIT_USAGE,
                             "Fix flags.json: an object of known flag names to booleans"),
    "ERROR-DISC-001": Code("DISCOVERY", EXIT_ERROR,
                           "Check the plugin id against the marketplace's marketplace.json"),
    "ERROR-DISC-002": Code("DISCOVERY", EXIT_ERROR,
                           "Point --marketplace (or YELLOW_PLUGINS_MARKETPLACE) at a "
                           "marketplace folder or URL with a valid marketplace.json"),
    "ERROR-DISC-003": Code("DISCOVERY", EXIT_ERROR,
                           "Pick a version the marketplace lists (see its versions array)"),
    "ERROR-DISC-004": Code("DISCOVERY", EXIT_ERROR, "Install the plugin first"),
    "ERROR-COMPAT-001": Code("COMPATIBILITY", EXIT_ERROR,
                             "The plugin does not support this operating system"),
    "ERROR-COMPAT-002": Code("COMPATIBILITY", EXIT_ERROR,
                             "The plugin does not support this CPU architecture"),
    "ERROR-COMPAT-003": Code("COMPATIBILITY", EXIT_ERROR, "Upgrade Node.js", "CRIT-002b"),
    "ERROR-COMPAT-004": Code("COMPATIBILITY", EXIT_ERROR, "Upgrade Claude Code", "CRIT-005"),
    "ERROR-COMPAT-005": Code("COMPATIBILITY", EXIT_ERROR,
                             "The plugin has not been declared compatible with this Claude "
                             "Code version; install an older plugin version or turn "
                             "strictCompatibility off", "CRIT-005"),
    "ERROR-COMPAT-006": Code("COMPATIBILITY", EXIT_ERROR,
                             "Give compatibilityIntent.claudeVersion (or turn "
                             "strictCompatibility off)", "CRIT-005"),
    "ERROR-INST-001": Code("INSTALLATION", EXIT_ERROR,
                           "The source must be a .tar.gz, .tgz or .zip archive (or a folder) "
                           "with plugin.json at its root", "CRIT-007"),
    "ERROR-INST-002": Code("SECURITY", EXIT_ERROR,
                           "The archive holds a path or link leaving the plugin folder, or a "
                           "special file; it was not installed", "CRIT-007"),
    "ERROR-INST-003": Code("INSTALLATION", EXIT_ERROR,
                           "The download or its contents exceed the size limits "
                           "(YELLOW_PLUGINS_MAX_DOWNLOAD_MB, _MAX_EXTRACT_MB, _MAX_FILES)",
                           "CRIT-007"),
    "ERROR-INST-004": Code("INSTALLATION", EXIT_ERROR,
                           "A file operation in the plugin folder failed; the previous state "
                           "is active. Check permissions and free space, then retry",
                           "CRIT-007"),
    "ERROR-INST-005": Code("INTEGRITY", EXIT_ERROR,
                           "The download does not match the marketplace's sha256; it was "
                           "discarded. Retry, or report the marketplace entry", "CRIT-007"),
    "ERROR-INST-006": Code("LIFECYCLE", EXIT_ERROR,
                           "A lifecycle script failed; the previous state is active",
                           "CRIT-010"),
    "ERROR-INST-007": Code("LIFECYCLE", EXIT_ERROR,
                           "A lifecycle script ran past YELLOW_PLUGINS_SCRIPT_TIMEOUT_S and "
                           "was killed; the previous state is active", "CRIT-010"),
    "ERROR-PERM-001": Code("PERMISSION", EXIT_ERROR,
                           "Review the script, then consent to its exact digest "
                           "(lifecycleConsent, or --consent TYPE=sha256:HEX), or skip "
                           "lifecycle scripts", "CRIT-010"),
    "ERROR-PERM-002": Code("SECURITY", EXIT_ERROR,
                           "A marketplace source leaves the marketplace folder; it was refused"),
    "ERROR-NET-001": Code("NETWORK", EXIT_ERROR,
                          "The server could not be reached; check the URL and network, retry"),
    "ERROR-NET-002": Code("NETWORK", EXIT_ERROR, "The server answered with an error status"),
    "ERROR-NET-003": Code("NETWORK", EXIT_ERROR,
                          "The server did not answer in time (YELLOW_PLUGINS_NET_TIMEOUT_S)"),
    "ERR-INSTALL-001": Code("INSTALLATION", EXIT_ERROR,
                            "plugin.json's name and version must match the marketplace entry"),
    "ERR-INSTALL-099": Code("INTERNAL", EXIT_ERROR, "Report this with the log file named"),
    "ERR-UPDATE-001": Code("UPDATE", EXIT_ERROR,
                           "No plugin could be updated; see data.skipped for each reason"),
    "ERR-UPDATE-002": Code("UPDATE", EXIT_USAGE,
                           "Write an npm-style range: 1.2.3, ^1.2, ~1.2.3, 1.x, >=1 <2, "
                           "a || b"),
    "ERR-UPDATE-099": Code("INTERNAL", EXIT_ERROR, "Report this with the log file named"),
    "ERR-ROLLBACK-001": Code("ROLLBACK", EXIT_ERROR,
                             "Rollback is behind the enableRollback flag: set it in "
                             "flags.json, YELLOW_PLUGINS_ENABLE_ROLLBACK=1 or flagOverrides",
                             "CRIT-018"),
    "ERR-ROLLBACK-002": Code("ROLLBACK", EXIT_ERROR,
                             "List the targets with --list-targets (listTargets: true)",
                             "CRIT-018"),
    "ERR-ROLLBACK-099": Code("INTERNAL", EXIT_ERROR, "Report this with the log file named"),
    "ERR-CACHE-001": Code("CACHE", EXIT_ERROR,
                          "The version is not cached; use cachePreference "
                          "download-if-missing", "CRIT-018"),
    "ERR-CACHE-002": Code("CACHE", EXIT_ERROR,
                          "Another plugins command holds the plugin folder; retry when it "
                          "ends (YELLOW_PLUGINS_LOCK_TIMEOUT_S)"),
}

RETRYABLE_PREFIX = "ERROR-NET-"


def plugin_error(code: str, message: str, context: dict[str, Any] | None = None, *,
                 data: dict[str, Any] | None = None) -> ContractError:
    """A ContractError carrying what the response's ErrorDetails needs."""
    spec = CODES[code]
    details: dict[str, Any] = {"category": spec.category, "resolution": spec.resolution,
                               "context": context or {}}
    if spec.spec:
        details["specReference"] = spec.spec
    if data is not None:
        details["data"] = data
    return ContractError(code, message, details, spec.exit_code)


def is_retryable(error: ContractError) -> bool:
    """Network failures may succeed on a later attempt (the catalog's isRetryable)."""
    return error.code.startswith(RETRYABLE_PREFIX)
