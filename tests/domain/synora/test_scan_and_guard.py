"""Planning a quarantine: the tree walk and the guard's decisions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from config.synora import SynoraSettings
from domain.synora.errors import SynoraError
from domain.synora.guard import (
    check_allowed,
    check_canonical,
    check_install_path,
    check_risk,
    effective_risk,
)
from domain.synora.scan import scan_tree
from tests.support.synora import SAMPLE_TREE, make_tree


def test_scan_lists_folders_and_files_with_hashes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "pkg")
    plan = scan_tree(root, hashes=True)
    assert {f.rel: f.sha256 for f in plan.files} == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in SAMPLE_TREE.items()}
    assert [d.rel for d in plan.dirs] == ["bin", "etc", "lib", "share", "share/doc",
                                          "share/doc/deep", "share/doc/deep/er", "var",
                                          "var/cache"]
    parents = [f.parts[:-1] for f in plan.files]
    assert parents == sorted(parents)  # grouped by folder
    assert plan.total_bytes == sum(len(v) for v in SAMPLE_TREE.values())
    assert scan_tree(root, hashes=False).files[0].sha256 is None


def test_scan_blocks_symlinks_anywhere_in_the_tree(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "pkg")
    (root / "share" / "doc" / "deep" / "loop").symlink_to(root)
    with pytest.raises(SynoraError) as caught:
        scan_tree(root, hashes=False)
    assert (caught.value.code, caught.value.exit_code) == ("SYMLINK_BLOCKED", 3)


def test_risk_rules() -> None:
    assert effective_risk("medium", None) == "medium"
    assert effective_risk("medium", "high") == "high"
    assert effective_risk("critical", "low") == "critical"
    check_risk("medium", confirm=False)
    check_risk("critical", confirm=True)
    with pytest.raises(SynoraError) as caught:
        check_risk("high", confirm=False)
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("raw", ["relative", "/a/../b", "/a//b", "/a/./b", "/a/b/"])
def test_non_canonical_paths(raw: str) -> None:
    with pytest.raises(SynoraError) as caught:
        check_canonical(raw)
    assert caught.value.code == "PATH_NOT_CANONICAL"


def test_allowlist_and_home(tmp_path: Path) -> None:
    settings = SynoraSettings(home=tmp_path / "home", allowed_roots=(tmp_path / "ok",))
    check_allowed(tmp_path / "ok" / "pkg", settings)
    check_allowed(tmp_path / "ok", settings)
    for path in (tmp_path / "okay", tmp_path, Path("/"), tmp_path / "home" / "x"):
        with pytest.raises(SynoraError) as caught:
            check_allowed(path, settings)
        assert caught.value.code == "PATH_NOT_ALLOWED"
    default = SynoraSettings(home=tmp_path / "home", allowed_roots=())
    check_allowed(tmp_path / "anywhere", default)  # by default: the package's own path


def test_install_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    settings = SynoraSettings(home=tmp_path / "home", allowed_roots=())
    with pytest.raises(SynoraError) as caught:
        check_install_path(str(tmp_path / "file"), settings)
    assert (caught.value.code, caught.value.exit_code) == ("UNSUPPORTED_ENTRY", 3)
