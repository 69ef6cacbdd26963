"""Exam session isolation settings, read from CONVEYOR_EXAM_* environment variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from config.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_path,
    env_str,
    environ,
)
from config.exam_kubernetes import (
    NetworkRules,
    PodSecurity,
    load_network_rules,
    load_pod_security,
)
from config.settings import get_settings

BACKENDS = ("local", "kubernetes")
DEFAULT_NAMESPACE = "exam-sessions"
# A pod that only holds its place: real deployments set the exam terminal's image.
DEFAULT_IMAGE = "registry.k8s.io/pause:3.9"
# The sweep interval (CONVEYOR_EXAM_SWEEP_EVERY_S, default 300 s) is read by config/beat.py.
DEFAULT_SESSION_DURATION_S = 7200
# What a local environment process inherits from the worker (plus its EXAM_* variables):
# the candidate's process stands where a pod's terminal would, and must no more see the
# worker's secrets (database and broker URLs, API keys) than a pod sees a service token.
LOCAL_ENV_ALLOWLIST = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM",
                       "USER", "LOGNAME", "SHELL", "PYTHONPATH")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True, kw_only=True)
class ExamSettings:
    """Where exam environments run and how they are sized, swept and retried."""

    backend: str
    """`local` (a working folder and a supervised process per session) or `kubernetes`."""
    namespace: str
    image: str
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    kubeconfig: Path | None
    """A kubeconfig file; None means the default (~/.kube/config) unless in_cluster."""
    kube_context: str | None
    in_cluster: bool
    api_timeout_s: float
    """Bound on one Kubernetes API request."""
    api_retry_base_s: float
    """First retry delay of a failed Kubernetes API call (doubles each time)."""
    api_retry_cap_s: float
    pod_grace_period_s: int
    default_duration_s: int
    local_root: Path
    """The local backend's working folders: <local_root>/<namespace>/<pod name>/."""
    local_command: str | None
    """The local backend's per-session program (a shell-style command line); None = built in."""
    local_env: Mapping[str, str] = field(default_factory=dict)
    """The environment the local program inherits (LOCAL_ENV_ALLOWLIST only)."""
    pod_security: PodSecurity = field(default_factory=PodSecurity)
    """The pod's security context (the restricted Pod Security Standard)."""
    network: NetworkRules = field(default_factory=NetworkRules)
    """What the per-session NetworkPolicy lets through."""

    @property
    def local_namespace_dir(self) -> Path:
        return self.local_root / self.namespace


def load_exam_settings() -> ExamSettings:
    home = get_settings().home
    return ExamSettings(
        backend=env_choice("CONVEYOR_EXAM_BACKEND", "local", BACKENDS),
        namespace=_namespace(),
        image=env_str("CONVEYOR_EXAM_IMAGE", DEFAULT_IMAGE) or DEFAULT_IMAGE,
        cpu_request=env_str("CONVEYOR_EXAM_CPU_REQUEST", "250m") or "250m",
        memory_request=env_str("CONVEYOR_EXAM_MEMORY_REQUEST", "256Mi") or "256Mi",
        cpu_limit=env_str("CONVEYOR_EXAM_CPU_LIMIT", "1") or "1",
        memory_limit=env_str("CONVEYOR_EXAM_MEMORY_LIMIT", "1Gi") or "1Gi",
        kubeconfig=(env_path("CONVEYOR_EXAM_KUBECONFIG", Path())
                    if env_str("CONVEYOR_EXAM_KUBECONFIG") else None),
        kube_context=env_str("CONVEYOR_EXAM_KUBE_CONTEXT"),
        in_cluster=env_bool("CONVEYOR_EXAM_IN_CLUSTER", False),
        api_timeout_s=env_float("CONVEYOR_EXAM_API_TIMEOUT_S", 10.0, minimum=0.1),
        api_retry_base_s=env_float("CONVEYOR_EXAM_API_RETRY_BASE_S", 1.0, minimum=0.0),
        api_retry_cap_s=env_float("CONVEYOR_EXAM_API_RETRY_CAP_S", 8.0, minimum=0.0),
        pod_grace_period_s=env_int("CONVEYOR_EXAM_POD_GRACE_PERIOD_S", 5, minimum=0),
        default_duration_s=env_int("CONVEYOR_EXAM_DEFAULT_DURATION_S",
                                   DEFAULT_SESSION_DURATION_S, minimum=1),
        local_root=env_path("CONVEYOR_EXAM_LOCAL_ROOT", home / "exam" / "environments"),
        local_command=env_str("CONVEYOR_EXAM_LOCAL_COMMAND"),
        local_env={name: environ()[name] for name in LOCAL_ENV_ALLOWLIST if name in environ()},
        pod_security=load_pod_security(),
        network=load_network_rules(),
    )


def get_exam_settings() -> ExamSettings:
    """Read afresh each time (cheap): tests and long-lived workers see the live values."""
    return load_exam_settings()


def _namespace() -> str:
    value = env_str("CONVEYOR_EXAM_NAMESPACE", DEFAULT_NAMESPACE) or DEFAULT_NAMESPACE
    # A Kubernetes namespace is an RFC 1123 label; the local backend also uses it as a
    # folder name, so this check keeps it from climbing out of the working folder.
    if not _DNS_LABEL.fullmatch(value):
        raise ConfigError(f"CONVEYOR_EXAM_NAMESPACE must be a DNS label (a-z, 0-9, '-', at most "
                          f"63 characters), got {value!r}")
    return value
