"""Every outcome of `plugins` is the BaseResponse envelope: usage errors, bad input, crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli

INTENT = {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"}


@pytest.mark.parametrize("args", [
    ["nosuch"], ["install", "--bogus"], ["install"], ["rollback"],
    ["install", "example-plugin", "--version"], ["rollback", "x", "--cache-preference", "maybe"],
    ["install", "example-plugin", "--flag", "enableRollback"],
    ["install", "example-plugin", "--flag", "enableRollback=perhaps"],
])
def test_usage_errors_are_envelopes_with_exit_2(plugins: PluginsCli, args: list[str]) -> None:
    call = plugins(*args)
    assert call.code == 2
    assert call.response["success"] is False and call.response["status"] == "error"
    assert call.error_code == "ERROR-SCHEMA-002"
    assert call.response["error"]["category"] == "USAGE"
    assert call.response["correlationId"].startswith("corr-")
    assert "Traceback" not in call.out + call.err


def test_bare_plugins_prints_its_help(plugins: PluginsCli) -> None:
    call = plugins()
    assert call.code == 0 and call.out.startswith("Usage: plugins") and call.err == ""


def test_help_is_plain_text(plugins: PluginsCli) -> None:
    call = plugins("install", "--help")
    assert call.code == 0 and "--marketplace" in call.out


def test_output_file_receives_the_response(plugins: PluginsCli, project: Path) -> None:
    call = plugins("install", "example-plugin", "--output", "result.json")
    assert call.code == 0 and call.out == ""
    assert json.loads((project / "result.json").read_text())["status"] == "success"
    dash = plugins("install", "example-plugin", "--output", "-")
    assert json.loads(dash.out)["status"] == "success"


def test_usage_error_goes_to_output_file_too(plugins: PluginsCli, project: Path) -> None:
    call = plugins("install", "--bogus", "--output", "err.json")
    assert call.code == 2 and call.out == ""
    assert json.loads((project / "err.json").read_text())["error"]["code"] == "ERROR-SCHEMA-002"


def test_unwritable_output_is_refused_before_any_work(plugins: PluginsCli,
                                                      plugin_dir: Path) -> None:
    call = plugins("install", "example-plugin", "--output", "no/such/folder/out.json")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002"
    assert not plugin_dir.exists()


def test_input_from_file_and_stdin(plugins: PluginsCli, project: Path) -> None:
    request = {"pluginId": "example-plugin", "version": "1.2.3", "correlationId": "req-42",
               "compatibilityIntent": INTENT}
    (project / "request.json").write_text(json.dumps(request))
    from_file = plugins("install", "--input", "request.json")
    assert from_file.response["correlationId"] == "req-42"
    assert from_file.data["version"] == "1.2.3"
    from_stdin = plugins("install", "--input", "-", "--dry-run",
                         stdin=json.dumps({**request, "version": "1.3.0"}))
    assert from_stdin.response["status"] == "dry-run"


@pytest.mark.parametrize(("stdin", "code", "keyword"), [
    ("not json", "ERROR-SCHEMA-003", None),
    ("[1, 2]", "ERROR-SCHEMA-001", "type"),
    (json.dumps({"pluginId": "example-plugin"}), "ERROR-SCHEMA-001", "required"),
    (json.dumps({"pluginId": "Bad_Id", "compatibilityIntent": INTENT}), "ERROR-SCHEMA-001",
     "pattern"),
    (json.dumps({"pluginId": "ok", "compatibilityIntent": INTENT, "sudo": True}),
     "ERROR-SCHEMA-001", "additionalProperties"),
    (json.dumps({"pluginId": "ok", "compatibilityIntent": {**INTENT, "os": "beos"}}),
     "ERROR-SCHEMA-001", "enum"),
    (json.dumps({"pluginId": "ok", "compatibilityIntent": INTENT,
                 "flagOverrides": {"enableEverything": "yes"}}),
     "ERROR-SCHEMA-001", "type"),
])
def test_bad_requests_are_refused_before_any_work(plugins: PluginsCli, plugin_dir: Path,
                                                  stdin: str, code: str,
                                                  keyword: str | None) -> None:
    call = plugins("install", "--input", "-", stdin=stdin)
    assert call.code == 2 and call.error_code == code
    if keyword:
        context = call.response["error"]["context"]
        assert context["keyword"] == keyword
        assert context["schemaPath"].startswith("#/definitions/")
        assert context["message"]
        assert call.response["message"] == "Invalid request payload"
    assert not plugin_dir.exists()


def test_schema_error_context_names_the_rule(plugins: PluginsCli) -> None:
    call = plugins("install", "--input", "-", stdin=json.dumps(
        {"pluginId": "ok", "correlationId": "req-bad", "compatibilityIntent": INTENT,
         "extra": 1}))
    assert call.response["correlationId"] == "req-bad"
    assert call.response["error"]["context"] == {
        "schemaPath": "#/definitions/request/additionalProperties",
        "keyword": "additionalProperties", "message": "must NOT have additional properties",
        "instancePath": "", "errorCount": 1, "additionalProperties": ["extra"]}
    assert call.response["error"]["resolution"] == \
        "Validate JSON against api/cli-contracts/install.json"


def test_missing_input_file(plugins: PluginsCli) -> None:
    call = plugins("install", "--input", "nope.json")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-003"


def test_input_carries_the_whole_request(plugins: PluginsCli) -> None:
    call = plugins("install", "example-plugin", "--input", "-", stdin="{}")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002"
    assert "PLUGIN_ID" in call.response["message"]
    update = plugins("update", "--all", "--check-only", "--input", "-", stdin="{}")
    assert update.code == 2 and "drop --all, --check-only" in update.response["message"]


def test_bad_setting_is_a_usage_error(plugins: PluginsCli,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_NET_RETRIES", "many")
    call = plugins("install", "example-plugin")
    assert call.code == 2 and "YELLOW_PLUGINS_NET_RETRIES" in call.response["message"]


def test_unexpected_errors_are_internal_envelopes(plugins: PluginsCli,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  conveyor_home: Path) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("token=abc leaked")

    monkeypatch.setattr("domain.marketplace.install.install", boom)
    call = plugins("install", "example-plugin")
    assert call.code == 1 and call.error_code == "ERR-INSTALL-099"
    assert "token=abc" not in call.out and "Traceback" not in call.out
    log = Path(call.response["message"].split("details in ", 1)[1])
    assert log.parent == conveyor_home / "logs"
    assert "RuntimeError" in log.read_text()
