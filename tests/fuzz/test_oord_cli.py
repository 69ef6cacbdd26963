"""`oord` with generated bad input: the contract's exit codes, one error format, no traces.

oord-error-model.md: seal exits 0 or 2; verify 0, 1 (content or cryptographic mismatch)
or 2 (environment: bad ZIP, missing path); docs/oord.md: every other command 0 or 2,
errors are one JSON line {"error": {"code", "message", "details"}, "exit_code"} on stderr
with stdout empty, verify prints its report (text or --json) even for exit 2.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cli.oord as oord_cli
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.rest_support import (
    FILE_KINDS,
    Result,
    changes,
    command_line,
    hostile_text,
    huge_or_bad_int,
    invoke_script,
    json_bytes,
    make_hostile_file,
    mostly,
    mutated_json,
    nasty_lines,
    one_json_line,
    sandboxed,
    tree_state,
)
from tests.support.oord import SAMPLE_FILES, make_tree

CODES = ("USAGE_ERROR", "INPUT_NOT_FOUND", "INPUT_INVALID", "IO_ERROR", "KEY_ERROR",
         "CONFIG_ERROR", "CORE_UNAVAILABLE", "CORE_ERROR", "TL_UNAVAILABLE",
         "JOB_SYSTEM_UNAVAILABLE", "INTERRUPTED")
OUTCOMES = ("pass", "fail", "error", "skip", "warn")
MARKS = ("PASS ", "FAIL ", "ERROR", "skip ", "WARN ")
HELP = ("--help", "-h")

Oord = Callable[..., Result]


@dataclass(frozen=True)
class Sandbox:
    """Everything oord may touch: its state folder, a scratch current folder, inputs."""

    root: Path
    keys: Path
    cwd: Path
    source: Path
    bundle: Path


@pytest.fixture
def sandbox(conveyor_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """keys init and one sealed bundle; the current folder deep enough that '../..' stays
    inside the test's folder."""
    cwd = tmp_path / "a" / "b" / "c" / "cwd"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # "~" and defaults stay in here
    source = make_tree(tmp_path / "batch-7", SAMPLE_FILES)
    assert _call(conveyor_home, "keys", "init").code == 0
    sealed = _call(conveyor_home, "seal", "--input-dir", str(source), "--out",
                   str(tmp_path / "sealed"))
    assert sealed.code == 0, sealed.describe()
    bundle = Path(json.loads(sealed.out)["bundle_path"])
    return Sandbox(tmp_path, conveyor_home / "oord" / "keys", cwd, source, bundle)


def _call(home: Path, *args: str, stdin: bytes = b"") -> Result:
    return invoke_script(oord_cli.oord, oord_cli.ERRORS, args, "oord", home=home, stdin=stdin)


@pytest.fixture
def oord(conveyor_home: Path, sandbox: Sandbox) -> Oord:
    def run(*args: str, stdin: bytes = b"") -> Result:
        return _call(conveyor_home, *args, stdin=stdin)

    return run


