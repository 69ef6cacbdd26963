"""The contract schemas: valid Draft-07, consistent, matching the catalog's own examples,
and shipped with the package."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from api import COMMANDS, load_schema, schema_path
from cli.plugin_schema import check
from tests.cli.plugins.test_catalog_examples import (
    INSTALL_REQUEST,
    ROLLBACK_REQUEST,
    UPDATE_REQUEST,
)
from tests.support.env import ROOT

SHARED = ("semver", "timestamp", "pluginId", "correlationId", "compatibilityIntent",
          "telemetryContext", "flagOverrides", "lifecycleConsent", "errorDetails",
          "telemetryMetrics", "flagEvaluations", "installState")

# The catalog's response examples (plugin-marketplace.md 3.4, 4.4, 5.4), verbatim except
# the install example's placeholder digest "sha256:abc123...".
INSTALL_RESPONSE: dict[str, Any] = {
    "success": True, "status": "success",
    "message": "Successfully installed example-plugin@1.2.3",
    "transactionId": "txn-20260111-123456", "correlationId": "req-install-20260111-001",
    "timestamp": "2026-01-11T10:30:45.123Z", "cliVersion": "1.0.0",
    "data": {"pluginId": "example-plugin", "version": "1.2.3", "installState": "active",
             "cachePath": ".claude-plugin/cache/example-plugin-1.2.3",
             "symlinkTarget": ".claude-plugin/plugins/example-plugin",
             "registryDelta": {"added": ["example-plugin"], "modified": []},
             "lifecycleScripts": [{"scriptType": "postInstall", "exitCode": 0,
                                   "durationMs": 1250, "digest": "sha256:" + "ab" * 32}],
             "flagEvaluations": {"flags": {"enableRollback": True, "strictCompatibility": True},
                                 "source": "config", "appliedFlags": ["strictCompatibility"]}},
    "telemetry": {"durationMs": 45678, "cacheStatus": "miss", "bytesDownloaded": 2048576,
                  "lifecycleScriptsRun": 1, "registryMutations": 1}}
UPDATE_RESPONSE: dict[str, Any] = {
    "success": True, "status": "success",
    "message": "Updated 2 plugins, 1 already up-to-date, 1 skipped",
    "transactionId": "txn-20260111-123457", "correlationId": "req-update-20260111-002",
    "timestamp": "2026-01-11T10:35:12.456Z", "cliVersion": "1.0.0",
    "data": {"updated": [{"pluginId": "example-plugin", "fromVersion": "1.2.3",
                          "toVersion": "1.3.0", "installState": "active"},
                         {"pluginId": "another-plugin", "fromVersion": "2.0.0",
                          "toVersion": "2.1.0", "installState": "active"}],
             "upToDate": ["stable-plugin"],
             "skipped": [{"pluginId": "incompatible-plugin",
                          "reason": "Requires Node.js >= 22, current: 20.10.0",
                          "errorCode": "ERROR-COMPAT-003"}],
             "registryDelta": {"modified": ["example-plugin", "another-plugin"]}},
    "telemetry": {"durationMs": 87654, "cacheStatus": "partial", "bytesDownloaded": 4096000,
                  "lifecycleScriptsRun": 2, "registryMutations": 2}}
ROLLBACK_RESPONSE: dict[str, Any] = {
    "success": True, "status": "success",
    "message": "Successfully rolled back example-plugin from 1.3.0 to 1.2.0",
    "transactionId": "txn-20260111-123458", "correlationId": "req-rollback-20260111-003",
    "timestamp": "2026-01-11T10:40:30.789Z", "cliVersion": "1.0.0",
    "data": {"pluginId": "example-plugin", "fromVersion": "1.3.0", "toVersion": "1.2.0",
             "installState": "active", "cacheSource": "cached",
             "checkpointId": "ckpt-20260111-001",
             "registryDelta": {"modified": ["example-plugin"]},
             "flagEvaluations": {"flags": {"enableRollback": True}, "source": "override",
                                 "appliedFlags": ["enableRollback"]}},
    "telemetry": {"durationMs": 5432, "cacheStatus": "hit", "bytesDownloaded": 0,
                  "lifecycleScriptsRun": 0, "registryMutations": 1}}
EXAMPLES = {"install": (INSTALL_REQUEST, INSTALL_RESPONSE),
            "update": (UPDATE_REQUEST, UPDATE_RESPONSE),
            "rollback": (ROLLBACK_REQUEST, ROLLBACK_RESPONSE)}


@pytest.mark.parametrize("command", COMMANDS)
def test_schemas_are_draft_07(command: str) -> None:
    schema = load_schema(command)
    Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"] == f"https://yellow-plugins.dev/schemas/cli-contracts/{command}/v1.json"
    assert schema_path(command) == ROOT / "api" / "cli-contracts" / f"{command}.json"


def test_shared_definitions_are_identical() -> None:
    first = load_schema("install")["definitions"]
    for command in COMMANDS[1:]:
        for name in SHARED:
            assert load_schema(command)["definitions"][name] == first[name], (command, name)


@pytest.mark.parametrize("command", COMMANDS)
def test_catalog_examples_validate(command: str) -> None:
    request, response = EXAMPLES[command]
    assert check(command, "request", request) is None
    assert check(command, "response", response) is None
    # As `ajv validate -s api/cli-contracts/<command>.json` would: against the whole file.
    whole = Draft7Validator(load_schema(command))
    assert whole.is_valid(request) and whole.is_valid(response)


def test_consent_example_validates_with_a_real_digest() -> None:
    request = {**INSTALL_REQUEST, "lifecycleConsent": [
        {"scriptType": "postInstall", "digest": "sha256:" + "0" * 64,
         "consentedAt": "2026-01-11T10:00:00Z"}]}
    assert check("install", "request", request) is None


@pytest.mark.parametrize(("command", "change", "keyword"), [
    ("install", {"extra": 1}, "additionalProperties"),
    ("install", {"pluginId": "Example"}, "pattern"),
    ("install", {"version": "1.2"}, "pattern"),
    # Any string is a constraint to the schema, as in the original's; one that is no
    # range is the update's own ERR-UPDATE-002 (tests/cli/plugins/test_original_requests.py).
    ("update", {"versionConstraint": 1}, "type"),
    ("rollback", {"cachePreference": "whatever"}, "enum"),
    ("rollback", {"flagOverrides": {"enableRollback": "yes"}}, "type"),
])
def test_invalid_requests(command: str, change: dict[str, Any], keyword: str) -> None:
    request = {**EXAMPLES[command][0], **change}
    error = check(command, "request", request)
    assert error is not None and error.details["context"]["keyword"] == keyword


def test_error_response_requires_error_and_success_false() -> None:
    response = copy.deepcopy(ROLLBACK_RESPONSE)
    response["status"] = "error"
    assert check("rollback", "response", response) is not None
    response["success"] = False
    response["error"] = {"code": "ERROR-SCHEMA-001", "message": "m", "severity": "ERROR",
                         "category": "SCHEMA_VALIDATION",
                         "context": {"schemaPath": "#/properties/pluginId",
                                     "keyword": "required",
                                     "message": "must have required property 'pluginId'"},
                         "specReference": "FR-001, FR-002",
                         "resolution": "Validate JSON against api/cli-contracts/install.json"}
    assert check("rollback", "response", response) is None
    response["error"]["code"] = "E-1"
    assert check("rollback", "response", response) is not None


@pytest.mark.slow
def test_schemas_ship_in_the_built_package(tmp_path: Path) -> None:
    # Build a wheel from a copy of the checkout (tracked and new files, as git sees them).
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    source = tmp_path / "src"
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("conveyor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for command in COMMANDS:
            assert f"api/cli-contracts/{command}.json" in names
        assert "api/__init__.py" in names
        shipped = json.loads(archive.read("api/cli-contracts/install.json"))
    assert shipped == load_schema("install")
