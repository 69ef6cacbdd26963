"""Every usage example of plugin-marketplace.md, run as written (`pnpm cli` is `plugins`)
through the installed console script, with the machine's real compatibility intent in
interactive mode; every response is checked against its schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.plugin_schema import check
from tests.cli.plugins.conftest import active_target, assert_response, command_of
from tests.support.env import skip_or_fail
from tests.support.plugin_market import Market

BIN = Path(sys.executable).parent

INSTALL_REQUEST = {
    "pluginId": "example-plugin", "version": "1.2.3", "force": False, "dryRun": False,
    "correlationId": "req-install-20260111-001",
    "compatibilityIntent": {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64",
                            "claudeVersion": "2.5.0"},
    "telemetryContext": {"sessionId": "sess-12345", "gitCommit": "abc123def",
                         "tags": {"environment": "ci", "pipeline": "deploy"}},
}
UPDATE_REQUEST = {
    "all": True, "checkOnly": False, "dryRun": False,
    "correlationId": "req-update-20260111-002",
    "compatibilityIntent": {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"},
}
ROLLBACK_REQUEST = {
    "pluginId": "example-plugin", "targetVersion": "1.2.0", "cachePreference": "cached-only",
    "confirmationToken": "user-confirmed-20260111", "dryRun": False,
    "correlationId": "req-rollback-20260111-003", "flagOverrides": {"enableRollback": True},
}


class Shell:
    """Runs catalog command lines with bash in the project folder, `plugins` on PATH."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=self.project,
                              env=self.env, capture_output=True, text=True, timeout=120)

    def __call__(self, line: str, *, result_file: str | None = None) -> dict[str, Any]:
        """Run one example; return its response (stdout or the --output file), validated."""
        done = self.run(line)
        text = (self.project / result_file).read_text() if result_file else done.stdout
        response: dict[str, Any] = json.loads(text)
        args = tuple(line.split("plugins ", 1)[1].split())
        assert_response(command_of(args), response, done.returncode)
        assert "Traceback" not in done.stderr
        return response

    def write(self, name: str, payload: dict[str, Any]) -> None:
        (self.project / name).write_text(json.dumps(payload, indent=2))


@pytest.fixture
def shell(project: Path, market: Market) -> Shell:
    return Shell(project)


def test_install_interactive_examples(shell: Shell, plugin_dir: Path) -> None:
    # pnpm cli install example-plugin
    latest = shell("plugins install example-plugin")
    assert latest["status"] == "success" and latest["data"]["version"] == "1.3.0"
    # pnpm cli install example-plugin --version 1.2.3
    pinned = shell("plugins install example-plugin --version 1.2.3")
    assert pinned["message"] == "Successfully installed example-plugin@1.2.3 (was 1.3.0)"
    # pnpm cli install example-plugin --force
    forced = shell("plugins install example-plugin --force")
    assert forced["status"] == "success" and forced["telemetry"]["cacheStatus"] == "miss"
    # pnpm cli install example-plugin --dry-run
    dry = shell("plugins install example-plugin --dry-run")
    assert dry["status"] == "dry-run" and dry["telemetry"]["registryMutations"] == 0
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.3.0"


def test_install_automated_examples(shell: Shell, project: Path) -> None:
    shell.write("install-request.json", INSTALL_REQUEST)
    # pnpm cli install --input install-request.json --output install-result.json
    result = shell("plugins install --input install-request.json --output "
                   "install-result.json", result_file="install-result.json")
    assert result["message"] == "Successfully installed example-plugin@1.2.3"
    assert result["correlationId"] == "req-install-20260111-001"
    assert result["data"]["registryDelta"] == {"added": ["example-plugin"], "modified": []}
    assert set(result) == {"success", "status", "message", "transactionId", "correlationId",
                           "timestamp", "cliVersion", "data", "telemetry"}
    # cat install-request.json | pnpm cli install --input - --output -
    again = shell("cat install-request.json | plugins install --input - --output -")
    assert again["status"] == "success" and again["correlationId"] == "req-install-20260111-001"
    # cat request.json | pnpm cli install --input - --dry-run --output result.json
    shell.write("request.json", {**INSTALL_REQUEST, "version": "1.3.0"})
    dry = shell("cat request.json | plugins install --input - --dry-run --output result.json",
                result_file="result.json")
    assert dry["status"] == "dry-run" and dry["transactionId"].startswith("txn-dry-")


