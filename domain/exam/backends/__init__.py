"""Where execution environments run: a Kubernetes pod, or a local folder and process."""

from __future__ import annotations

from domain.exam.backends.base import Backend, EnvironmentSpec, Outcome

__all__ = ["Backend", "EnvironmentSpec", "Outcome", "backend_for"]


def backend_for(name: str) -> Backend:
    """The backend by name (each imports its heavy parts only when chosen)."""
    if name == "kubernetes":
        from domain.exam.backends.kubernetes import KubernetesBackend

        return KubernetesBackend()
    if name == "local":
        from domain.exam.backends.local import LocalBackend

        return LocalBackend()
    raise ValueError(f"unknown environment backend {name!r}")
