"""The Kubernetes backend: one pod per session, through the official client.

The client is imported when this backend is first used (it costs 0.2-0.65 s).
Every request carries `_request_timeout`, and watches filter events by pod name
themselves: the selectors are sent, but an API server (or an emulator) that
ignores them must not make us read another session's pod.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from common.errors import ContractError, TransientError
from domain.exam.backends.base import EnvironmentSpec, Outcome
from domain.exam.backends.kubernetes_manifests import (
    APP_LABEL,
    APP_NAME,
    SESSION_LABEL,
    USER_LABEL,
    network_policy_manifest,
    owner_reference_patch,
    owner_session,
    pod_manifest,
)
from domain.exam.errors import create_failed, destroy_failed

__all__ = ["APP_LABEL", "APP_NAME", "SESSION_LABEL", "USER_LABEL", "KubernetesBackend",
           "evaluate_pod", "pod_manifest"]
USER_AGENT = "conveyor-exam-worker"
# After deleting the pod, how long beyond its grace period to wait for it to be gone
# before its NetworkPolicy is deleted (the pod is never unfenced while it still runs).
POD_GONE_MARGIN_S = 10.0
POD_GONE_POLL_S = 0.2

WATCH_SLICE_S = 30.0

# Container waiting reasons after which the pod will not become ready by itself.
FATAL_WAITING = frozenset({"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
                           "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
                           "CreateContainerError", "RunContainerError"})


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
    """One pod and one NetworkPolicy per session, both named and labelled for it alone.

    Nothing here adopts, reports or deletes an object whose session label (and
    annotation) is not the caller's: a name shared with another session is refused.
    """

    name = "kubernetes"

    def __init__(self, api_client: Any = None) -> None:
        self._client = api_client
        self._apis: dict[str, Any] = {}

    def api(self, spec: EnvironmentSpec, group: str = "core") -> Any:
        if self._client is None:
            self._client = api_client(spec)
        if group not in self._apis:
            from kubernetes import client

            factory = client.CoreV1Api if group == "core" else client.NetworkingV1Api
            self._apis[group] = factory(self._client)
        return self._apis[group]

    def _call(self, spec: EnvironmentSpec, method: str, *args: Any, group: str = "core",
              **kwargs: Any) -> Any:
        """One API request, bounded in time; retryable failures become TransientError."""
        kwargs.setdefault("_request_timeout", spec.settings.api_timeout_s)
        try:
            return getattr(self.api(spec, group), method)(*args, **kwargs)
        except Exception as exc:
            if _is_transient(exc):
                raise _api_unavailable(spec, exc) from exc
            raise

    # ---- create ---------------------------------------------------------------------

    def start(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> dict[str, Any]:
        # The fence first: the pod must never run, even for a moment, without its policy.
        self._create_owned(spec, "policy", network_policy_manifest(spec))
        pod = self._create_owned(spec, "pod", pod_manifest(spec))
        uid = (pod.get("metadata") or {}).get("uid")
        if uid:
            self._call(spec, "patch_namespaced_network_policy", spec.pod_name, spec.namespace,
                       owner_reference_patch(spec.pod_name, uid), group="networking")
        return {"uid": uid}

    def _create_owned(self, spec: EnvironmentSpec, kind: str,
                      manifest: dict[str, Any]) -> dict[str, Any]:
        """Create the object, or adopt the one an earlier delivery made (409) if it is ours."""
        from kubernetes.client.exceptions import ApiException

        method, group = _CREATE[kind]
        try:
            response = self._call(spec, method, spec.namespace, manifest, group=group,
                                  _preload_content=False)
            created: dict[str, Any] = json.loads(response.data)
            return created
        except ApiException as exc:
            if exc.status != 409:
                raise create_failed(spec.session_id, _api_reason(exc)) from None
        existing = self._read(spec, kind)
        if existing is None:
            raise TransientError(f"the {kind} existed, then vanished; creating it again")
        if owner_session(existing) != spec.session_id:
            raise create_failed(spec.session_id, f"{_KIND_NAME[kind]} name {spec.pod_name} is "
                                                 f"taken by another session")
        return existing

    def _read(self, spec: EnvironmentSpec, kind: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        method, group = _READ[kind]
        try:
            response = self._call(spec, method, spec.pod_name, spec.namespace, group=group,
                                  _preload_content=False)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ContractError("KUBERNETES_API_ERROR", "The Kubernetes API refused a request",
                                {"session_id": spec.session_id, "reason": _api_reason(exc)},
                                1) from None
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
                        owner_session(raw) == spec.session_id:
                    yield str(event.get("type")), raw
        except (ReadTimeoutError, TimeoutError):
            return  # the slice is over: look again until the deadline
        except ProtocolError as exc:
            raise _api_unavailable(spec, exc) from exc
        except Exception as exc:
            if _is_transient(exc):
                raise _api_unavailable(spec, exc) from exc
            raise

    # ---- destroy --------------------------------------------------------------------

    def delete(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> None:
        """The pod, then (once it is gone) its NetworkPolicy; only objects of this session."""
        pod = self._read(spec, "pod")
        if pod is not None and owner_session(pod) == spec.session_id:
            uid = (pod.get("metadata") or {}).get("uid")
            self._delete(spec, "pod", uid)
            self._wait_gone(spec, uid)
        policy = self._read(spec, "policy")
        if policy is not None and owner_session(policy) == spec.session_id:
            self._delete(spec, "policy", (policy.get("metadata") or {}).get("uid"))

    def _delete(self, spec: EnvironmentSpec, kind: str, uid: str | None) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        method, group = _DELETE[kind]
        # The uid precondition: never a same-named object made since we read ours.
        body = client.V1DeleteOptions(
            grace_period_seconds=spec.settings.pod_grace_period_s if kind == "pod" else None,
            preconditions=client.V1Preconditions(uid=uid) if uid else None)
        try:
            self._call(spec, method, spec.pod_name, spec.namespace, group=group, body=body)
        except ApiException as exc:
            if exc.status not in (404, 409):  # gone already, or replaced: not ours any more
                raise destroy_failed(spec.session_id, _api_reason(exc)) from None

    def _wait_gone(self, spec: EnvironmentSpec, uid: str | None) -> None:
        deadline = time.monotonic() + spec.settings.pod_grace_period_s + POD_GONE_MARGIN_S
        while time.monotonic() < deadline:
            pod = self._read(spec, "pod")
            if pod is None or (pod.get("metadata") or {}).get("uid") != uid:
                return
            time.sleep(POD_GONE_POLL_S)

    # ---- status ---------------------------------------------------------------------

    def is_ready(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> bool:
        pod = self._read(spec, "pod")
        if pod is None or owner_session(pod) != spec.session_id:
            return False
        uid = (handle or {}).get("uid")
        if uid and (pod.get("metadata") or {}).get("uid") != uid:
            return False  # a later pod of the same name and session is not this environment
        return evaluate_pod(pod)[0] == "ready"


_CREATE = {"pod": ("create_namespaced_pod", "core"),
           "policy": ("create_namespaced_network_policy", "networking")}
_READ = {"pod": ("read_namespaced_pod", "core"),
         "policy": ("read_namespaced_network_policy", "networking")}
_DELETE = {"pod": ("delete_namespaced_pod", "core"),
           "policy": ("delete_namespaced_network_policy", "networking")}
_KIND_NAME = {"pod": "pod", "policy": "NetworkPolicy"}


def _api_reason(exc: Any) -> str:
    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or exc.reason
    except (TypeError, ValueError):
        message = exc.reason
    return f"Kubernetes API error {exc.status}: {message}"[:500]


def api_client(spec: EnvironmentSpec) -> Any:
    """An ApiClient from in-cluster config or a kubeconfig (the configured one, else default)."""
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
    made = client.ApiClient(configuration)
    made.user_agent = USER_AGENT  # our requests, recognizable in the API server's audit log
    return made
