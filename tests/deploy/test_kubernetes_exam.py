"""deploy/kubernetes/exam-sessions: schema-valid, restricted, and least privilege.

Every shipped manifest validates against the official schemas of the oldest and newest
Kubernetes we support; the workers' Role grants exactly the requests the Kubernetes
backend sends through a whole create, status and destroy (seen by kmock), nothing more,
and nothing cluster-wide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.domain.exam.backends.conftest import KubeApi, Kubelet, kube_api  # noqa: F401
from tests.support.env import ROOT
from tests.support.kube_schemas import schema_errors

FOLDER = ROOT / "deploy" / "kubernetes" / "exam-sessions"
NAMESPACED_KINDS = {"ServiceAccount", "Role", "RoleBinding"}
# The HTTP-level action kmock saw, as the RBAC verb the API server would authorize.
VERB = {"FETCH": "get", "LIST": "list", "WATCH": "watch", "CREATE": "create",
        "DELETE": "delete"}


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in sorted(FOLDER.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _path, doc in _documents() if doc["kind"] == kind]


@pytest.mark.parametrize(("path", "doc"), _documents(),
                         ids=lambda v: v.name if isinstance(v, Path) else v["kind"])
def test_every_shipped_manifest_is_valid(path: Path, doc: dict[str, Any]) -> None:
    assert schema_errors(doc) == [], path


def test_the_schema_check_can_fail() -> None:
    role = _kind("Role")[0]
    broken = {**role, "rules": [{"resources": "pods", "verbs": ["get"]}]}  # not a list
    assert len(schema_errors(broken)) == 2


def test_the_namespace_enforces_the_restricted_profile() -> None:
    (namespace,) = _kind("Namespace")
    assert namespace["metadata"]["name"] == "exam-sessions"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_nothing_cluster_wide_and_the_binding_names_the_worker_account() -> None:
    kinds = {doc["kind"] for _path, doc in _documents()}
    assert kinds == {"Namespace", "ServiceAccount", "Role", "RoleBinding"}
    (account,) = _kind("ServiceAccount")
    assert (account["metadata"]["name"], account["metadata"]["namespace"]) == (
        "conveyor-worker", "conveyor")
    (role,) = _kind("Role")
    (binding,) = _kind("RoleBinding")
    for doc in (role, binding):
        assert doc["metadata"]["namespace"] == "exam-sessions"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "conveyor-worker",
                                    "namespace": "conveyor"}]


def _granted() -> set[tuple[str, str, str]]:
    (role,) = _kind("Role")
    return {(group, resource, verb) for rule in role["rules"]
            for group in rule["apiGroups"] for resource in rule["resources"]
            for verb in rule["verbs"]}


def test_the_role_grants_exactly_what_the_backend_requests(kube_api: KubeApi) -> None:  # noqa: F811
    from domain.exam.backends.kubernetes import USER_AGENT
    from domain.exam.environments import (
        create_environment,
        destroy_environment,
        environment_status,
    )
    from domain.exam.sessions import create_session

    # Given a whole environment life: create (policy, pod, owner, watch), status, destroy,
    session = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    create_session("550e8400-e29b-41d4-a716-446655440000", session, 7200)
    Kubelet(kube_api, "exam-6ba7b810", "ready").start()
    create_environment(session, 10)
    assert environment_status(session)["ready"] is True
    destroy_environment(session)
    # then every request the backend sent is one the Role allows, and the Role allows
    # nothing the backend did not need.
    used = set()
    for request in kube_api.requests_by(USER_AGENT):
        resource = request.resource.plural + (f"/{request.subresource}"
                                              if request.subresource else "")
        verb = "patch" if request.method == "PATCH" else VERB[str(request.action.value)]
        assert request.namespace == "exam-sessions"
        used.add((request.resource.group, resource, verb))
    assert used == _granted()
    assert {resource for _group, resource, _verb in used} <= {"pods", "pods/log",
                                                              "networkpolicies"}
