"""The Kubernetes backend against kmock's emulator, with a test playing the kubelet."""

from __future__ import annotations

import uuid

import pytest

from common.errors import ContractError, TransientError
from domain.exam.backends.base import pod_name_for
from domain.exam.backends.kubernetes import (
    SESSION_LABEL,
    USER_LABEL,
    KubernetesBackend,
    evaluate_pod,
    pod_manifest,
)
from domain.exam.environments import (
    claim,
    create_environment,
    destroy_environment,
    environment_status,
    fail_after_retries,
    spec_for,
)
from domain.exam.sessions import create_session, get_session, status_json
from tests.domain.exam.backends.conftest import KubeApi, Kubelet

USER = "550e8400-e29b-41d4-a716-446655440000"
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
POD = "exam-6ba7b810"


def _new_session(session_id: str = SESSION, user_id: str = USER) -> None:
    create_session(user_id, session_id, 7200)


def test_ready_path(kube_api: KubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXAM_IMAGE", "example.org/exam-terminal:1.2")
    _new_session()
    kubelet = Kubelet(kube_api, POD, "ready")
    kubelet.start()
    result = create_environment(SESSION, 10)
    assert result["status"] == "running" and result["pod_name"] == POD
    assert result["pod_namespace"] == "exam-sessions" and result["ready_at"]
    assert get_session(SESSION).state == "ready"

    (pod,) = kube_api.pods()
    labels = pod["metadata"]["labels"]
    assert (labels[SESSION_LABEL], labels[USER_LABEL]) == (SESSION, USER)
    assert pod["spec"]["automountServiceAccountToken"] is False
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "example.org/exam-terminal:1.2"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"},
                                      "limits": {"cpu": "1", "memory": "1Gi"}}

    status = environment_status(SESSION)
    assert status == {"environment_id": result["environment_id"], "session_id": SESSION,
                      "pod_name": POD, "pod_namespace": "exam-sessions", "status": "running",
                      "ready": True}
    destroyed = destroy_environment(SESSION)
    assert destroyed["destroyed_at"] and kube_api.pods() == []
    assert environment_status(SESSION)["ready"] is False
    assert destroy_environment(SESSION) == destroyed  # idempotent


def test_image_pull_back_off_fails_the_session_and_deletes_the_pod(kube_api: KubeApi) -> None:
    _new_session()
    Kubelet(kube_api, POD, "image-pull").start()
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION, 10)
    err = caught.value
    assert (err.code, err.exit_code, err.message) == (
        "ENVIRONMENT_CREATE_FAILED", 1, "Failed to create execution environment")
    assert err.details["session_id"] == SESSION
    assert err.details["reason"].startswith("ImagePullBackOff")
    assert kube_api.pods() == []
    assert environment_status(SESSION)["status"] == "error"
    assert status_json(get_session(SESSION))["state"] == "failed"


def test_a_pod_never_ready_times_out(kube_api: KubeApi) -> None:
    _new_session()
    kubelet = Kubelet(kube_api, POD, "unschedulable")
    kubelet.start()
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION, 1)
    reason = caught.value.details["reason"]
    assert reason.startswith("Pod creation timeout after 1 seconds")
    assert "Unschedulable" in reason  # why it never became ready, when the pod says so
    assert kubelet.patched.is_set()
    assert kube_api.pods() == []
    session = get_session(SESSION)
    assert session.state == "failed" and session.reason == reason


def test_a_redelivered_create_adopts_the_pod_instead_of_making_a_second(
        kube_api: KubeApi) -> None:
    # Given a first delivery that claimed the session and created the pod, then died,
    _new_session()
    session, env, _done = claim(SESSION, 10)
    KubernetesBackend().start(spec_for(session, env), None)
    assert len(kube_api.pods()) == 1
    # when the job is delivered again (the create answers 409),
    Kubelet(kube_api, POD, "ready").start()
    result = create_environment(SESSION, 10)
    # then it adopts that pod: one pod, one environment, the session ready.
    assert result["status"] == "running" and result["environment_id"] == env.id
    assert [p["metadata"]["name"] for p in kube_api.pods()] == [POD]
    assert get_session(SESSION).state == "ready"
    # And a delivery after success answers from the store.
    assert create_environment(SESSION, 10) == result


