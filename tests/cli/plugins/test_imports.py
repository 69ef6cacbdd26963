"""The plugins CLI runs in its own process: no Celery on its paths, jsonschema only when used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.plugins.conftest import assert_response
from tests.support.env import ROOT

PROBE = """
import json, sys
from cli.plugins import invoke_plugins
HEAVY = ("jsonschema", "celery", "kombu", "sqlalchemy", "http.client")
before = {name for name in HEAVY if name in sys.modules}
code = invoke_plugins(sys.argv[1:])
after = {name for name in HEAVY if name in sys.modules}
print(json.dumps({"code": code, "before": sorted(before), "after": sorted(after)}),
      file=sys.stderr)
"""


def test_a_whole_install_imports_no_celery(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, "install", "example-plugin",
                           "--node-version", "20.10.0"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    assert probe["code"] == 0, done.stdout
    assert_response("install", json.loads(done.stdout), probe["code"])
    assert probe["before"] == []  # importing the CLI costs neither jsonschema nor Celery
    # validation needs jsonschema; a local marketplace needs no HTTP client
    assert probe["after"] == ["jsonschema"]