def error_of(result: Result) -> dict[str, Any]:
    """The one error line on stderr, stdout empty, exit 2 (oord's only error exit)."""
    assert result.out == "", result.describe()
    document = one_json_line(result.err, "stderr")
    assert set(document) == {"error", "exit_code"}, document
    error = document["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] in CODES, result.describe()
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert document["exit_code"] == result.code == 2, result.describe()
    return error  # type: ignore[no-any-return]


def is_help(result: Result, args: list[str] | tuple[str, ...]) -> bool:
    if result.code == 0 and list(args) == ["--version"]:  # every console script has it
        return result.out.startswith("oord, version")
    return result.code == 0 and any(a in HELP for a in args) and result.out.startswith("Usage:")


def verify_report(result: Result, *, as_json: bool) -> None:
    """verify's report on stdout: JSON with every check, or one text line per check."""
    assert result.code in (0, 1, 2), result.describe()
    assert result.err == "", result.describe()
    if as_json:
        report = json.loads(result.out)
        assert report["exit_code"] == result.code and report["ok"] is (result.code == 0)
        assert [c["name"] for c in report["checks"]] and all(
            c["outcome"] in OUTCOMES for c in report["checks"]), report
        return
    lines = result.out.rstrip("\n").split("\n")
    verdict = {0: "VERIFIED: ", 1: "FAILED: ", 2: "ERROR: "}[result.code]
    assert lines[-1].startswith(verdict) and lines[-1].endswith(f"(exit {result.code})"), \
        result.describe()
    assert all(line.startswith(MARKS) or line.startswith("      ") for line in lines[:-1]), \
        result.describe()


# ---- seal -----------------------------------------------------------------------------------

def _relative(text: str) -> bool:
    """Hostile paths stay inside the test's folder: relative to the current folder, four
    levels below it, and no deeper up than that."""
    return not text.startswith("/") and text.split("/").count("..") < 4


def seal_options(box: Sandbox) -> dict[str, st.SearchStrategy[str]]:
    files = st.sampled_from(FILE_KINDS).map(lambda k: make_hostile_file(box.root / "in", k))
    paths = st.one_of(files, hostile_text().filter(_relative),
                      st.sampled_from(["/etc/passwd", "/proc/self/status", "/proc/no-such/x"]))
    fresh_out = st.integers(0, 10**6).map(lambda n: str(box.root / "outs" / f"o{n}"))
    return {
        "--input-dir": mostly(st.just(str(box.source)), paths),
        "--out": mostly(fresh_out, st.one_of(paths, st.just(str(box.source / "inner")))),
        "--org-id": mostly(st.sampled_from(["ACME", "org.1@x+y=z,w-v"]), hostile_text()),
        "--batch-id": mostly(st.sampled_from(["q3-2026", "B"]), hostile_text()),
        "--tl-mode": mostly(st.sampled_from(["required", "best_effort", "none"]),
                            hostile_text()),
        "--core-url": st.one_of(hostile_text(), st.just("http://127.0.0.1:1/core")),
        "--api-key": hostile_text(),
    }


def _files_state(box: Sandbox) -> dict[str, Any]:
    """The sandbox, but for the state folder's database and logs (the TL may grow)."""
    return tree_state(box.root, skip=lambda rel: rel.startswith(
        ("conveyor-home/logs", "conveyor-home/conveyor.db")))


@fuzz_settings(120)
@given(data=st.data())
def test_seal_ends_in_0_or_2_and_never_leaves_half_a_bundle(
        oord: Oord, sandbox: Sandbox, data: st.DataObject) -> None:
    # Given: any command line (inputs, outputs and ids odd or hostile)
    args = data.draw(command_line(seal_options(sandbox)))
    before = _files_state(sandbox)
    # When
    result = oord("seal", *args)
    # Then: one new bundle that verifies, or the error line and no new file at all (the
    # output folder itself may have been created)
    if is_help(result, args):
        return
    diff = changes(before, _files_state(sandbox))
    assert diff.removed == diff.modified == [], diff
    new_files = [rel for rel in diff.added if not (sandbox.root / rel).is_dir()]
    if result.code == 0:
        made = Path(json.loads(result.out)["bundle_path"])
        assert new_files == [str(made.relative_to(sandbox.root))], diff
        assert oord("verify", str(made)).code == 0
    else:
        error_of(result)
        assert new_files == [], diff


# ---- verify ---------------------------------------------------------------------------------

Entries = list[tuple[zipfile.ZipInfo, bytes]]


def _entries(bundle: Path) -> Entries:
    with zipfile.ZipFile(bundle) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _zip(entries: Entries) -> bytes:
    buffer = io.BytesIO()
    # A duplicate entry is one of the damages on purpose: zipfile's warning is expected.
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as zf:
        warnings.simplefilter("ignore")
        for info, data in entries:
            zf.writestr(info, data, compress_type=info.compress_type)
    return buffer.getvalue()


def _renamed(info: zipfile.ZipInfo, name: str) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(name, date_time=info.date_time)
    copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
    return copy


EVIL_NAMES = ("../evil.txt", "/etc/evil", "files/../../evil", "files/a\\b", "files/\x00x",
              "files/", "files//x", "files/./x", "C:/evil", "files/\x1b[31m", "x" * 70000,
              "files/" + "é" * 200, "files/a.txt/inner", "manifest.json", "other.txt")


@st.composite
def damaged_bundle(draw: st.DrawFn, bundle: Path) -> bytes:
    """The sealed bundle's bytes, spoiled one way: the archive, an entry, or the manifest."""
    raw = bundle.read_bytes()
    entries = _entries(bundle)
    how = draw(st.sampled_from(("truncate", "garbage", "flip", "evil_name", "duplicate",
                                "drop", "manifest_json", "manifest_bytes", "metadata_json",
                                "symlink", "directory")))
    if how == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    if how == "garbage":
        return draw(st.sampled_from([b"", b"PK", b"PK\x03\x04" + b"\x00" * 40,
                                     b"not a zip at all\n", b"\xff" * 1000, raw[::-1]]))
    if how == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1:]
    index = draw(st.integers(0, len(entries) - 1))
    info, content = entries[index]
    if how == "evil_name":
        entries[index] = (_renamed(info, draw(st.sampled_from(EVIL_NAMES))), content)
    elif how == "duplicate":
        entries.append((_renamed(info, info.filename), content))
    elif how == "drop":
        del entries[index]
    elif how in ("manifest_json", "metadata_json"):
        name = "manifest.json" if how == "manifest_json" else draw(
            st.sampled_from(["tl_proof.json", "jwks_snapshot.json"]))
        index = next(i for i, (e, _) in enumerate(entries) if e.filename == name)
        info, content = entries[index]
        doc = draw(mutated_json(json.loads(content)))
        entries[index] = (info, json_bytes(doc))
    elif how == "manifest_bytes":
        index = next(i for i, (e, _) in enumerate(entries) if e.filename == "manifest.json")
        info, content = entries[index]
        entries[index] = (info, draw(st.sampled_from([
            b"", b"{", b"[]", b"null", b"\xff\xfe", b"[" * 100_000, content[:-1],
            content + b"\x00"])))
    elif how == "symlink":
        info.external_attr = (0o120777 << 16)
        entries[index] = (info, b"/etc/passwd")
    else:
        entries.append((_renamed(info, "files/dir/"), b""))
    return _zip(entries)