def test_a_pod_name_taken_by_another_session_is_left_alone(kube_api: KubeApi) -> None:
    other = "6ba7b810-0000-4000-8000-000000000001"  # same first 8 hex
    _new_session()
    manifest = pod_manifest(spec_for(get_session(SESSION), _fake_env(other)))
    manifest["metadata"]["labels"][SESSION_LABEL] = other
    kube_api.client().create_namespaced_pod("exam-sessions", manifest, _request_timeout=5)
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION, 5)
    assert "taken by another session" in caught.value.details["reason"]
    assert [p["metadata"]["labels"][SESSION_LABEL] for p in kube_api.pods()] == [other]


def _fake_env(session_id: str) -> object:
    class Env:
        pod_name = pod_name_for(session_id)
        pod_namespace = "exam-sessions"
    return Env()


def test_an_unreachable_api_is_transient_then_fails_the_session(
        kube_api: KubeApi, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from workers.ports import free_port

    kubeconfig = kube_api.kubeconfig.read_text().replace(
        kube_api.url, f"http://127.0.0.1:{free_port()}")
    kube_api.kubeconfig.write_text(kubeconfig)
    _new_session()
    with pytest.raises(TransientError) as caught:
        create_environment(SESSION, 5)
    assert "Kubernetes API unavailable" in caught.value.message
    final = caught.value.final_error()
    assert final.code == "ENVIRONMENT_CREATE_FAILED"
    # Once the job's retries are spent, the session must not stay initializing.
    assert get_session(SESSION).state == "initializing"
    fail_after_retries(SESSION, final)
    assert get_session(SESSION).state == "failed"


@pytest.mark.parametrize(("status", "verdict"), [
    ({"conditions": [{"type": "Ready", "status": "True"}]}, "ready"),
    ({"containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}]}, "failed"),
    ({"containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}},
                             "lastState": {"terminated": {"reason": "OOMKilled"}}}]}, "failed"),
    ({"containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]},
     "pending"),
    ({"phase": "Failed", "reason": "Evicted"}, "failed"),
    ({}, "pending"),
])
def test_evaluate_pod(status: dict[str, object], verdict: str) -> None:
    assert evaluate_pod({"status": status})[0] == verdict


def test_oom_is_named() -> None:
    pod = {"status": {"containerStatuses": [{
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled"}}}]}}
    assert evaluate_pod(pod) == ("failed", "OOMKilled")


def test_unique_sessions_get_their_own_pods(kube_api: KubeApi) -> None:
    second_user, second = str(uuid.uuid4()), "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    _new_session()
    _new_session(second, second_user)
    for sid in (SESSION, second):
        Kubelet(kube_api, pod_name_for(sid), "ready").start()
        create_environment(sid, 10)
    assert sorted(p["metadata"]["name"] for p in kube_api.pods()) == [
        "exam-1b4e28ba", POD]


def test_another_sessions_ready_pod_never_counts_as_ours(kube_api: KubeApi) -> None:
    # kmock ignores label and field selectors: the watch sees every pod in the namespace.
    other_user, other = str(uuid.uuid4()), "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    _new_session(other, other_user)
    Kubelet(kube_api, "exam-1b4e28ba", "ready").start()
    create_environment(other, 10)
    _new_session()
    with pytest.raises(ContractError) as caught:
        create_environment(SESSION, 1)  # nobody makes our pod ready
    assert caught.value.details["reason"] == "Pod creation timeout after 1 seconds"
    assert [p["metadata"]["name"] for p in kube_api.pods()] == ["exam-1b4e28ba"]
