"""Manifests checked against the official Kubernetes schemas (kubernetes-validate).

We support Kubernetes from 1.25 (Pod Security admission is GA there, and the exam
namespace relies on it) to the newest release the installed kubernetes-validate ships.
"""

from __future__ import annotations

from typing import Any

OLDEST_SUPPORTED = "1.25"


def supported_versions() -> tuple[str, str]:
    import kubernetes_validate

    newest = str(kubernetes_validate.latest_version())
    return OLDEST_SUPPORTED, ".".join(newest.split(".")[:2])


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Every way the manifest fails the strict schema of the oldest and newest version
    (strict: an unknown field is an error, as `kubectl --validate=strict` makes it)."""
    import kubernetes_validate

    errors = []
    for version in supported_versions():
        try:
            used = kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{version}: {exc.message} at {list(exc.path)}")
            continue
        if used != version:  # a silently older schema would prove nothing about this one
            errors.append(f"{version}: validated against {used} instead")
    return errors
