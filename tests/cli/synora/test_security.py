"""The security guard through the console script: every refusal is exit 3, before anything
moves, and leaves the tree (and what a link points at) exactly as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.synora import Synora, make_tree, snapshot


def _blocked(synora: Synora, package_id: str, *flags: str) -> dict[str, object]:
    code, out = synora.json("cleanup", "quarantine", "--id", package_id, *flags)
    assert code == 3, out
    assert out["status"] == "quarantine_failed"
    assert (out["mutation_boundary_reached"], out["rollback_attempted"],
            out["rollback_status"]) == (False, False, "not_needed")
    return out


@pytest.mark.parametrize("flags", [[], ["--confirm"]])
def test_a_symlinked_folder_in_the_tree_blocks_everything(synora: Synora, package_root: Path,
                                                          tmp_path: Path,
                                                          flags: list[str]) -> None:
    outside = make_tree(tmp_path / "outside", {"secret": b"do not touch\n"}, ())
    (package_root / "share" / "linked").symlink_to(outside, target_is_directory=True)
    synora.add("Tool.Tool", package_root)
    tree, target = snapshot(package_root), snapshot(outside)
    out = _blocked(synora, "Tool.Tool", *flags)
    assert out["error_code"] == "SYMLINK_BLOCKED"
    assert "share/linked" in str(out["message"])
    assert snapshot(package_root) == tree and snapshot(outside) == target
    assert synora.package("Tool.Tool")["status"] == "installed"
    assert list((synora.home / "quarantine").glob("*")) == []


def test_a_symlinked_file_in_the_tree_blocks_everything(synora: Synora, package_root: Path,
                                                        tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret\n")
    (package_root / "bin" / "passwd").symlink_to(secret)
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    out = _blocked(synora, "Tool.Tool", "--confirm")
    assert out["error_code"] == "SYMLINK_BLOCKED"
    assert snapshot(package_root) == tree and secret.read_bytes() == b"secret\n"
    op = str(out["operation_id"])
    assert [r.status for r in synora.history(op)] == ["quarantine_confirmed", "quarantine_failed"]
    assert synora.entries(op) == [] and synora.backups(op) == []


def test_a_symlink_on_the_way_to_the_package_blocks_it(synora: Synora, package_root: Path,
                                                       tmp_path: Path) -> None:
    (tmp_path / "via").symlink_to(package_root.parent, target_is_directory=True)
    synora.add("Tool.Tool", tmp_path / "via" / "tool")
    tree = snapshot(package_root)
    out = _blocked(synora, "Tool.Tool", "--confirm")
    assert out["error_code"] == "SYMLINK_BLOCKED"
    assert snapshot(package_root) == tree


def test_an_install_path_that_is_a_symlink_is_blocked(synora: Synora, package_root: Path,
                                                      tmp_path: Path) -> None:
    (tmp_path / "tool-link").symlink_to(package_root, target_is_directory=True)
    synora.add("Tool.Tool", tmp_path / "tool-link")
    out = _blocked(synora, "Tool.Tool", "--confirm")
    assert out["error_code"] == "SYMLINK_BLOCKED"
    assert (package_root / "bin" / "tool").exists()


@pytest.mark.parametrize("package_id", ["../etc", "..", "a..b", "Tool/Tool", "Tool\\Tool", "."])
def test_traversal_shaped_ids_are_blocked_before_any_operation(synora: Synora,
                                                               package_id: str) -> None:
    result = synora.run("cleanup", "quarantine", "--id", package_id, "--confirm", "--json")
    assert result.returncode == 3
    error = json.loads(result.stderr)
    assert error["code"] == "UNSAFE_PACKAGE_ID"
    assert result.stdout == ""
    assert synora.history() == []
    assert not (synora.home / "locks").exists()


def test_dotdot_in_an_install_path_is_refused_at_registration(synora: Synora,
                                                              tmp_path: Path) -> None:
    result = synora.run("package", "add", "--id", "Evil.Evil", "--name", "evil", "--version",
                        "1", "--install-path", f"{tmp_path}/apps/../../etc", "--json")
    assert result.returncode == 3
    assert json.loads(result.stderr)["code"] == "PATH_NOT_CANONICAL"


@pytest.mark.parametrize("risk", ["high", "critical"])
def test_high_and_critical_need_confirm(synora: Synora, package_root: Path, risk: str) -> None:
    synora.add("Tool.Tool", package_root)
    tree = snapshot(package_root)
    out = _blocked(synora, "Tool.Tool", "--risk", risk)
    assert (out["error_code"], out["risk_level"]) == ("RISK_REQUIRES_CONFIRM", risk)
    out = _blocked(synora, "Tool.Tool", "--dry-run", "--risk", risk)
    assert snapshot(package_root) == tree
    code, confirmed = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--confirm",
                                  "--risk", risk)
    assert (code, confirmed["status"]) == (0, "quarantine_success")


def test_a_flag_cannot_lower_the_registered_risk(synora: Synora, package_root: Path) -> None:
    synora.add("Tool.Tool", package_root, risk="critical")
    out = _blocked(synora, "Tool.Tool", "--risk", "low")
    assert out["risk_level"] == "critical"
    code, _ = synora.json("cleanup", "quarantine", "--id", "Tool.Tool", "--risk", "low",
                          "--confirm")
    assert code == 0


def test_the_allowlist_confines_packages(synora: Synora, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    inside = make_tree(allowed / "in")
    outside = make_tree(tmp_path / "elsewhere" / "out")
    synora.add("In.In", inside)
    synora.add("Out.Out", outside)
    roots = {"SYNORA_ALLOWED_ROOTS": f"{allowed}{os.pathsep}{tmp_path / 'also'}"}
    code, out = synora.json("cleanup", "quarantine", "--id", "Out.Out", "--confirm",
                            extra_env=roots)
    assert (code, out["error_code"]) == (3, "PATH_NOT_ALLOWED")
    assert (outside / "bin" / "tool").exists()
    code, out = synora.json("cleanup", "quarantine", "--id", "In.In", "--confirm",
                            extra_env=roots)
    assert (code, out["status"]) == (0, "quarantine_success")


def test_synora_home_cannot_be_quarantined(synora: Synora) -> None:
    make_tree(synora.home / "inside")
    synora.add("Home.Inside", synora.home / "inside")
    synora.add("Home.Parent", synora.home.parent)
    for package_id in ("Home.Inside", "Home.Parent"):
        code, out = synora.json("cleanup", "quarantine", "--id", package_id, "--confirm")
        assert (code, out["error_code"]) == (3, "PATH_NOT_ALLOWED")


def test_a_fifo_in_the_tree_is_blocked(synora: Synora, package_root: Path) -> None:
    os.mkfifo(package_root / "control.fifo")
    synora.add("Tool.Tool", package_root)
    out = _blocked(synora, "Tool.Tool", "--confirm")
    assert out["error_code"] == "UNSUPPORTED_ENTRY"
    assert (package_root / "bin" / "tool").exists()
