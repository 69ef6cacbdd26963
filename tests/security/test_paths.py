"""Paths never escape their roots (docs/security.md, "Paths").

What the contracts' own suites already prove is cited in docs/security.md; these are
the symlink tricks and names they did not try: links planted where a run, an exam
environment or a plugin would be written, and ids that are paths in disguise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from common.errors import ContractError
from config.exam import get_exam_settings
from domain.chirality.pipeline import PipelineRequest, run_pipeline
from domain.chirality.problem import Problem
from domain.exam.backends.base import EnvironmentSpec
from domain.exam.backends.local import LocalBackend
from tests.cli.plugins.conftest import PluginsCli
from tests.support.chirality import PROBLEM, fast_settings

SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
USER = "550e8400-e29b-41d4-a716-446655440000"


# ---- chirality: the worker's side of a run ----------------------------------------------

def _run(root: Path, run_id: str = "r1") -> None:
    run_pipeline(PipelineRequest(run_id=run_id, runs_root=str(root), resolver="echo",
                                 problem=Problem(**PROBLEM), max_seconds=60),
                 settings=fast_settings())


@pytest.mark.parametrize("planted", ["runs", "runs/r1/snapshots"])
def test_a_link_planted_where_a_run_writes_is_refused(tmp_path: Path, planted: str) -> None:
    # Given a link where the job will create one of the run's folders
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = root / planted
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    # When the job runs, it refuses (exit 2) and writes nothing through the link
    with pytest.raises(ContractError) as caught:
        _run(root)
    assert caught.value.exit_code == 2 and "symlink" in caught.value.message
    assert list(elsewhere.iterdir()) == []


def test_a_link_planted_as_the_manifest_is_replaced_not_written_through(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "runs" / "r1").mkdir(parents=True)
    victim = tmp_path / "victim.json"
    victim.write_text("keep me\n")
    (root / "runs" / "r1" / "index.json").symlink_to(victim)
    _run(root)
    manifest = root / "runs" / "r1" / "index.json"
    assert not manifest.is_symlink() and json.loads(manifest.read_text())["run_id"] == "r1"
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "..", "/abs", "r1\n", "R1"])
def test_the_worker_checks_the_run_id_of_the_message_again(tmp_path: Path, run_id: str) -> None:
    # A message may not come from our CLI: the job validates what it is given itself.
    with pytest.raises(ContractError) as caught:
        _run(tmp_path, run_id)
    assert caught.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


# ---- exam: the local backend's working folders ------------------------------------------

def _spec() -> EnvironmentSpec:
    return EnvironmentSpec(session_id=SESSION, user_id=USER, pod_name="exam-6ba7b810",
                           namespace="exam-sessions", settings=get_exam_settings())


def test_a_linked_namespace_folder_is_refused(tmp_path: Path) -> None:
    spec = _spec()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec.settings.local_root.mkdir(parents=True)
    spec.settings.local_namespace_dir.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ContractError):
        LocalBackend().start(spec, None)
    assert list(elsewhere.iterdir()) == []


def test_destroying_a_linked_environment_folder_removes_only_the_link(tmp_path: Path) -> None:
    spec = _spec()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me\n")
    spec.settings.local_namespace_dir.mkdir(parents=True)
    folder = spec.settings.local_namespace_dir / spec.pod_name
    folder.symlink_to(precious, target_is_directory=True)
    LocalBackend().delete(spec, None)
    assert not os.path.lexists(folder)
    assert (precious / "data.txt").read_text() == "keep me\n"


# ---- plugins: ids and versions are never paths ------------------------------------------

@pytest.mark.parametrize("args", [
    ["install", "../../escape"],
    ["install", "example-plugin", "--version", "../../../escape"],
    ["rollback", "example-plugin", "--version", "../../escape"],
    ["update", "../escape"],
])
def test_plugin_ids_and_versions_that_are_paths_are_refused(
        plugins: PluginsCli, plugin_dir: Path, tmp_path: Path, args: list[str]) -> None:
    call = plugins(*args)
    assert call.error_code == "ERROR-SCHEMA-001", call.out
    assert not (tmp_path / "escape").exists() and not plugin_dir.exists()


def test_a_request_file_cannot_smuggle_a_path_either(plugins: PluginsCli, plugin_dir: Path,
                                                     tmp_path: Path) -> None:
    request = {"pluginId": "../../escape", "version": "1.2.0",
               "compatibilityIntent": {"nodeVersion": "20.0.0", "os": "linux", "arch": "x64"}}
    call = plugins("install", "--input", "-", stdin=json.dumps(request))
    assert call.error_code == "ERROR-SCHEMA-001"
    assert not (tmp_path / "escape").exists() and not plugin_dir.exists()
