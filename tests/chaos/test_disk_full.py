"""A disk that fills up while a command writes: chirality artifacts, oord extraction, synora
moves and plugin staging each on a small, nearly full tmpfs. Every command fails cleanly,
in its contract's format, leaves no partial output and its state intact, and succeeds once
space is freed."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from store import jobs
from tests.support.cli import run_cli
from tests.support.tmpfs import small_tmpfs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOM_BYTES = 32 * 1024
"""What a filled tmpfs keeps free: enough to begin writing, too little to finish."""


@dataclass
class Tally:
    scenarios: list[str] = field(default_factory=list)
    clean_failures: int = 0
    partial_outputs: int = 0
    recoveries: int = 0

    def record(self, name: str, *, clean: bool, left_behind: list[Path],
               recovered: bool) -> None:
        self.scenarios.append(name)
        self.clean_failures += clean
        self.partial_outputs += bool(left_behind)
        self.recoveries += recovered


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    counts = Tally()
    yield counts
    print(f"\ndisk full: {len(counts.scenarios)} scenarios ({', '.join(counts.scenarios)}), "
          f"{counts.clean_failures} clean failures, {counts.partial_outputs} partial outputs, "
          f"{counts.recoveries} recoveries")


@pytest.fixture
def env(conveyor_home: Path) -> dict[str, str]:
    """The environment of the commands: embedded mode, nothing from outside."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("CHIRALITY_", "OPENAI_"))}


def no_crash(conveyor_home: Path, result: subprocess.CompletedProcess[str]) -> bool:
    """Neither a traceback for the user nor an unexpected error in the CLI log."""
    log = conveyor_home / "logs" / "cli.log"
    crashed = log.exists() and "unexpected error" in log.read_text()
    return "Traceback" not in result.stderr + result.stdout and not crashed


