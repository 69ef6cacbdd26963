"""The agent on real Redis and real worker processes: the flow, crashes, restarts."""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.oord import OordSettings
from domain.oord.agent import sender
from domain.oord.agent.common import now_ms
from store import jobs
from store import oord as state
from tests.support.oord import SAMPLE_FILES, make_tree, rewrite
from tests.support.workers import WorkerProcess
from tests.tasks.oord.conftest import row_in, wait_for

pytestmark = pytest.mark.integration

BIG_FILES = {**SAMPLE_FILES, "big/part.bin": bytes(range(256)) * 40_000}  # ~10 MB, 10 chunks


def _scan(client: Any, task: str) -> dict[str, Any]:
    job = client.submit(task, {})
    result: dict[str, Any] = client.wait(job, timeout_s=60)
    return result


def _deliver(settings: OordSettings, bundle: Path, name: str | None = None) -> Path:
    settings.incoming_dir.mkdir(parents=True, exist_ok=True)
    target = settings.incoming_dir / (name or bundle.name)
    shutil.copy(bundle, target)
    return target


def test_sender_to_receiver_through_workers(
        oord_worker: Callable[..., WorkerProcess], celery_client: Any,
        oord_settings: OordSettings) -> None:
    # Given a settled batch in the watch folder and a worker on the oord queue
    make_tree(oord_settings.watch_dir / "invoices", SAMPLE_FILES)
    oord_worker()
    # When the sender's scan runs, the batch is sealed into the outbox
    assert _scan(celery_client, "tasks.oord.scan_outgoing")["found"] == ["batch-invoices"]
    sealed = wait_for(row_in(state.SENDER, "batch-invoices", "sealed"), "the batch sealed")
    bundle = oord_settings.outbox_dir / sealed["bundle_name"]
    assert [p.name for p in oord_settings.outbox_dir.iterdir()] == [bundle.name]
    # And once it arrives at the receiver, it is verified and extracted
    _deliver(oord_settings, bundle)
    rewrite(bundle, oord_settings.incoming_dir / "tampered.zip", lambda e: [
        (i, d.replace(b"hello", b"HELLO") if i.filename == "files/a.txt" else d) for i, d in e])
    scan = _scan(celery_client, "tasks.oord.scan_incoming")
    assert sorted(scan["found"]) == sorted([bundle.name, "tampered.zip"])
    verified = wait_for(row_in(state.RECEIVER, bundle.name, "verified"), "verified")
    final = oord_settings.verified_root / "ORG-LOCAL" / "batch-invoices" / bundle.stem
    assert verified["verified_path"] == str(final)
    assert (final / "a.txt").read_bytes() == SAMPLE_FILES["a.txt"]
    # And the tampered copy ends in quarantine
    bad = wait_for(row_in(state.RECEIVER, "tampered.zip", "quarantined"), "quarantined")
    assert bad["last_exit_code"] == 1
    assert (oord_settings.quarantine_dir / "tampered.zip").exists()
    # One job per bundle: the good one succeeded, the quarantined one failed with exit 1
    def finished_verify_jobs() -> list[dict[str, Any]] | None:
        done = [j for j in jobs.list_jobs(kind="tasks.oord.verify_bundle")
                if j["status"] in ("succeeded", "failed")]
        return done if len(done) == 2 else None

    verify_jobs = wait_for(finished_verify_jobs, "the verify jobs' outcomes")
    assert sorted((j["status"], j["attempts"], j["last_exit_code"]) for j in verify_jobs) == \
        [("failed", 1, 1), ("succeeded", 1, 0)]


