"""The layers of docs/architecture.md, checked on the source: who may import whom.

Every import counts, those inside functions too (a lazy import is still a dependency,
and a lazy circle is still a circle: it only moves the failure to run time).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("api", "bench", "cli", "common", "config", "domain", "store", "tasks", "workers")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic loads these itself, by file
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours an imported dotted name lands in (its longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _imports(module: str) -> Iterator[str]:
    """Every module of ours that ``module`` imports, anywhere in its code."""
    tree = ast.parse(MODULES[module].read_text())
    is_package = MODULES[module].name == "__init__.py"
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                yield target


GRAPH = {module: set(_imports(module)) for module in MODULES}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_sees_real_imports() -> None:
    # The checks below are only as good as the graph: these edges exist.
    assert "store.driver" in GRAPH["store.job_writes"]
    assert "common.errors" in GRAPH["store.jobs"]
    assert "store.migrate" in GRAPH["store.driver"]  # a lazy import is an edge too


@pytest.mark.parametrize("layer", ["store", "common"])
def test_store_and_common_import_nothing_from_domain(layer: str) -> None:
    offenders = sorted(f"{m} -> {t}" for m, targets in GRAPH.items() if _layer(m) == layer
                       for t in targets if _layer(t) == "domain")
    assert offenders == []


def test_common_imports_nothing_of_ours() -> None:
    offenders = sorted(f"{m} -> {t}" for m, targets in GRAPH.items() if _layer(m) == "common"
                       for t in targets if _layer(t) != "common")
    assert offenders == []


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(GRAPH[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(GRAPH[node])
    return seen


def _cycles() -> list[list[str]]:
    """The groups of modules that import each other, directly or through others."""
    reach = {module: _reachable(module) for module in GRAPH}
    groups = {frozenset(n for n in reach[m] if m in reach[n]) for m in GRAPH if m in reach[m]}
    return sorted(sorted(group) for group in groups)


def test_no_import_cycles_among_our_modules() -> None:
    assert _cycles() == []


def test_the_cycle_check_finds_a_cycle() -> None:
    GRAPH["common.clock"].add("common.errors")
    GRAPH["common.errors"].add("common.clock")
    try:
        assert ["common.clock", "common.errors"] in _cycles()
    finally:
        GRAPH["common.clock"].discard("common.errors")
        GRAPH["common.errors"].discard("common.clock")
