"""The Kubernetes backend: one pod per session, through the official client.

The client is imported when this backend is first used (it costs 0.2-0.65 s).
Every request carries `_request_timeout`, and watches filter events by pod name
themselves: the selectors are sent, but an API server (or an emulator) that
ignores them must not make us read another session's pod.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from domain.errors import ContractError, TransientError
from domain.exam.backends.base import EnvironmentSpec, Outcome
from domain.exam.errors import create_failed

SESSION_LABEL = "conveyor.io/exam-session-id"
USER_LABEL = "conveyor.io/exam-user-id"
APP_LABEL = "app.kubernetes.io/name"
APP_NAME = "exam-session"
WATCH_SLICE_S = 30.0

# Container waiting reasons after which the pod will not become ready by itself.
FATAL_WAITING = frozenset({"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
                           "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
                           "CreateContainerError", "RunContainerError"})


def pod_manifest(spec: EnvironmentSpec) -> dict[str, Any]:
    s = spec.settings
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": spec.pod_name,
            "namespace": spec.namespace,
            "labels": {APP_LABEL: APP_NAME, SESSION_LABEL: spec.session_id,
                       USER_LABEL: spec.user_id},
        },
        "spec": {
            # The candidate's terminal must not hold credentials to the cluster it runs in.
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "restartPolicy": "Always",
            "containers": [{
                "name": "exam",
                "image": s.image,
                "resources": {
                    "requests": {"cpu": s.cpu_request, "memory": s.memory_request},
                    "limits": {"cpu": s.cpu_limit, "memory": s.memory_limit},
                },
                "securityContext": {"allowPrivilegeEscalation": False},
            }],
        },
    }


def evaluate_pod(pod: dict[str, Any]) -> tuple[str, str | None]:
    """("ready"|"failed"|"pending", reason) from a pod's status (plain JSON)."""
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return "ready", None
    for container in (status.get("initContainerStatuses") or []) + \
            (status.get("containerStatuses") or []):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FATAL_WAITING:
            last = ((container.get("lastState") or {}).get("terminated") or {}).get("reason")
            if reason == "CrashLoopBackOff" and last == "OOMKilled":
                reason = "OOMKilled"
            message = waiting.get("message")
            return "failed", f"{reason}: {message}" if message else reason
    if status.get("phase") == "Failed":
        return "failed", f"Pod failed: {status.get('reason') or 'unknown reason'}"
    for condition in conditions:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            hint = condition.get("reason") or "Unschedulable"
            message = condition.get("message")
            return "pending", f"{hint}: {message}" if message else hint
    return "pending", None


def _is_transient(exc: BaseException) -> bool:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(exc, ApiException):
        return exc.status in (0, 429) or exc.status >= 500
    return isinstance(exc, (HTTPError, ConnectionError, TimeoutError, OSError))


def _api_unavailable(spec: EnvironmentSpec, exc: BaseException) -> TransientError:
    detail = f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
    return TransientError(f"Kubernetes API unavailable: {detail}",
                          create_failed(spec.session_id,
                                        f"Kubernetes API unavailable: {detail}"[:500]))