@fuzz_settings(150)
@given(data=st.data())
def test_verify_judges_hostile_bundles_and_writes_nothing(
        oord: Oord, sandbox: Sandbox, data: st.DataObject) -> None:
    # Given: the sealed bundle damaged one way, under its own name
    target = sandbox.root / "suspect" / sandbox.bundle.name
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(data.draw(damaged_bundle(sandbox.bundle)))
    flags = data.draw(st.lists(st.sampled_from(["--json", "--strict", "--verbose"]),
                               unique=True))
    before = tree_state(sandbox.root)
    # When
    result = oord("verify", str(target), *flags)
    # Then: altered content is exit 1, an unreadable archive exit 2, never "verified"
    verify_report(result, as_json="--json" in flags)
    assert result.code != 0 or target.read_bytes() == sandbox.bundle.read_bytes(), \
        result.describe()
    assert tree_state(sandbox.root) == before


def verify_options(box: Sandbox) -> dict[str, st.SearchStrategy[str]]:
    files = st.sampled_from(FILE_KINDS).map(lambda k: make_hostile_file(box.root / "in", k))
    return {
        "--tl-url": st.one_of(hostile_text(), st.sampled_from(
            ["http://127.0.0.1:1/tl", "https://", "http://[::1", "ftp://x", "http://\x00/"])),
        "--trusted": mostly(st.just(str(box.keys / "trusted.jwks.json")),
                            st.one_of(files, hostile_text().filter(_relative))),
    }


@fuzz_settings(100)
@given(data=st.data())
def test_verify_arguments_end_in_a_report_or_the_error_line(
        oord: Oord, sandbox: Sandbox, data: st.DataObject) -> None:
    # Given: odd bundle paths, trusted key sets, TL URLs and flags
    files = st.sampled_from(FILE_KINDS).map(lambda k: make_hostile_file(sandbox.root / "b", k))
    bundle = data.draw(mostly(st.just(str(sandbox.bundle)), st.one_of(
        files, hostile_text().filter(_relative))))
    args = data.draw(command_line(verify_options(sandbox),
                                  flags=["--json", "--strict", "--verbose"],
                                  positionals=[st.just(bundle)]))
    before = tree_state(sandbox.root, skip=lambda rel: rel.startswith("conveyor-home/logs"))
    # When
    result = oord("verify", *args)
    # Then
    if is_help(result, args):
        return
    if result.out:
        verify_report(result, as_json=result.out.startswith("{"))
    else:
        assert error_of(result)["code"] in ("USAGE_ERROR", "KEY_ERROR"), result.describe()
    assert tree_state(sandbox.root,
                      skip=lambda rel: rel.startswith("conveyor-home/logs")) == before


def _is_port(value: str) -> bool:
    return value.strip().isdigit() and int(value) <= 65535


