"""Kubernetes isolation against kmock: one pod and one NetworkPolicy per session, both
locked down, as the API server receives them; sessions sharing an 8-hex prefix apart."""

from __future__ import annotations

from typing import Any

import pytest

from common.errors import ContractError, TransientError
from domain.exam.access import authorize
from domain.exam.backends.kubernetes import SESSION_LABEL, USER_AGENT
from domain.exam.environments import create_environment, destroy_environment, environment_status
from domain.exam.sessions import create_session, transition
from domain.exam.states import SessionState
from domain.exam.sweep import sweep
from tests.domain.exam.backends.conftest import KubeApi, Kubelet
from tests.support.kube_schemas import schema_errors
from tests.support.pod_security import restricted_violations

USER_A = "550e8400-e29b-41d4-a716-446655440000"
USER_B = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
# The issue's own example: two sessions whose ids share their first 8 hex.
SESSION_A = "33333333-1111-4111-8111-111111111111"
SESSION_B = "33333333-2222-4222-8222-222222222222"
SHORT = "exam-33333333"
LONG_B = "exam-33333333222242228222222222222222"


def _ready(kube_api: KubeApi, session_id: str, user_id: str, pod_name: str) -> dict[str, Any]:
    create_session(user_id, session_id, 7200)
    Kubelet(kube_api, pod_name, "ready").start()
    return create_environment(session_id, 10)


def _by_name(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects}