class KubernetesBackend:
    name = "kubernetes"

    def __init__(self, api: Any = None) -> None:
        self._api = api

    def api(self, spec: EnvironmentSpec) -> Any:
        if self._api is None:
            self._api = core_api(spec)
        return self._api

    def _call(self, spec: EnvironmentSpec, method: str, *args: Any, **kwargs: Any) -> Any:
        """One API request, bounded in time; retryable failures become TransientError."""
        kwargs.setdefault("_request_timeout", spec.settings.api_timeout_s)
        try:
            return getattr(self.api(spec), method)(*args, **kwargs)
        except Exception as exc:
            if _is_transient(exc):
                raise _api_unavailable(spec, exc) from exc
            raise

    def start(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        try:
            pod = self._call(spec, "create_namespaced_pod", spec.namespace, pod_manifest(spec))
            return {"uid": _get(pod, "metadata", "uid")}
        except ApiException as exc:
            if exc.status != 409:
                raise create_failed(spec.session_id, _api_reason(exc)) from None
        # 409: an earlier delivery of this job made the pod (or another session owns the name).
        existing = self._read(spec)
        if existing is None:
            raise TransientError("the pod existed, then vanished; creating it again")
        owner = ((existing.get("metadata") or {}).get("labels") or {}).get(SESSION_LABEL)
        if owner != spec.session_id:
            raise create_failed(spec.session_id,
                                f"pod name {spec.pod_name} is taken by another session")
        return {"uid": (existing.get("metadata") or {}).get("uid")}

    def _read(self, spec: EnvironmentSpec) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            response = self._call(spec, "read_namespaced_pod", spec.pod_name, spec.namespace,
                                  _preload_content=False)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ContractError("KUBERNETES_API_ERROR", "The Kubernetes API refused a request",
                                {"session_id": spec.session_id, "reason": _api_reason(exc)},
                                1) from None
        import json

        data: dict[str, Any] = json.loads(response.data)
        return data

    def wait_ready(self, spec: EnvironmentSpec, handle: dict[str, Any],
                   timeout_s: float) -> Outcome:
        deadline = time.monotonic() + max(timeout_s, 0.0)
        hint: str | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome(False, hint, timed_out=True)
            for event_type, pod in self._watch(spec, min(remaining, WATCH_SLICE_S)):
                if event_type == "DELETED":
                    return Outcome(False, "Pod was deleted before it became ready")
                verdict, reason = evaluate_pod(pod)
                if verdict == "ready":
                    return Outcome(True)
                if verdict == "failed":
                    return Outcome(False, reason)
                hint = reason or hint

    def _watch(self, spec: EnvironmentSpec, slice_s: float) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events of our pod for up to slice_s (the first ones give its current state)."""
        from kubernetes import watch
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        stream = watch.Watch().stream(
            self.api(spec).list_namespaced_pod, spec.namespace,
            field_selector=f"metadata.name={spec.pod_name}",
            label_selector=f"{SESSION_LABEL}={spec.session_id}",
            timeout_seconds=max(1, int(slice_s)), _request_timeout=slice_s)
        try:
            for event in stream:
                raw = event.get("raw_object") or {}
                metadata = raw.get("metadata") or {}
                if metadata.get("name") == spec.pod_name and \
                        (metadata.get("labels") or {}).get(SESSION_LABEL) == spec.session_id:
                    yield str(event.get("type")), raw
        except (ReadTimeoutError, TimeoutError):
            return  # the slice is over: look again until the deadline
        except ProtocolError as exc:
            raise _api_unavailable(spec, exc) from exc
        except Exception as exc:
            if _is_transient(exc):
                raise _api_unavailable(spec, exc) from exc
            raise

    def delete(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> None:
        from kubernetes.client.exceptions import ApiException

        existing = self._read(spec)
        if existing is None:
            return
        owner = ((existing.get("metadata") or {}).get("labels") or {}).get(SESSION_LABEL)
        if owner != spec.session_id:
            return  # another session's pod of the same name: never ours to delete
        try:
            self._call(spec, "delete_namespaced_pod", spec.pod_name, spec.namespace,
                       grace_period_seconds=spec.settings.pod_grace_period_s)
        except ApiException as exc:
            if exc.status != 404:
                raise ContractError("ENVIRONMENT_DESTROY_FAILED",
                                    "Failed to destroy execution environment",
                                    {"session_id": spec.session_id,
                                     "reason": _api_reason(exc)}, 1) from None

    def is_ready(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> bool:
        pod = self._read(spec)
        if pod is None:
            return False
        owner = ((pod.get("metadata") or {}).get("labels") or {}).get(SESSION_LABEL)
        return owner == spec.session_id and evaluate_pod(pod)[0] == "ready"


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    return obj


def _api_reason(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or exc.reason
    except (TypeError, ValueError):
        message = exc.reason
    return f"Kubernetes API error {exc.status}: {message}"[:500]


def core_api(spec: EnvironmentSpec) -> Any:
    """CoreV1Api from in-cluster config or a kubeconfig (the configured one, else default)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    s = spec.settings
    try:
        if s.in_cluster:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=str(s.kubeconfig) if s.kubeconfig else None,
                context=s.kube_context, client_configuration=configuration)
    except Exception as exc:  # ConfigException, a missing or unreadable file
        raise ContractError("KUBERNETES_CONFIG_ERROR",
                            f"cannot load the Kubernetes configuration: {exc}",
                            {"in_cluster": s.in_cluster,
                             "kubeconfig": str(s.kubeconfig) if s.kubeconfig else None},
                            1) from None
    return client.CoreV1Api(client.ApiClient(configuration))
