"""Requests the original yellow-plugins schemas accept are accepted here too, with the
meaning they have there; changelogUrl reaches a response only as a URI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, registry
from tests.cli.plugins.original_schemas import problems
from tests.support.plugin_market import Market

INTENT = {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"}
CONSENT = {"scriptType": "postInstall", "digest": "sha256:" + "a" * 64,
           "consentedAt": "2026-01-11t10:00:00.123456789z"}
LONG_ID = "corr-" + "x" * 195  # 200 characters

INSTALL_REQUESTS = [
    {"pluginId": "example-plugin", "compatibilityIntent": INTENT,
     "flagOverrides": {"enableEverything": True, "enableRollback": False}},
    {"pluginId": "example-plugin", "compatibilityIntent": INTENT, "correlationId": LONG_ID},
    {"pluginId": "example-plugin", "version": "01.02.003",
     "compatibilityIntent": {**INTENT, "nodeVersion": "020.10.0"}},
    {"pluginId": "example-plugin", "compatibilityIntent": INTENT,
     "lifecycleConsent": [CONSENT] * 17,
     "telemetryContext": {"sessionId": "s" * 300, "gitCommit": "abc1234",
                          "tags": {"note": "t" * 2000}}},
]


@pytest.mark.parametrize("request_body", INSTALL_REQUESTS)
def test_install_requests_the_original_accepts(plugins: PluginsCli, plugin_dir: Path,
                                               request_body: dict[str, object]) -> None:
    assert problems("install", "request", request_body) == []  # valid for the original
    call = plugins("install", "--input", "-", stdin=json.dumps(request_body))
    assert call.code == 0, call.out
    assert registry(plugin_dir)["example-plugin"]["version"] in ("1.3.0", "1.2.3")
    if "correlationId" in request_body:
        assert call.response["correlationId"] == LONG_ID


def test_unknown_flags_are_ignored_with_a_warning(plugins: PluginsCli) -> None:
    call = plugins("install", "--input", "-", stdin=json.dumps(INSTALL_REQUESTS[0]))
    assert call.response["message"].endswith("(warnings: unknown flag enableEverything "
                                             "ignored)")
    assert "enableEverything" not in call.data["flagEvaluations"]["flags"]


def test_version_constraint_latest_is_the_newest_compatible(plugins: PluginsCli,
                                                            market: Market) -> None:
    market.add("incompatible-plugin", "1.5.0")  # 2.0.0 needs Node.js 22
    assert plugins("install", "incompatible-plugin", "--version", "1.0.0").code == 0
    body = {"pluginId": "incompatible-plugin", "versionConstraint": "latest",
            "compatibilityIntent": INTENT}
    assert problems("update", "request", body) == []
    call = plugins("update", "--input", "-", stdin=json.dumps(body))
    assert call.code == 0 and call.data["updated"] == [
        {"pluginId": "incompatible-plugin", "fromVersion": "1.0.0", "toVersion": "1.5.0",
         "installState": "active"}]
    again = plugins("update", "--input", "-", stdin=json.dumps(body))
    assert again.code == 1 and again.error_code == "ERROR-COMPAT-003"  # only 2.0.0 is newer


def test_a_constraint_that_is_no_range_is_a_usage_error(plugins: PluginsCli) -> None:
    plugins("install", "example-plugin")
    body = {"pluginId": "example-plugin", "versionConstraint": "not a range!",
            "compatibilityIntent": INTENT}
    assert problems("update", "request", body) == []
    call = plugins("update", "--input", "-", stdin=json.dumps(body))
    assert call.code == 2 and call.error_code == "ERR-UPDATE-002"


def test_rollback_request_with_leading_zeros(plugins: PluginsCli) -> None:
    for version in ("1.2.0", "1.3.0"):
        plugins("install", "example-plugin", "--version", version)
    body = {"pluginId": "example-plugin", "targetVersion": "1.2.00",
            "cachePreference": "cached-only", "flagOverrides": {"enableRollback": True},
            "confirmationToken": "t" * 500}
    assert problems("rollback", "request", body) == []
    call = plugins("rollback", "--input", "-", stdin=json.dumps(body))
    assert call.code == 0 and call.data["toVersion"] == "1.2.0"


def test_a_changelog_url_that_is_no_uri_is_dropped_with_a_warning(plugins: PluginsCli,
                                                                  market: Market) -> None:
    plugins("install", "example-plugin", "--version", "1.2.0")
    document = market.document()
    versions = document["plugins"][0]["versions"]
    versions[-1]["changelogUrl"] = "see the CHANGELOG file"
    versions[-2]["changelogUrl"] = "https://example.com/changes#1.2.3"
    (market.root / "marketplace.json").write_text(json.dumps(document))
    call = plugins("update", "example-plugin", "--check-only")
    assert call.data["availableUpdates"] == [{"pluginId": "example-plugin",
                                              "currentVersion": "1.2.0",
                                              "latestVersion": "1.3.0"}]
    assert "changelogUrl is not an absolute URI; dropped" in call.response["message"]
    call = plugins("update", "example-plugin", "--check-only", "--version-constraint", "~1.2.1")
    assert call.data["availableUpdates"][0]["changelogUrl"] == \
        "https://example.com/changes#1.2.3"