# (template, whether absolute values may go there): outputs never get "/" and friends.
NASTY_POSITIONS = [
    (["verify", "{X}"], True), (["verify", "{X}", "--json"], True),
    (["verify", "{bundle}", "--trusted", "{X}"], True),
    (["verify", "{bundle}", "--tl-url", "{X}", "--json"], True),
    (["seal", "--input-dir", "{X}", "--out", "{out}"], False),
    (["seal", "--input-dir", "{source}", "--out", "{X}"], False),
    (["seal", "--input-dir", "{source}", "--out", "{out}", "--org-id", "{X}"], True),
    (["seal", "--input-dir", "{source}", "--out", "{out}", "--batch-id", "{X}"], True),
    (["seal", "--input-dir", "{source}", "--out", "{out}", "--tl-mode", "{X}"], True),
    (["seal", "--input-dir", "{source}", "--out", "{out}", "--core-url", "{X}"], True),
    (["keys", "trust", "{X}"], True), (["keys", "{X}"], True), (["tl", "{X}"], True),
    (["tl", "serve", "--port", "{X}"], True), (["agent", "scan", "--role", "{X}"], True),
    (["agent", "scan", "--timeout", "{X}"], True), (["agent", "{X}"], True), (["{X}"], True),
]


@pytest.mark.parametrize(("template", "absolute"), NASTY_POSITIONS,
                         ids=lambda v: "-".join(a.strip("-{}") for a in v)
                         if isinstance(v, list) else "")
def test_every_nasty_string_in_every_position(oord: Oord, sandbox: Sandbox, template: list[str],
                                              absolute: bool) -> None:
    places = {"{bundle}": str(sandbox.bundle), "{source}": str(sandbox.source),
              "{out}": str(sandbox.root / "outs" / "nasty")}
    template = [places.get(a, a) for a in template]
    before = tree_state(sandbox.keys)
    for args in nasty_lines(template, absolute=absolute):
        if args[:3] == ["tl", "serve", "--port"] and _is_port(args[3]):
            continue  # a valid port would start serving
        result = oord(*args)
        if is_help(result, args):
            continue
        if args[0] == "verify" and result.out:
            # "--json" may be a value here ("--trusted --json", "-- --json"): the report
            # is JSON exactly when it starts like JSON, and must then be all JSON
            verify_report(result, as_json=result.out.startswith("{"))
        elif result.code != 0 or args[0] != "seal":
            error_of(result)
        assert tree_state(sandbox.keys) == before, args


# ---- keys -----------------------------------------------------------------------------------

