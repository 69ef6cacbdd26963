"""Safe names: payload paths and ids."""

from __future__ import annotations

import pytest

from domain.oord.names import id_problem, relpath_problem


@pytest.mark.parametrize("path", ["a", "a/b.txt", "dir/sub/file name (1).txt", "ünïcode/ok",
                                  ".hidden", "a..b"])
def test_fine_paths(path: str) -> None:
    assert relpath_problem(path) is None


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/",
                                  "C:/x", "a\\b", "a\x00b", "a\nb", "x" * 256, "a/" * 3000])
def test_unsafe_paths(path: str) -> None:
    assert relpath_problem(path) is not None


def test_ids() -> None:
    assert id_problem("ORG-LOCAL") is None
    assert id_problem("batch-2026.01_x") is None
    for bad in ("", "..", ".hidden", "a/b", "a b", "x" * 200, "-lead"):
        assert id_problem(bad) is not None
