"""The oord console script: contract exit codes and outputs, bad input included."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.oord.conftest import Oord, error_of
from tests.support.oord import SAMPLE_FILES, core_server, flip_byte_in_file, make_tree, rewrite
from workers.ports import free_port

# ---- seal and verify round trip ---------------------------------------------------------

def test_seal_then_verify_round_trip(oord: Oord, tmp_path: Path, conveyor_home: Path) -> None:
    init = oord("keys", "init")
    assert init.returncode == 0
    key_file = Path(json.loads(init.stdout)["signing_key"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    source = make_tree(tmp_path / "payroll", SAMPLE_FILES)
    sealed = oord("seal", "--input-dir", str(source), "--out", str(tmp_path / "out"),
                  "--org-id", "ACME", "--tl-mode", "required")
    assert sealed.returncode == 0, sealed.stderr
    result = json.loads(sealed.stdout)
    assert {"bundle_path", "bundle_id", "merkle_root"} <= set(result)
    assert (result["org_id"], result["batch_id"], result["files"]) == ("ACME", "payroll", 4)
    bundle = Path(result["bundle_path"])
    assert bundle.name == f"oord_bundle_{result['merkle_root'][11:27]}_{result['bundle_id']}.zip"

    text = oord("verify", str(bundle))
    assert text.returncode == 0 and text.stdout.strip().endswith("(exit 0)")
    report = json.loads(oord("verify", str(bundle), "--json").stdout)
    assert report["ok"] is True and report["exit_code"] == 0
    assert report["bundle_id"] == result["bundle_id"]
    assert [c["name"] for c in report["checks"]] == [
        "archive", "manifest", "files", "merkle_root", "tl_proof", "key", "signature",
        "tl_signature", "tl_online", "bundle_name"]
    verbose = json.loads(oord("verify", str(bundle), "--json", "--verbose").stdout)
    assert all("duration_ms" in c for c in verbose["checks"])


def test_a_tampered_bundle_exits_1_with_the_failed_check(oord: Oord, sealed_bundle: Path,
                                                         tmp_path: Path) -> None:
    altered = rewrite(sealed_bundle, tmp_path / "altered.zip", lambda e: [
        (i, d + b"x" if i.filename == "files/a.txt" else d) for i, d in e])
    result = oord("verify", str(altered), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["exit_code"] == 1 and report["ok"] is False
    failed = [c for c in report["checks"] if c["outcome"] == "fail"]
    assert [c["name"] for c in failed] == ["files"]
    text = oord("verify", str(altered))
    assert text.returncode == 1 and "FAIL  files" in text.stdout


def test_a_changed_byte_exits_1(oord: Oord, tmp_path: Path) -> None:
    assert oord("keys", "init").returncode == 0
    source = make_tree(tmp_path / "pics", {"photo.jpg": os.urandom(10_000)})  # stored
    sealed = oord("seal", "--input-dir", str(source), "--out", str(tmp_path / "out"))
    bundle = Path(json.loads(sealed.stdout)["bundle_path"])
    flip_byte_in_file(bundle, "files/photo.jpg", offset=4321)
    result = oord("verify", str(bundle), "--json")
    assert result.returncode == 1
    assert [c["name"] for c in json.loads(result.stdout)["checks"]
            if c["outcome"] == "fail"] == ["files"]


def test_unreadable_bundles_exit_2(oord: Oord, tmp_path: Path, sealed_bundle: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file at all" * 10)
    for path in (junk, tmp_path / "missing.zip", tmp_path):
        result = oord("verify", str(path), "--json")
        assert result.returncode == 2
        assert json.loads(result.stdout)["checks"][0]["outcome"] == "error"


def test_verify_usage_errors_exit_2(oord: Oord, sealed_bundle: Path) -> None:
    for args in (["verify"], ["verify", str(sealed_bundle), "--bogus"],
                 ["verify", str(sealed_bundle), "--tl-url"],
                 ["verify", str(sealed_bundle), "--tl-url", "ftp://log.example"]):
        result = oord(*args)
        assert result.returncode == 2
        assert error_of(result)["code"] == "USAGE_ERROR"


def test_agent_scan_refuses_a_timeout_that_is_not_a_finite_number(oord: Oord) -> None:
    for value in ("nan", "inf", "1e309", "0", "-1"):
        result = oord("agent", "scan", "--timeout", value)
        assert result.returncode == 2, value
        assert error_of(result)["code"] == "USAGE_ERROR"


# ---- seal failures: exactly exit 2 ------------------------------------------------------

def test_every_seal_failure_exits_2_with_a_json_error(oord: Oord, tmp_path: Path) -> None:
    source = make_tree(tmp_path / "in", {"a": b"1"})
    out = str(tmp_path / "out")
    cases = {
        "USAGE_ERROR": [["seal"], ["seal", "--input-dir", str(source)],
                        ["seal", "--input-dir", str(source), "--out", out, "--tl-mode", "maybe"],
                        ["seal", "--input-dir", str(source), "--out", out, "--nope"]],
        "KEY_ERROR": [["seal", "--input-dir", str(source), "--out", out]],  # no keys yet
        "INPUT_NOT_FOUND": [["seal", "--input-dir", str(tmp_path / "none"), "--out", out]],
        "INPUT_INVALID": [["seal", "--input-dir", str(source), "--out", out,
                           "--batch-id", "../up"]],
        "CORE_UNAVAILABLE": [["seal", "--input-dir", str(source), "--out", out, "--core-url",
                              f"http://127.0.0.1:{free_port()}"]],
    }
    for code, runs in cases.items():
        for args in runs:
            result = oord(*args)
            assert result.returncode == 2, (args, result.stderr)
            assert error_of(result)["code"] == code, args
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_seal_through_core(oord: Oord, tmp_path: Path) -> None:
    assert oord("keys", "init").returncode == 0
    source = make_tree(tmp_path / "in", SAMPLE_FILES)
    with core_server(api_key="k") as core:
        sealed = oord("seal", "--input-dir", str(source), "--out", str(tmp_path / "out"),
                      "--core-url", core.url, "--api-key", "k")
        assert sealed.returncode == 0, sealed.stderr
    bundle = json.loads(sealed.stdout)["bundle_path"]
    assert oord("verify", bundle).returncode == 1  # Core's key is not trusted yet
    jwks = tmp_path / "core.jwks.json"
    jwks.write_text(json.dumps(core.public_jwks))
    assert oord("keys", "trust", str(jwks)).returncode == 0
    assert oord("verify", bundle).returncode == 0


def test_seal_through_an_original_style_core_and_verify_once_its_keys_are_trusted(
        oord: Oord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import oord_reference as ref

    source = make_tree(tmp_path / "in", SAMPLE_FILES)
    monkeypatch.setenv("OORD_CORE_API", "original")
    monkeypatch.setenv("OORD_CORE_API_KEY", "orig-key")
    with ref.original_core(api_key="orig-key") as core:
        # The original's client, emulated: Core seals and logs, the client zips
        original = ref.seal_like_the_original(core, {"x.txt": b"from the original\n"},
                                              tmp_path / "orig")
        monkeypatch.setenv("OORD_CORE_URL", core.url)
        sealed = oord("seal", "--input-dir", str(source), "--out", str(tmp_path / "out"))
        assert sealed.returncode == 0, sealed.stderr
        paths = [(r["method"], r["path"], r["auth"]) for r in core.requests]
        assert paths == [("GET", "/v1/jwks", "Bearer orig-key"),
                         ("POST", "/v1/seal", "Bearer orig-key")]
        ours = json.loads(sealed.stdout)
        assert ours["key_id"] == "core-sign-1" and ours["tl_seq"] == 1  # the original's log
        # Before Core's keys are trusted (no trusted set at all: exit 2), it does not verify;
        # after, both do, online too
        assert oord("verify", str(original)).returncode == 2
        jwks = tmp_path / "core.jwks.json"
        jwks.write_text(json.dumps(core.jwks))
        assert oord("keys", "trust", str(jwks)).returncode == 0
        for bundle in (str(original), ours["bundle_path"]):
            result = oord("verify", bundle, "--json", "--tl-url", core.url)
            assert result.returncode == 0, result.stdout
            checks = {c["name"]: c["outcome"] for c in json.loads(result.stdout)["checks"]}
            assert checks["tl_online"] == "pass" and checks["bundle_name"] == "pass"
        # and ours verifies with the independent implementation
        assert ref.verify_bundle(Path(ours["bundle_path"]), core.jwks) == []
        # A wrong API key is an environment error, and leaves no --out folder
        monkeypatch.setenv("OORD_CORE_API_KEY", "wrong")
        refused = oord("seal", "--input-dir", str(source), "--out", str(tmp_path / "o2"))
        assert refused.returncode == 2 and error_of(refused)["code"] == "CORE_ERROR"
        assert not (tmp_path / "o2").exists()


def test_an_unreadable_bundle_gets_an_archive_error_report_not_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a non-root user a mode-000 file is unreadable; root reads it, so os.access lies."""
    from click.testing import CliRunner

    from cli.oord import oord as oord_group

    bundle = tmp_path / "locked.zip"
    bundle.write_bytes(b"PK\x03\x04 not really")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(bundle)
                        else real_access(p, mode, **kw))
    # (in-process: the command's return value is the exit code run_cli gives the shell)
    result = CliRunner().invoke(oord_group, ["verify", str(bundle), "--json"],
                                standalone_mode=False)
    assert result.return_value == 2 and "USAGE_ERROR" not in result.output, result.output
    report = json.loads(result.output)
    assert report["exit_code"] == 2
    assert report["checks"][0]["name"] == "archive" and report["checks"][0]["outcome"] == "error"


