"""`synora package add|list|show`: the registry a quarantine works from."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.synora import Synora


def test_add_show_and_list(synora: Synora, package_root: Path) -> None:
    added = synora.add("Git.Git", package_root, risk="high", name="Git")
    assert {k: added[k] for k in ("id", "name", "version", "source", "install_path",
                                  "risk_level", "status", "quarantine_operation_id")} == {
        "id": "Git.Git", "name": "Git", "version": "1.0", "source": "local",
        "install_path": str(package_root), "risk_level": "high", "status": "installed",
        "quarantine_operation_id": None}
    assert added["created_at"].endswith("Z")
    assert synora.package("Git.Git") == added
    code, listed = synora.json("package", "list")
    assert (code, listed) == (0, {"packages": [added]})
    code, none = synora.json("package", "list", "--status", "quarantined")
    assert (code, none) == (0, {"packages": []})
    text = synora.run("package", "list")
    assert text.returncode == 0
    header, row = text.stdout.splitlines()
    assert header.split() == ["id", "version", "status", "risk_level", "install_path"]
    assert row.split() == ["Git.Git", "1.0", "installed", "high", str(package_root)]
    shown = synora.run("package", "show", "--id", "Git.Git")
    assert "status: installed" in shown.stdout.splitlines()


def test_install_paths_are_normalised(synora: Synora, package_root: Path) -> None:
    added = synora.add("Tool.Tool", Path(f"{package_root}/./"))
    assert added["install_path"] == str(package_root)


def test_duplicates_are_refused(synora: Synora, package_root: Path, tmp_path: Path) -> None:
    synora.add("Git.Git", package_root, name="Git")
    for package_id, name in (("Git.Git", "Other"), ("Other.Id", "Git")):
        result = synora.run("package", "add", "--id", package_id, "--name", name, "--version",
                            "2", "--install-path", str(tmp_path), "--json")
        assert result.returncode == 4
        assert json.loads(result.stderr)["code"] == "PACKAGE_EXISTS"


def test_bad_registrations(synora: Synora, tmp_path: Path) -> None:
    cases = [
        (["--id", "A.B", "--install-path", "relative/path"], 2, "USAGE_ERROR"),
        (["--id", "A.B", "--install-path", "/"], 3, "PATH_NOT_ALLOWED"),
        (["--id", "a/b", "--install-path", str(tmp_path)], 3, "UNSAFE_PACKAGE_ID"),
        (["--id", "A.B", "--install-path", str(tmp_path), "--risk", "none"], 2, "USAGE_ERROR"),
        (["--id", "A.B"], 2, "USAGE_ERROR"),
    ]
    for args, exit_code, error_code in cases:
        result = synora.run("package", "add", "--name", "n", "--version", "1", *args, "--json")
        assert result.returncode == exit_code, (args, result.stderr)
        assert json.loads(result.stderr)["code"] == error_code
    assert synora.json("package", "list") == (0, {"packages": []})


def test_show_unknown_package(synora: Synora) -> None:
    result = synora.run("package", "show", "--id", "No.Such", "--json")
    assert result.returncode == 4
    assert json.loads(result.stderr)["code"] == "PACKAGE_NOT_FOUND"
    text = synora.run("package", "show", "--id", "No.Such")
    assert (text.returncode, text.stderr) == (4, "synora: error: no package 'No.Such' in the "
                                                 "registry\n")


def test_values_that_are_not_utf8_are_refused(synora: Synora, package_root: Path) -> None:
    # Non-UTF-8 bytes in argv arrive as lone surrogates; storing them raised
    # UnicodeEncodeError (exit 10). They are usage errors now, and nothing is stored.
    for flag, value in (("--name", "Git\udcff"), ("--install-path", f"{package_root}\udcff")):
        args = {"--id": "Git.Git", "--name": "Git", "--version": "1.0",
                "--install-path": str(package_root), flag: value}
        result = synora.run("package", "add", *[x for pair in args.items() for x in pair])
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"synora: error: {flag} must be UTF-8 text\n"
    assert synora.json("package", "list") == (0, {"packages": []})


def test_text_output_keeps_one_line_per_value(synora: Synora, package_root: Path) -> None:
    # A newline in a name or a path used to add lines to the `key: value` output.
    odd = package_root.parent / "odd\nplace"
    odd.mkdir()
    result = synora.run("package", "add", "--id", "Odd.Odd", "--name", "two\nlines",
                        "--version", "1", "--install-path", str(odd))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "name: two\\nlines" in lines and f"install_path: {package_root.parent}/odd\\nplace" \
        in lines and len(lines) == 10
    assert len(synora.run("package", "list").stdout.splitlines()) == 2


def test_a_database_that_is_not_one_is_a_store_failure(synora: Synora) -> None:
    # sqlite3/SQLAlchemy errors of the package commands were internal errors (exit 10).
    synora.db_path.parent.mkdir(parents=True)
    synora.db_path.write_bytes(b"this is not a database\n" * 100)
    for args in (["package", "list", "--json"], ["package", "show", "--id", "Git.Git"]):
        result = synora.run(*args)
        assert result.returncode == 4, result.stderr
        assert "STORE_FAILED" in result.stderr or "database failed" in result.stderr
    assert synora.db_path.read_bytes() == b"this is not a database\n" * 100


def test_no_command_is_a_one_line_usage_error(synora: Synora) -> None:
    # click's "no command" error carried the whole help text (ten lines). Bare `synora`
    # is a request for help (docs/architecture.md); a group without its command is not.
    result = synora.run("package")
    assert result.returncode == 2
    assert result.stderr.startswith("synora: error: missing command")
    assert result.stderr.count("\n") == 1
    bare = synora.run()
    assert bare.returncode == 0 and bare.stdout.startswith("Usage: synora") and not bare.stderr