@fuzz_settings(100)
@given(data=st.data())
def test_keys_trust_refuses_bad_key_files_and_keeps_the_trusted_set(
        oord: Oord, sandbox: Sandbox, data: st.DataObject) -> None:
    # Given: a key file (or stdin) that is hostile, or a JWKS with wrong types anywhere
    exported = json.loads(oord("keys", "export").out)
    content = data.draw(st.one_of(
        mutated_json(exported).map(json_bytes),
        mutated_json(exported["keys"][0]).map(json_bytes),
        st.sampled_from([b"", b"\xff\xfe{", b"[" * 100_000, b'{"keys": []}', b"null",
                         b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}'])))
    source = data.draw(st.sampled_from(["file", "stdin", "kind"]))
    path = sandbox.root / "their.jwks.json"
    if source == "file":
        path.write_bytes(content)
        argument = str(path)
    elif source == "stdin":
        argument = "-"
    else:
        argument = make_hostile_file(sandbox.root / "k", data.draw(st.sampled_from(FILE_KINDS)))
    replace = data.draw(st.booleans())
    before = tree_state(sandbox.keys)
    # When
    result = oord("keys", "trust", argument, *(["--replace"] if replace else []),
                  stdin=content if source == "stdin" else b"")
    # Then: accepted keys are valid public keys; a refusal changes no key file
    if result.code == 0:
        answer = json.loads(result.out)
        assert set(answer) == {"trusted_jwks", "added", "trusted_keys"}, answer
        trusted = json.loads((sandbox.keys / "trusted.jwks.json").read_text())
        assert all(k.get("kty") == "OKP" and "d" not in k for k in trusted["keys"])
        assert oord("verify", str(sandbox.bundle)).code == 0 or replace
    else:
        error_of(result)
        assert tree_state(sandbox.keys) == before


@pytest.mark.parametrize("broken", ["signing_key.pem", "tl_key.pem", "trusted.jwks.json"])
@pytest.mark.parametrize("kind", ["empty", "non_utf8", "truncated_json", "directory",
                                  "deep_nesting", "json_array"])
def test_keys_commands_with_a_broken_key_file(oord: Oord, sandbox: Sandbox, broken: str,
                                              kind: str) -> None:
    # Given: one of this host's key files replaced by junk
    path = sandbox.keys / broken
    valid = path.read_bytes()
    path.unlink()
    made = Path(make_hostile_file(sandbox.keys, kind, valid=valid))
    made.rename(path)
    if path.is_file():
        path.chmod(0o600)
    before = tree_state(sandbox.keys)
    for args in (["keys", "init"], ["keys", "export"], ["keys", "trust", "-"],
                 ["verify", str(sandbox.bundle)], ["tl", "head"]):
        # When
        result = oord(*args, stdin=b"{}")
        # Then: a key error (exit 2; verify reports it) and the junk left for a person
        if args[0] == "verify":
            verify_report(result, as_json=False)
        elif result.code != 0:
            assert error_of(result)["code"] in ("KEY_ERROR", "IO_ERROR", "TL_UNAVAILABLE")
        assert tree_state(sandbox.keys) == before, args


# ---- the other commands: bad flags, odd settings ----------------------------------------

@fuzz_settings(80)
@given(args=st.one_of(
    command_line({"--port": huge_or_bad_int().filter(lambda v: not v.isdigit() or
                                                      int(v) > 65535),
                  "--host": hostile_text()}).map(lambda a: ["tl", "serve", *a, "--port", "x"]),
    command_line({"--role": hostile_text(), "--timeout": huge_or_bad_int()},
                 ).map(lambda a: ["agent", "scan", *a]),
    command_line({}, flags=["--json"], positionals=[hostile_text()]).map(
        lambda a: ["agent", "status", *a]),
    command_line({}, positionals=[hostile_text(), hostile_text()]).map(
        lambda a: ["agent", "config", *a]),
    command_line({}, positionals=[hostile_text(), hostile_text()]).map(
        lambda a: ["keys", *a]),
    command_line({}, positionals=[hostile_text(), hostile_text()]),
))
def test_other_commands_and_bad_flags(oord: Oord, sandbox: Sandbox, args: list[str]) -> None:
    # Given: tl serve always with an invalid --port (so it can never start serving)
    before = tree_state(sandbox.keys)
    result = oord(*args)
    if is_help(result, args):
        return
    if result.code == 0:
        assert result.out and result.err == "", result.describe()
        if "--json" in args or args[:2] == ["agent", "config"]:
            json.loads(result.out)
    else:
        error_of(result)
    assert tree_state(sandbox.keys) == before


SETTINGS = ("OORD_SETTLE_SECONDS", "OORD_LEASE_S", "OORD_TL_MODE", "OORD_MAX_ENTRIES",
            "OORD_MAX_RATIO", "OORD_RECEIVER_STRICT", "OORD_ORG_ID", "OORD_TL_URL",
            "OORD_CORE_URL", "OORD_TRUSTED_JWKS", "OORD_STATE_DIR", "OORD_MAX_BUNDLE_BYTES")


@fuzz_settings(60)
@given(name=st.sampled_from(SETTINGS),
       value=st.one_of(hostile_text(), huge_or_bad_int()).filter(
           lambda v: sandboxed(v) and _relative(v)),
       command=st.sampled_from([("agent", "config"), ("agent", "status", "--json"),
                                ("verify", "--json"), ("seal",), ("keys", "export")]))
def test_odd_settings_are_usage_errors_or_work(oord: Oord, sandbox: Sandbox,
                                              monkeypatch: pytest.MonkeyPatch, name: str,
                                              value: str, command: tuple[str, ...]) -> None:
    # Given: one OORD_* setting with an odd value (the environment cannot hold NUL)
    args = list(command)
    if command[0] == "verify":
        args.insert(1, str(sandbox.bundle))
    elif command[0] == "seal":
        args += ["--input-dir", str(sandbox.source), "--out", str(sandbox.root / "outs" / "s")]
    with monkeypatch.context() as env:
        env.setenv(name, value)
        result = oord(*args)
    # Then
    if result.code != 0 and not (command[0] == "verify" and result.out):
        error_of(result)
    elif command[0] == "verify":
        verify_report(result, as_json=True)
    else:
        json.loads(result.out)