# ---- keys between two hosts -------------------------------------------------------------

def test_a_receiver_trusts_a_sender_through_export_and_trust(
        oord: Oord, sealed_bundle: Path, tmp_path: Path) -> None:
    receiver = tmp_path / "receiver-home"
    assert oord("keys", "init", home=receiver).returncode == 0
    assert oord("verify", str(sealed_bundle), home=receiver).returncode == 1
    exported = oord("keys", "export")
    assert exported.returncode == 0
    trusted = oord("keys", "trust", "-", home=receiver, input_text=exported.stdout)
    assert trusted.returncode == 0 and len(json.loads(trusted.stdout)["added"]) == 2
    assert oord("verify", str(sealed_bundle), home=receiver).returncode == 0


def test_keys_trust_refuses_a_bad_file(oord: Oord, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [{"kty": "RSA"}]}')
    result = oord("keys", "trust", str(bad))
    assert result.returncode == 2 and error_of(result)["code"] == "KEY_ERROR"
    assert oord("keys", "trust", str(tmp_path / "none.json")).returncode == 2


# ---- the transparency log over HTTP -----------------------------------------------------

def _serve(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "CONVEYOR_HOME": str(home)}
    process = subprocess.Popen([str(Path(sys.executable).parent / "oord"), "tl", "serve",
                                "--port", "0"], env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, json.loads(line)["serving"]


def test_the_online_tl_check(oord: Oord, sealed_bundle: Path, conveyor_home: Path) -> None:
    process, url = _serve(conveyor_home)
    try:
        online = json.loads(oord("verify", str(sealed_bundle), "--json", "--tl-url", url).stdout)
        assert {c["name"]: c["outcome"] for c in online["checks"]}["tl_online"] == "pass"
        head = oord("tl", "head")
        assert json.loads(head.stdout)["tree_size"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    down = f"http://127.0.0.1:{free_port()}"
    relaxed = oord("verify", str(sealed_bundle), "--tl-url", down)
    assert relaxed.returncode == 0 and "WARN  tl_online" in relaxed.stdout
    assert oord("verify", str(sealed_bundle), "--tl-url", down, "--strict").returncode == 2


# ---- agent inspection -------------------------------------------------------------------

def test_agent_status_and_config(oord: Oord, conveyor_home: Path) -> None:
    status = oord("agent", "status", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout) == {"batches": [], "bundles": []}
    assert "sender batches: none" in oord("agent", "status").stdout
    config = json.loads(oord("agent", "config").stdout)
    assert config["watch_dir"] == str(conveyor_home / "oord" / "watch")
    assert "api_key" not in config


def test_agent_scan_needs_workers(oord: Oord) -> None:
    result = oord("agent", "scan")
    assert result.returncode == 2
    error = error_of(result)
    assert error["code"] == "JOB_SYSTEM_UNAVAILABLE" and "conveyor up" in error["message"]


@pytest.mark.parametrize("args", [["agent", "status", "--nope"], ["nosuch"], ["keys", "trust"]])
def test_other_usage_errors_exit_2(oord: Oord, args: list[str]) -> None:
    result = oord(*args)
    assert result.returncode == 2 and error_of(result)["code"] == "USAGE_ERROR"


def test_an_interrupted_seal_exits_2_and_leaves_nothing(oord: Oord, tmp_path: Path) -> None:
    assert oord("keys", "init").returncode == 0
    block = b"".join(b"%08d some log line text to deflate\n" % i for i in range(30_000))
    make_tree(tmp_path / "big", {f"part-{i:02d}.log": block for i in range(80)})  # ~100 MB
    out = tmp_path / "out"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "oord"), "seal", "--input-dir",
         str(tmp_path / "big"), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(out.glob(".oord-*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 2, stderr
    assert json.loads(stderr.strip().splitlines()[-1])["error"]["code"] == "INTERRUPTED"
    assert stdout == "" and not out.exists()  # not even the --out folder it created


def test_keys_trust_from_stdin_that_is_not_utf8_is_a_key_error(
        oord: Oord, conveyor_home: Path) -> None:
    # sys.stdin.read() raised UnicodeDecodeError (an internal error) before, wherever
    # stdin decodes strictly (a UTF-8 locale such as en_US.UTF-8; forced here).
    assert oord("keys", "init").returncode == 0
    result = subprocess.run([str(Path(sys.executable).parent / "oord"), "keys", "trust", "-"],
                            input=b'{"keys": "\xff\xfe"}', capture_output=True, timeout=60,
                            env={**os.environ, "CONVEYOR_HOME": str(conveyor_home),
                                 "PYTHONIOENCODING": "utf-8:strict"})
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stderr)["error"]["code"] == "KEY_ERROR"


@pytest.mark.parametrize("name", ["x\udcff.zip", "two\nlines.zip"])
def test_verify_text_report_of_an_odd_bundle_name(oord: Oord, conveyor_home: Path,
                                                  name: str) -> None:
    # The verdict line printed the path raw: a byte that was not UTF-8 raised
    # UnicodeEncodeError on a strict UTF-8 stdout (an internal error), a newline split it.
    assert oord("keys", "init").returncode == 0
    result = subprocess.run([str(Path(sys.executable).parent / "oord"), "verify", name],
                            capture_output=True, timeout=60,
                            env={**os.environ, "CONVEYOR_HOME": str(conveyor_home),
                                 "PYTHONIOENCODING": "utf-8:strict"})
    assert result.returncode == 2, result.stderr
    last = result.stdout.decode().splitlines()[-1]
    assert last.startswith("ERROR: ") and last.endswith("(exit 2)"), result.stdout
