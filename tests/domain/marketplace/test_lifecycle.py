"""Lifecycle scripts: digests, consent, timeout of the whole process group, environment."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.marketplace import lifecycle

ENV = {"PATH": os.environ["PATH"]}


def plugin(tmp_path: Path, body: str, name: str = "scripts/run.sh") -> Path:
    root = tmp_path / "plugin"
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    (root / name).write_text(f"#!/bin/sh\n{body}\n")
    return root


def test_collect_digests_the_exact_bytes(tmp_path: Path) -> None:
    root = plugin(tmp_path, "echo hi")
    [script] = lifecycle.collect({"install": "scripts/run.sh"}, root, ["install", "postInstall"])
    assert script.digest == lifecycle.digest_of(root / "scripts" / "run.sh")
    assert script.digest.startswith("sha256:") and len(script.digest) == 71


def test_consent_matches_type_and_digest(tmp_path: Path) -> None:
    root = plugin(tmp_path, "echo hi")
    scripts = lifecycle.collect({"install": "scripts/run.sh"}, root, ["install"])
    digest = scripts[0].digest
    assert lifecycle.missing_consent(scripts, [{"scriptType": "install",
                                                "digest": digest.upper().replace("SHA256",
                                                                                 "sha256")}]) == []
    assert lifecycle.missing_consent(scripts, [{"scriptType": "postInstall",
                                                "digest": digest}]) == scripts


def test_script_outside_the_plugin_is_refused(tmp_path: Path) -> None:
    root = plugin(tmp_path, "echo hi")
    (root / "scripts" / "link.sh").symlink_to("/bin/true")
    with pytest.raises(ContractError) as caught:
        lifecycle.collect({"install": "scripts/link.sh"}, root, ["install"])
    assert caught.value.code == "ERROR-SCHEMA-004"


def test_run_reports_exit_code_and_duration(tmp_path: Path) -> None:
    root = plugin(tmp_path, 'echo "$YELLOW_X $SECRET" > out.txt')
    [script] = lifecycle.collect({"install": "scripts/run.sh"}, root, ["install"])
    run = lifecycle.run(script, root, env={**ENV, "YELLOW_X": "x"}, timeout_s=10)
    assert (run.exit_code, run.digest) == (0, script.digest) and run.duration_ms >= 0
    assert (root / "out.txt").read_text() == "x \n"  # only the environment given


def test_failure_carries_the_output(tmp_path: Path) -> None:
    root = plugin(tmp_path, "echo broken >&2; exit 7")
    [script] = lifecycle.collect({"install": "scripts/run.sh"}, root, ["install"])
    with pytest.raises(ContractError) as caught:
        lifecycle.run(script, root, env=ENV, timeout_s=10)
    assert caught.value.code == "ERROR-INST-006"
    assert caught.value.details["context"]["exitCode"] == 7
    assert "broken" in caught.value.details["context"]["outputTail"]


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    # The script starts a grandchild (not holding our pipe) that would outlive a kill of
    # the script alone.
    root = plugin(tmp_path, "sleep 30 >/dev/null 2>&1 & echo $! > child.pid; wait")
    [script] = lifecycle.collect({"install": "scripts/run.sh"}, root, ["install"])
    with pytest.raises(ContractError) as caught:
        lifecycle.run(script, root, env=ENV, timeout_s=0.5)
    assert caught.value.code == "ERROR-INST-007"
    child = int((root / "child.pid").read_text())
    for _ in range(100):  # SIGKILL is delivered asynchronously
        if not alive(child):
            break
        time.sleep(0.01)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the grandchild survived the timeout")


def alive(pid: int) -> bool:
    """Running, not a zombie (a killed orphan waits for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_script_changed_after_consent_is_refused(tmp_path: Path) -> None:
    root = plugin(tmp_path, "echo hi")
    [script] = lifecycle.collect({"install": "scripts/run.sh"}, root, ["install"])
    (root / "scripts" / "run.sh").write_text("#!/bin/sh\nrm -rf ~\n")
    with pytest.raises(ContractError) as caught:
        lifecycle.run(script, root, env=ENV, timeout_s=10)
    assert caught.value.code == "ERROR-PERM-001"