def test_the_policy_and_pod_as_the_api_receives_them(kube_api: KubeApi,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXAM_GATEWAY_SELECTOR", "app=exam-gateway,tier=edge")
    monkeypatch.setenv("CONVEYOR_EXAM_GATEWAY_NAMESPACE", "conveyor")
    monkeypatch.setenv("CONVEYOR_EXAM_EGRESS_ALLOW", "203.0.113.0/24:443,198.51.100.7")
    monkeypatch.setenv("CONVEYOR_EXAM_RUN_AS_USER", "4242")
    _ready(kube_api, SESSION_A, USER_A, SHORT)
    (pod,) = kube_api.pods()
    (policy,) = kube_api.policies()

    # The policy was created before the pod, and the pod owns it (garbage collection).
    creates = [r for r in kube_api.requests_by(USER_AGENT) if r.action == "CREATE"]
    assert [r.resource.plural for r in creates] == ["networkpolicies", "pods"]
    assert policy["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": SHORT, "uid": pod["metadata"]["uid"]}]

    # It selects this session's pod alone, denies everything both ways but what it lists.
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "exam-session",
                                                   SESSION_LABEL: SESSION_A}}
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    assert spec["ingress"] == [{"from": [{
        "podSelector": {"matchLabels": {"app": "exam-gateway", "tier": "edge"}},
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "conveyor"}}}]}]
    dns, allowed_443, allowed_any = spec["egress"]
    assert dns["to"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert sorted((p["protocol"], p["port"]) for p in dns["ports"]) == [("TCP", 53),
                                                                         ("UDP", 53)]
    assert allowed_443 == {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
                           "ports": [{"protocol": "TCP", "port": 443}]}
    assert allowed_any == {"to": [{"ipBlock": {"cidr": "198.51.100.7/32"}}]}

    # The pod meets the restricted Pod Security Standard.
    assert restricted_violations(pod) == []
    assert pod["spec"]["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 4242, "runAsGroup": 1000, "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"}}
    (container,) = pod["spec"]["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "runAsNonRoot": True,
        "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["volumeMounts"] == [{"name": "scratch", "mountPath": "/tmp"}]
    assert pod["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]
    assert pod["metadata"]["annotations"][SESSION_LABEL] == SESSION_A

    # Both, as sent, are valid for the oldest and newest Kubernetes we support.
    for sent in (pod, policy):
        received = {k: v for k, v in sent.items() if k != "status"}
        assert schema_errors(received) == []

    # Destroy removes both.
    destroy_environment(SESSION_A)
    assert kube_api.pods() == [] and kube_api.policies() == []


def test_sessions_sharing_a_prefix_each_get_their_own_pod_and_policy(
        kube_api: KubeApi) -> None:
    # Given two sessions whose ids share their first 8 hex, of two users,
    first = _ready(kube_api, SESSION_A, USER_A, SHORT)
    second = _ready(kube_api, SESSION_B, USER_B, LONG_B)
    for sid in (SESSION_A, SESSION_B):
        transition(sid, SessionState.RUNNING, None)
    # then each has its own environment: the second under the longer name,
    assert (first["pod_name"], second["pod_name"]) == (SHORT, LONG_B)
    assert first["environment_id"] != second["environment_id"]
    pods, policies = _by_name(kube_api.pods()), _by_name(kube_api.policies())
    assert sorted(pods) == sorted(policies) == sorted([SHORT, LONG_B])  # one policy per pod
    for name, sid in ((SHORT, SESSION_A), (LONG_B, SESSION_B)):
        assert pods[name]["metadata"]["labels"][SESSION_LABEL] == sid
        assert policies[name]["spec"]["podSelector"]["matchLabels"][SESSION_LABEL] == sid
        assert policies[name]["metadata"]["ownerReferences"][0]["uid"] == \
            pods[name]["metadata"]["uid"]
    # when the second is destroyed,
    destroy_environment(SESSION_B)
    # then the first is untouched: ready, and open to its owner only.
    assert sorted(_by_name(kube_api.pods())) == sorted(_by_name(kube_api.policies())) == [SHORT]
    assert environment_status(SESSION_A)["ready"] is True
    assert authorize(SESSION_A, USER_A)["authorized"] is True
    for sid, user in ((SESSION_A, USER_B), (SESSION_B, USER_B)):
        with pytest.raises(ContractError) as caught:
            authorize(sid, user)
        assert (caught.value.code, caught.value.details) == ("ACCESS_DENIED", {})


def test_the_sweep_releases_the_pod_and_its_policy(kube_api: KubeApi) -> None:
    _ready(kube_api, SESSION_A, USER_A, SHORT)
    transition(SESSION_A, SessionState.TERMINATED, None)
    result = sweep()
    assert result.environments_to_destroy == [SESSION_A]
    for sid in result.environments_to_destroy:  # what the sweep's destroy jobs do
        destroy_environment(sid)
    assert kube_api.pods() == [] and kube_api.policies() == []


def test_destroy_with_the_api_unreachable_is_a_destroy_failure(kube_api: KubeApi) -> None:
    from workers.ports import free_port

    _ready(kube_api, SESSION_A, USER_A, SHORT)
    kube_api.kubeconfig.write_text(kube_api.kubeconfig.read_text().replace(
        kube_api.url, f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TransientError) as caught:
        destroy_environment(SESSION_A)
    final = caught.value.final_error()  # what the job answers once its retries are spent
    assert (final.code, final.message, final.exit_code) == (
        "ENVIRONMENT_DESTROY_FAILED", "Failed to destroy execution environment", 1)
    assert final.details["session_id"] == SESSION_A
    assert "Kubernetes API unavailable" in final.details["reason"]
    # The environment stays `terminating`: the sweep sends the destroy again later.
    assert environment_status(SESSION_A)["status"] == "terminating"
    assert len(kube_api.pods()) == 1


def test_a_policy_name_taken_by_another_session_is_refused_and_left_alone(
        kube_api: KubeApi) -> None:
    from config.exam import get_exam_settings
    from domain.exam.backends.base import EnvironmentSpec
    from domain.exam.backends.kubernetes_manifests import network_policy_manifest

    other = EnvironmentSpec(session_id=SESSION_B, user_id=USER_B, pod_name=SHORT,
                            namespace="exam-sessions", settings=get_exam_settings())
    kube_api.networking().create_namespaced_network_policy(
        "exam-sessions", network_policy_manifest(other), _request_timeout=5)
    create_session(USER_A, SESSION_A, 7200)
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION_A, 5)
    assert caught.value.details["reason"] == \
        f"NetworkPolicy name {SHORT} is taken by another session"
    assert kube_api.pods() == []  # no pod ever ran without its own policy
    (policy,) = kube_api.policies()
    assert policy["metadata"]["labels"][SESSION_LABEL] == SESSION_B


def test_the_destroy_command_with_the_cluster_unreachable(kube_api: KubeApi) -> None:
    # The case 4, as an operator runs it: the job retries, then answers in
    # destroy's terms (it used to say ENVIRONMENT_CREATE_FAILED, "Failed to create ...").
    import os

    from tests.support.cli import json_err, run_cli
    from workers.ports import free_port

    _ready(kube_api, SESSION_A, USER_A, SHORT)
    kube_api.kubeconfig.write_text(kube_api.kubeconfig.read_text().replace(
        kube_api.url, f"http://127.0.0.1:{free_port()}"))
    result = run_cli("execution-environment", "destroy", "--session-id", SESSION_A,
                     env={**os.environ, "CONVEYOR_EXAM_API_RETRY_BASE_S": "0.01",
                          "CONVEYOR_EXAM_API_RETRY_CAP_S": "0.02"})
    assert result.returncode == 1, result.stderr
    error = json_err(result)
    assert (error["error"], error["code"], error["message"]) == (
        True, "ENVIRONMENT_DESTROY_FAILED", "Failed to destroy execution environment")
    assert error["details"]["session_id"] == SESSION_A
    assert error["details"]["reason"].startswith("Kubernetes API unavailable")


@pytest.mark.parametrize("settings", [{}, {"CONVEYOR_EXAM_READ_ONLY_ROOT": "0",
                                           "CONVEYOR_EXAM_SCRATCH_SIZE": "none",
                                           "CONVEYOR_EXAM_SCRATCH_PATH": "/work"}])
def test_every_configured_pod_stays_restricted_and_valid(
        monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    from config.exam import get_exam_settings
    from domain.exam.backends.base import EnvironmentSpec
    from domain.exam.backends.kubernetes_manifests import network_policy_manifest, pod_manifest

    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    spec = EnvironmentSpec(session_id=SESSION_A, user_id=USER_A, pod_name=SHORT,
                           namespace="exam-sessions", settings=get_exam_settings())
    pod = pod_manifest(spec)
    assert restricted_violations(pod) == []
    assert schema_errors(pod) == [] and schema_errors(network_policy_manifest(spec)) == []
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is not bool(settings)


def test_the_restricted_checker_can_fail() -> None:
    bare = {"spec": {"containers": [{"name": "c", "image": "i"}],
                     "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}}
    found = restricted_violations(bare)
    assert "hostPath volume" in found
    assert {"c: allowPrivilegeEscalation must be false", "c: capabilities must drop ALL",
            "c: runAsNonRoot must be true",
            "c: seccompProfile must be RuntimeDefault or Localhost"} <= set(found)