def test_update_examples(shell: Shell, project: Path) -> None:
    for plugin_id, version in (("example-plugin", "1.2.3"), ("another-plugin", "2.0.0"),
                               ("stable-plugin", "1.0.0")):
        shell(f"plugins install {plugin_id} --version {version}")
    # pnpm cli update --all --check-only
    check_only = shell("plugins update --all --check-only")
    assert {u["pluginId"] for u in check_only["data"]["availableUpdates"]} == {
        "example-plugin", "another-plugin"}
    # pnpm cli update example-plugin
    one = shell("plugins update example-plugin")
    assert one["data"]["updated"][0]["toVersion"] == "1.3.0"
    # pnpm cli update --all
    every = shell("plugins update --all")
    assert every["data"]["updated"][0]["pluginId"] == "another-plugin"
    assert set(every["data"]["upToDate"]) == {"example-plugin", "stable-plugin"}
    # automated: update-request.json
    shell.write("update-request.json", UPDATE_REQUEST)
    automated = shell("plugins update --input update-request.json --output out.json",
                      result_file="out.json")
    assert automated["correlationId"] == "req-update-20260111-002"
    assert automated["status"] == "success" and len(automated["data"]["upToDate"]) == 3


def test_rollback_examples(shell: Shell, plugin_dir: Path) -> None:
    plugin_dir.mkdir()
    (plugin_dir / "flags.json").write_text('{"enableRollback": true}')
    for version in ("1.0.0", "1.2.0", "1.3.0"):
        shell(f"plugins install example-plugin --version {version}")
    # pnpm cli rollback example-plugin
    previous = shell("plugins rollback example-plugin")
    assert (previous["data"]["fromVersion"], previous["data"]["toVersion"]) == ("1.3.0",
                                                                                "1.2.0")
    # pnpm cli rollback example-plugin --version 1.0.0
    named = shell("plugins rollback example-plugin --version 1.0.0")
    assert named["data"]["toVersion"] == "1.0.0" and named["data"]["cacheSource"] == "cached"
    # pnpm cli rollback example-plugin --list-targets
    listed = shell("plugins rollback example-plugin --list-targets")
    assert {t["version"] for t in listed["data"]["availableTargets"]} == {"1.2.0", "1.3.0"}
    # automated: rollback-request.json (the flag comes from the override here)
    shell.write("rollback-request.json", ROLLBACK_REQUEST)
    automated = shell("plugins rollback --input rollback-request.json")
    assert automated["message"] == "Successfully rolled back example-plugin from 1.0.0 to 1.2.0"
    assert automated["data"]["flagEvaluations"]["source"] == "override"
    assert automated["data"]["checkpointId"].startswith("ckpt-")
    assert automated["telemetry"]["cacheStatus"] == "hit"


# The catalog's script, with `pnpm cli` as `plugins` and uuidgen (not on every machine) as
# Python's uuid; the ajv steps are the schema checks of the test.
CI_SCRIPT = r"""
PLUGIN_ID="example-plugin"
VERSION="latest"
CORRELATION_ID="$(python -c 'import uuid; print(uuid.uuid4())')"
cat > install-request.json <<EOF
{
  "pluginId": "${PLUGIN_ID}",
  "version": "${VERSION}",
  "correlationId": "${CORRELATION_ID}",
  "compatibilityIntent": {
    "nodeVersion": "$(node -v | sed 's/v//')",
    "os": "$(uname -s | tr '[:upper:]' '[:lower:]')",
    "arch": "$(uname -m)"
  }
}
EOF
plugins install --input install-request.json --output install-result.json
if jq -e '.success == true' install-result.json >/dev/null; then
  echo "Installation successful"
  jq -r '.message' install-result.json
  exit 0
else
  echo "Installation failed"
  jq -r '.error.message' install-result.json
  exit 1
fi
"""


def test_shell_automation_example(shell: Shell, project: Path) -> None:
    # The catalog's install-plugin.sh: node -v, uname -s and uname -m spell the intent.
    for tool in ("jq", "node"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed")
    done = shell.run(CI_SCRIPT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["Installation successful",
                                        "Successfully installed example-plugin@1.3.0"]
    request = json.loads((project / "install-request.json").read_text())
    assert check("install", "request", request) is None
    result = json.loads((project / "install-result.json").read_text())
    assert_response("install", result, done.returncode)
    assert result["success"] is True and result["correlationId"] == request["correlationId"]


def test_github_actions_request(shell: Shell) -> None:
    request = {"pluginId": "example-plugin", "version": "latest",
               "correlationId": "7712345-42",
               "compatibilityIntent": {"nodeVersion": "20.11.1", "os": "linux", "arch": "x64"},
               "telemetryContext": {"sessionId": "7712345", "gitCommit": "9f1c2e7",
                                    "tags": {"environment": "ci", "workflow": "Install Plugin"}}}
    shell.write("install-request.json", request)
    result = shell("plugins install --input install-request.json --output install-result.json",
                   result_file="install-result.json")
    assert result["data"]["version"] == "1.3.0" and result["correlationId"] == "7712345-42"