def test_a_worker_killed_mid_seal_leaves_no_bundle_and_the_batch_is_sealed_once(
        oord_worker: Callable[..., WorkerProcess], celery_client: Any,
        oord_settings: OordSettings, tmp_path: Path) -> None:
    make_tree(oord_settings.watch_dir / "large", BIG_FILES)
    pause = tmp_path / "pause"
    first = oord_worker(pause_dir=pause)
    _scan(celery_client, "tasks.oord.scan_outgoing")
    wait_for(lambda: (pause / "seal.reached").exists(), "the seal to start")

    # When the worker dies in the middle of writing the bundle
    first.kill(signal.SIGKILL)
    assert not list(oord_settings.outbox_dir.glob("*.zip"))
    assert state.get_row(state.SENDER, "batch-large")["state"] == "processing"  # type: ignore[index]

    # Then the redelivered job, on another worker, seals it once
    (pause / "seal.release").touch()
    second = oord_worker(pause_dir=pause)
    row = wait_for(row_in(state.SENDER, "batch-large", "sealed"), "the batch sealed")
    assert row["attempts"] == 2
    assert [p.name for p in oord_settings.outbox_dir.glob("*.zip")] == [row["bundle_name"]]
    seal_jobs = jobs.list_jobs(kind="tasks.oord.seal_batch")
    assert len(seal_jobs) == 1 and seal_jobs[0]["attempts"] == 2  # the same job, redelivered
    logs = first.log() + second.log()
    assert logs.count('"event": "seal_success"') == 1
    # And what the dead attempt left is cleaned up
    time.sleep(float(oord_settings.lease_s))
    assert sender.clean_outbox(oord_settings)
    assert [p.name for p in oord_settings.outbox_dir.iterdir()] == [row["bundle_name"]]


def test_a_worker_killed_mid_extraction_leaves_no_verified_output(
        oord_worker: Callable[..., WorkerProcess], celery_client: Any,
        oord_settings: OordSettings, tmp_path: Path) -> None:
    from domain.oord.keys import load_private_key
    from domain.oord.seal import SealRequest, seal
    from domain.oord.signers import LocalSigner

    result = seal(SealRequest(input_dir=make_tree(tmp_path / "src", BIG_FILES),
                              out_dir=oord_settings.incoming_dir, org_id="ACME",
                              batch_id="batch-9", tl_mode="none"),
                  signer=LocalSigner(load_private_key(oord_settings.signing_key)))
    name = result.bundle_path.name
    pause = tmp_path / "pause"
    first = oord_worker(pause_dir=pause)
    _scan(celery_client, "tasks.oord.scan_incoming")
    wait_for(lambda: (pause / "extract.reached").exists(), "the extraction to start")
    folder = oord_settings.verified_root / "ACME" / "batch-9"

    # When the worker dies while files are being extracted
    first.kill(signal.SIGKILL)
    assert (folder / f"{result.bundle_path.stem}.tmp").is_dir()  # hidden staging only
    assert not (folder / result.bundle_path.stem).exists()

    # Then the redelivered job extracts it completely, once
    (pause / "extract.release").touch()
    oord_worker(pause_dir=pause)
    row = wait_for(row_in(state.RECEIVER, name, "verified"), "the bundle verified")
    assert row["attempts"] == 2
    final = folder / result.bundle_path.stem
    extracted = {str(p.relative_to(final)) for p in final.rglob("*") if p.is_file()}
    assert extracted == set(BIG_FILES)
    assert (final / "big" / "part.bin").read_bytes() == BIG_FILES["big/part.bin"]
    assert sorted(p.name for p in folder.iterdir()) == [result.bundle_path.stem]


