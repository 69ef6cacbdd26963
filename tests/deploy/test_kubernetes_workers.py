"""deploy/kubernetes/conveyor/: every manifest valid against the official Kubernetes
schemas (kubernetes-validate, strict, on the oldest and newest versions it ships), and
the deployment's shape: one beat that is never two, probes and resources everywhere,
worker groups covering every queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from config.queues import QUEUES
from tests.support.env import ROOT
from workers.stack import WORKER_GROUPS

FOLDER = ROOT / "deploy" / "kubernetes" / "conveyor"
FILES = sorted(FOLDER.glob("*.yaml"))


def _versions() -> list[str]:
    shipped = sorted(set(kv_utils.all_versions()),
                     key=lambda v: tuple(int(p) for p in v.split(".")))
    return [shipped[0], shipped[-1]]


def _documents() -> list[dict[str, Any]]:
    return [doc for path in FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


DOCS = _documents()


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in DOCS if d["kind"] == kind}


def test_the_manifests_are_there() -> None:
    assert {p.name for p in FILES} >= {"namespace.yaml", "configmap.yaml", "secret.yaml",
                                       "beat.yaml", "flower.yaml"}
    assert {d["kind"] for d in DOCS} >= {"Namespace", "ConfigMap", "Secret", "Deployment",
                                         "Service"}


@pytest.mark.parametrize("version", _versions())
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_valid_against_the_official_schemas(path: Path, version: str) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            kubernetes_validate.validate(doc, version, strict=True)


def test_a_broken_manifest_is_refused() -> None:
    # The check above can fail: a Deployment without its selector is not one.
    beat = yaml.safe_load((FOLDER / "beat.yaml").read_text())
    del beat["spec"]["selector"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(beat, _versions()[-1], strict=True)


def test_everything_lives_in_the_conveyor_namespace() -> None:
    assert list(_of_kind("Namespace")) == ["conveyor"]
    for doc in DOCS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "conveyor", doc["metadata"]["name"]


def test_exactly_one_beat_and_recreate() -> None:
    beats = [name for name, d in _of_kind("Deployment").items()
             if "beat" in _container(d)["command"]]
    assert beats == ["beat"]
    spec = _of_kind("Deployment")["beat"]["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def _pod_specs() -> dict[str, dict[str, Any]]:
    return {name: d["spec"]["template"]["spec"] for kind in ("Deployment", "Job")
            for name, d in _of_kind(kind).items()}


def test_every_deployment_has_probes_and_resources() -> None:
    for name, deployment in _of_kind("Deployment").items():
        container = _container(deployment)
        assert "livenessProbe" in container and "readinessProbe" in container, name
    for name, pod in _pod_specs().items():
        resources = pod["containers"][0]["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
        assert resources["limits"]["memory"], name


def test_every_pod_runs_as_conveyor_worker_with_config_and_secret() -> None:
    for name, pod in _pod_specs().items():
        assert pod["serviceAccountName"] == "conveyor-worker", name
        sources = pod["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": "conveyor-config"}} in sources, name
        assert {"secretRef": {"name": "conveyor-secrets"}} in sources, name
    # Passwords live in the Secret only.
    assert not any("://" in str(v) and "@" in str(v)
                   for v in _of_kind("ConfigMap")["conveyor-config"]["data"].values())


def _queues_of(command: list[str]) -> list[str]:
    return command[command.index("-Q") + 1].split(",")


def test_worker_groups_are_the_local_stacks_and_cover_every_queue() -> None:
    workers = {name: d for name, d in _of_kind("Deployment").items()
               if _container(d)["command"][:2] == ["conveyor", "worker"]}
    assert set(workers) == set(WORKER_GROUPS)
    consumed: list[str] = []
    for name, deployment in workers.items():
        queues = _queues_of(_container(deployment)["command"])
        assert sorted(queues) == sorted(WORKER_GROUPS[name])
        consumed += queues
    assert sorted(consumed) == sorted(QUEUES)


def test_worker_probes_ping_their_own_node() -> None:
    for name, deployment in _of_kind("Deployment").items():
        container = _container(deployment)
        command = container["command"]
        if command[:2] != ["conveyor", "worker"]:
            continue
        node = command[command.index("-n") + 1]
        assert node.endswith("@$(POD_NAME)")  # the pod's name, expanded by Kubernetes
        pod_name = next(e for e in container["env"] if e["name"] == "POD_NAME")
        assert pod_name["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        for probe in ("livenessProbe", "readinessProbe"):
            script = container[probe]["exec"]["command"][-1]
            assert script.startswith("celery -A config inspect ping -d "), name
            assert f"-d {node.replace('$(POD_NAME)', '$POD_NAME')} " in script, name