def sha256_tree(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def random_text(size: int) -> str:
    """Hex of random bytes: gzip gets it to about half its size, never much below."""
    return secrets.token_hex(size // 2)


# ---- chirality: artifact writing -----------------------------------------------------------

def test_chirality_run_on_a_full_disk(tmp_path: Path, conveyor_home: Path, env: dict[str, str],
                                      tally: Tally) -> None:
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps({"title": "Disk", "statement": "Fill it up."}))

    def compute(run_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_cli("chirality", "compute-pipeline", "--resolver", "echo", "--out",
                       f"runs/{run_id}", "--problem-file", str(problem), "--max-seconds", "60",
                       *extra, env=env, cwd=disk.root)

    def io_error(result: subprocess.CompletedProcess[str], run_id: str) -> None:
        assert (result.returncode, result.stdout) == (4, ""), result.stderr
        [line] = result.stderr.splitlines()  # the one JSON error line is all of stderr
        error = json.loads(line)["error"]
        assert (error["code"], error["details"]["errno"]) == ("IO_ERROR", 28), error
        assert error["details"]["path"].startswith(str(disk.root / "runs" / run_id)), error

    # An echo run writes about 880 KB: with 64 KiB free the first snapshots fit, not all.
    with small_tmpfs(tmp_path / "runs-root", size_kib=3072) as disk:
        assert compute("earlier").returncode == 0
        earlier = disk.root / "runs" / "earlier"
        earlier_files = sha256_tree(earlier)
        disk.fill(leave_bytes=ROOM_BYTES * 2)
        fresh, forced = compute("fresh"), compute("earlier", "--force")
        io_error(fresh, "fresh")
        io_error(forced, "earlier")
        # No manifest for the new run, nothing half-written; the earlier run as it was.
        assert not (disk.root / "runs" / "fresh" / "index.json").exists()
        invalid = run_cli("chirality", "validate-run", str(disk.root / "runs" / "fresh"),
                          env=env)
        assert invalid.returncode == 1 and "RUN_INVALID" in invalid.stderr, invalid.stderr
        assert sha256_tree(earlier) == earlier_files
        assert run_cli("chirality", "validate-run", str(earlier), "--strict",
                       env=env).returncode == 0
        left = [p for p in disk.files() if p.name.endswith(".tmp")]
        failed_jobs = [(job["status"], job["last_exit_code"]) for job in jobs.list_jobs()
                       if job["status"] != "succeeded"]
        assert failed_jobs == [("failed", 4)] * 2, failed_jobs
        clean = no_crash(conveyor_home, fresh) and no_crash(conveyor_home, forced)
        assert clean and left == [], left

        disk.free()
        again = compute("fresh")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == {"run_id": "fresh",
                                            "manifest": "runs/fresh/index.json"}
        valid = run_cli("chirality", "validate-run", str(disk.root / "runs" / "fresh"),
                        "--strict", env=env)
        assert valid.returncode == 0, valid.stderr
    tally.record("chirality", clean=clean, left_behind=left, recovered=True)


# ---- oord: the receiver's extraction ----------------------------------------------------------

def _receive(name: str, settings: Any) -> dict[str, Any]:
    """One attempt of the bundle's job: every attempt of a job claims with its id."""
    from domain.oord.agent import receiver

    return receiver.verify_incoming(name, settings=settings, token="drill-job",
                                    worker="drill", backoff=lambda attempts: 0.0)


def test_oord_extraction_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture, tally: Tally) -> None:
    from config.oord import get_oord_settings
    from domain.oord.agent import receiver, sender
    from store import oord as state
    from tests.support.oord import SAMPLE_FILES, make_keys, make_tree

    payload = {**SAMPLE_FILES, "data/big.txt": random_text(256 * 1024).encode()}
    with small_tmpfs(tmp_path / "verified", size_kib=1024) as disk:
        for name, value in {"OORD_STATE_DIR": str(tmp_path / "oord"),
                            "OORD_VERIFIED_ROOT": str(disk.root),
                            "OORD_SETTLE_SECONDS": "0",
                            **make_keys(tmp_path / "keys").env()}.items():
            monkeypatch.setenv(name, value)
        settings = get_oord_settings()
        # Given a sealed bundle of a 256 KiB payload in the receiver's incoming folder ...
        make_tree(settings.watch_dir / "big", payload)
        sender.discover_batches(settings)
        sealed = sender.seal_batch("batch-big", settings=settings, token="seal", worker="drill",
                                   backoff=lambda attempts: 0.0)
        assert sealed["state"] == "sealed", sealed
        bundle = Path(sealed["bundle"])
        settings.incoming_dir.mkdir(parents=True, exist_ok=True)
        incoming = settings.incoming_dir / bundle.name
        os.replace(bundle, incoming)
        [name] = receiver.discover_bundles(settings)

        # ... when it is extracted onto a disk with 32 KiB free, it is retried (exit 2),
        # stays where it is, and nothing extracted is left behind.
        disk.fill(leave_bytes=ROOM_BYTES)
        outcome = _receive(name, settings)
        row = state.get_row(state.RECEIVER, name)
        assert row is not None
        assert (outcome["state"], row["state"], row["last_exit_code"]) == ("retry", "retry", 2)
        assert "No space left on device" in row["last_error"], row["last_error"]
        assert incoming.is_file()
        left = disk.files()
        # An environment failure, as the contract's exit 2 says: not logged as a crash.
        crashed = [r for r in caplog.records if r.getMessage() == "verify crashed"]
        clean = row["verified_path"] is None and not crashed
        assert clean and left == [], left

        # Once there is room, the next attempt extracts it whole.
        disk.free()
        assert _receive(name, settings)["state"] == "verified"
        row = state.get_row(state.RECEIVER, name)
        assert row is not None and row["state"] == "verified"
        extracted = Path(row["verified_path"])
        assert sha256_tree(extracted) == {rel: hashlib.sha256(data).hexdigest()
                                          for rel, data in payload.items()}
    tally.record("oord", clean=clean, left_behind=left, recovered=True)


# ---- synora: moving a package into quarantine across filesystems ----------------------------

def test_synora_quarantine_onto_a_full_disk(tmp_path: Path, conveyor_home: Path,
                                            env: dict[str, str], tally: Tally) -> None:
    from tests.support.synora import Synora, make_tree, snapshot

    home = tmp_path / "synora-home"
    synora = Synora(home, {**env, "SYNORA_HOME": str(home)})
    files = {f"lib/part{index}.bin": random_text(16 * 1024).encode() for index in range(8)}
    package = make_tree(tmp_path / "apps" / "tool", {**files, "bin/tool": b"#!/bin/sh\n"})
    before = snapshot(package)
    synora.add("tool", package)
    registry_before = synora.package("tool")
    # The quarantine folder is a tmpfs, the package is on the disk of tmp_path: every file
    # moves by copy, fsync and delete. Two of the 16 KiB files fit, the third does not.
    with small_tmpfs(home / "quarantine", size_kib=512) as disk:
        disk.fill(leave_bytes=ROOM_BYTES + 8 * 1024)
        code, out = synora.json("cleanup", "quarantine", "--id", "tool", "--confirm")
        assert code == 4, out
        assert (out["status"], out["mutation_boundary_reached"], out["rollback_attempted"],
                out["rollback_status"]) == ("quarantine_rollback_success", True, True,
                                            "success"), out
        assert "No space left on device" in out["message"], out
        assert snapshot(package) == before  # every byte and mode back in place
        assert synora.package("tool") == registry_before
        statuses = [row.status for row in synora.history(out["operation_id"])]
        assert statuses == ["quarantine_confirmed", "quarantine_failed",
                            "quarantine_rollback_success"], statuses
        left = disk.files()
        assert left == [], left
        clean = no_crash(conveyor_home, synora.run("package", "show", "--id", "tool"))

        disk.free()
        code, out = synora.json("cleanup", "quarantine", "--id", "tool", "--confirm")
        assert (code, out["status"]) == (0, "quarantine_success"), out
        assert not package.exists()
        moved = disk.root / out["operation_id"]
        assert sha256_tree(moved) == {rel: hashlib.sha256(data).hexdigest()
                                      for rel, (kind, _, data) in before.items()
                                      if kind == "file" and data is not None}
    tally.record("synora", clean=clean, left_behind=left, recovered=True)


# ---- plugins: staging a version bigger than the free space ----------------------------------

def test_plugin_staging_on_a_full_disk(tmp_path: Path, conveyor_home: Path,
                                       env: dict[str, str], tally: Tally) -> None:
    from tests.support.plugin_market import Market

    market = Market(tmp_path / "market")
    market.add("big-plugin", "1.0.0")
    market.add("big-plugin", "2.0.0", files={"assets/blob.txt": random_text(256 * 1024)})
    project = tmp_path / "project"
    project.mkdir()
    plugins_env = {**env, "YELLOW_PLUGINS_MARKETPLACE": str(market.root)}

    def install(version: str) -> tuple[int, dict[str, Any], subprocess.CompletedProcess[str]]:
        result = run_cli("plugins", "install", "big-plugin", "--version", version,
                         "--plugin-dir", str(disk.root), "--node-version", "20.10.0",
                         env=plugins_env, cwd=project)
        return result.returncode, json.loads(result.stdout), result

    with small_tmpfs(project / ".claude-plugin", size_kib=1024) as disk:
        code, response, _ = install("1.0.0")
        assert code == 0, response
        registry_before = (disk.root / "registry.json").read_bytes()
        link = disk.root / "plugins" / "big-plugin"
        active_before = os.readlink(link)

        # When 2.0.0 (an archive of about 150 KiB) is staged with 32 KiB free ...
        disk.fill(leave_bytes=ROOM_BYTES)
        code, response, result = install("2.0.0")
        assert code == 1, response
        assert (response["status"], response["error"]["code"]) == ("error", "ERROR-INST-004")
        assert "No space left on device" in response["error"]["message"], response
        # ... the registry, the active version and the cache are as they were.
        assert (disk.root / "registry.json").read_bytes() == registry_before
        assert os.readlink(link) == active_before
        left = [p for p in disk.files() if p.is_relative_to(disk.root / "tmp")
                or p.is_relative_to(disk.root / "cache" / "big-plugin" / "2.0.0")]
        clean = no_crash(conveyor_home, result)
        assert clean and left == [], left

        disk.free()
        code, response, _ = install("2.0.0")
        assert code == 0, response
        assert json.loads((disk.root / "registry.json").read_text())["plugins"]["big-plugin"][
            "version"] == "2.0.0"
        assert os.readlink(link) == "../cache/big-plugin/2.0.0"
    tally.record("plugins", clean=clean, left_behind=left, recovered=True)