def test_the_backoff_schedule_survives_a_worker_restart(
        oord_worker: Callable[..., WorkerProcess], celery_client: Any,
        oord_settings: OordSettings, monkeypatch: pytest.MonkeyPatch,
        oord_env: dict[str, str]) -> None:
    # A shorter base than the contract's 0.5 s keeps the test fast; the rule is the same
    oord_env["OORD_AGENT_BACKOFF_BASE_S"] = "0.2"
    monkeypatch.setenv("OORD_AGENT_BACKOFF_BASE_S", "0.2")
    make_tree(oord_settings.watch_dir / "stuck", {"a": b"1"})
    oord_settings.outbox_dir.parent.mkdir(parents=True, exist_ok=True)
    oord_settings.outbox_dir.write_text("a file where the outbox folder should be")
    first = oord_worker()
    _scan(celery_client, "tasks.oord.scan_outgoing")

    # Given four failed attempts of the batch's one job (0.2, 0.4, 0.8, then 1.6 s)
    def fourth_retry() -> dict[str, Any] | None:
        row = state.get_row(state.SENDER, "batch-stuck")
        return row if row and row["state"] == "retry" and row["attempts"] == 4 else None

    row = wait_for(fourth_retry, "the fourth failed attempt")
    scheduled_at = row["next_retry_at_ms"]
    assert 1600 <= scheduled_at - row["updated_at_ms"] <= 1760 + 50
    assert row["last_exit_code"] == 2 and "output folder" in row["last_error"]
    job = wait_for(lambda: _job_in(row["claim_token"], "retrying", attempts=4), "the job row")
    assert job["last_exit_code"] == 2 and "output folder" in job["last_error"]
    assert abs(_ms(job["next_retry_at"]) - scheduled_at) <= 50  # one schedule, not two

    # When the worker is killed while the retry waits, and another starts
    first.kill(signal.SIGKILL)
    oord_worker()

    # Then the fifth attempt comes, not before its persisted time, counted as the fifth
    def fifth_attempt() -> dict[str, Any] | None:
        row = state.get_row(state.SENDER, "batch-stuck")
        return row if row and row["attempts"] == 5 and row["state"] == "retry" else None

    row = wait_for(fifth_attempt, "the fifth attempt", timeout_s=90)
    job = wait_for(lambda: _job_in(row["claim_token"], "retrying", attempts=5), "the job row")
    assert _ms(job["started_at"]) >= scheduled_at - 5  # (timestamps to the millisecond)
    assert 3200 <= row["next_retry_at_ms"] - row["updated_at_ms"] <= 3520 + 50

    # And once the environment is fixed, the same job's next attempt seals it
    oord_settings.outbox_dir.unlink()
    sealed = wait_for(row_in(state.SENDER, "batch-stuck", "sealed"), "sealed")
    assert sealed["attempts"] == 6 and sealed["last_exit_code"] == 0
    seal_jobs = jobs.list_jobs(kind="tasks.oord.seal_batch")
    assert [(j["status"], j["attempts"], j["last_exit_code"]) for j in seal_jobs] == \
        [("succeeded", 6, 0)]


def _job_in(job_id: str, status: str, *, attempts: int) -> dict[str, Any] | None:
    job = jobs.get_job(job_id)
    return job if job and job["status"] == status and job["attempts"] == attempts else None


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_the_scan_command_runs_the_scans_on_the_workers(
        oord_worker: Callable[..., WorkerProcess], oord_env: dict[str, str],
        oord_settings: OordSettings) -> None:
    from tests.support.cli import run_cli

    make_tree(oord_settings.watch_dir / "cli", {"a": b"1"})
    oord_worker()
    result = run_cli("oord", "agent", "scan", "--role", "sender", env=oord_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sender"]["found"] == ["batch-cli"]
    wait_for(row_in(state.SENDER, "batch-cli", "sealed"), "sealed")


def test_status_cli_shows_the_rows(oord_settings: OordSettings) -> None:
    from tests.support.cli import run_cli

    state.record_discovered(state.SENDER, {"batch_id": "batch-x", "name": "x",
                                           "source_path": "/w/x", "org_id": "ORG",
                                           "created_at_ms": 1}, now_ms=now_ms())
    status = json.loads(run_cli("oord", "agent", "status", "--json").stdout)
    batch = status["batches"][0]
    assert {"state", "attempts", "next_retry_at_ms", "last_exit_code", "last_error"} <= set(batch)
    assert (batch["batch_id"], batch["state"], batch["attempts"]) == ("batch-x", "pending", 0)
