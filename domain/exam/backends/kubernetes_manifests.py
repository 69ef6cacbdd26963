"""What the Kubernetes backend sends: the session's pod and its NetworkPolicy (plain JSON).

The pod meets the *restricted* Pod Security Standard (non-root, seccomp RuntimeDefault,
no capabilities, no privilege escalation, only an emptyDir volume), so a namespace that
enforces that profile admits it. The NetworkPolicy selects that one session's pod by
its full session id and denies everything but DNS, the exam gateway's ingress and the
configured egress allowlist: sessions cannot reach each other or the cluster.
"""

from __future__ import annotations

from typing import Any

from config.exam_kubernetes import DNS_PORT, NAMESPACE_NAME_LABEL, NetworkRules
from domain.exam.backends.base import EnvironmentSpec

SESSION_LABEL = "conveyor.io/exam-session-id"
USER_LABEL = "conveyor.io/exam-user-id"
APP_LABEL = "app.kubernetes.io/name"
APP_NAME = "exam-session"
SCRATCH_VOLUME = "scratch"
CONTAINER_NAME = "exam"


def identity_metadata(spec: EnvironmentSpec) -> dict[str, Any]:
    """Labels (to select by) and annotations (the record) naming the owning session."""
    return {
        "name": spec.pod_name,
        "namespace": spec.namespace,
        "labels": {APP_LABEL: APP_NAME, SESSION_LABEL: spec.session_id,
                   USER_LABEL: spec.user_id},
        "annotations": {SESSION_LABEL: spec.session_id, USER_LABEL: spec.user_id},
    }


def owner_session(obj: dict[str, Any]) -> str | None:
    """The session an object belongs to: label and annotation must agree."""
    metadata = obj.get("metadata") or {}
    label = (metadata.get("labels") or {}).get(SESSION_LABEL)
    annotation = (metadata.get("annotations") or {}).get(SESSION_LABEL, label)
    return label if label == annotation else None


def session_selector(spec: EnvironmentSpec) -> dict[str, str]:
    return {APP_LABEL: APP_NAME, SESSION_LABEL: spec.session_id}


def pod_manifest(spec: EnvironmentSpec) -> dict[str, Any]:
    s = spec.settings
    security = s.pod_security
    scratch: dict[str, Any] = {"sizeLimit": security.scratch_size} if security.scratch_size \
        else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": identity_metadata(spec),
        "spec": {
            # The candidate's terminal must not hold credentials to the cluster it runs in.
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "restartPolicy": "Always",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": security.run_as_user,
                "runAsGroup": security.run_as_group,
                "fsGroup": security.fs_group,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [{
                "name": CONTAINER_NAME,
                "image": s.image,
                "resources": {
                    "requests": {"cpu": s.cpu_request, "memory": s.memory_request},
                    "limits": {"cpu": s.cpu_limit, "memory": s.memory_limit},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "privileged": False,
                    "runAsNonRoot": True,
                    "readOnlyRootFilesystem": security.read_only_root,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "volumeMounts": [{"name": SCRATCH_VOLUME, "mountPath": security.scratch_path}],
            }],
            "volumes": [{"name": SCRATCH_VOLUME, "emptyDir": scratch}],
        },
    }


def _gateway_peer(rules: NetworkRules) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": dict(rules.gateway_pods)}}
    if rules.gateway_namespace is not None:
        peer["namespaceSelector"] = {
            "matchLabels": {NAMESPACE_NAME_LABEL: rules.gateway_namespace}}
    return peer


def _egress(rules: NetworkRules) -> list[dict[str, Any]]:
    dns = {"to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL:
                                                           rules.dns_namespace}},
                   "podSelector": {"matchLabels": dict(rules.dns_pods)}}],
           "ports": [{"protocol": "UDP", "port": DNS_PORT},
                     {"protocol": "TCP", "port": DNS_PORT}]}
    allowed: list[dict[str, Any]] = []
    for rule in rules.egress:
        entry: dict[str, Any] = {"to": [{"ipBlock": {"cidr": rule.cidr}}]}
        if rule.port is not None:
            entry["ports"] = [{"protocol": rule.protocol, "port": rule.port}]
        allowed.append(entry)
    return [dns, *allowed]


def network_policy_manifest(spec: EnvironmentSpec) -> dict[str, Any]:
    """Default deny both ways for this session's pod; then DNS, the gateway, the allowlist."""
    rules = spec.settings.network
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": identity_metadata(spec),
        "spec": {
            "podSelector": {"matchLabels": session_selector(spec)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [_gateway_peer(rules)]}],
            "egress": _egress(rules),
        },
    }


def owner_reference_patch(pod_name: str, pod_uid: str) -> dict[str, Any]:
    """Makes the pod the NetworkPolicy's owner: the garbage collector deletes the policy
    once the pod is gone, even if we crash before deleting it ourselves."""
    return {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Pod",
                                              "name": pod_name, "uid": pod_uid}]}}
