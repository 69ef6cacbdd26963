"""The failure catalogue: known reasons -> severity, messages and what to do about them.

`user_message` is written for the candidate and never carries anything from the
failure's context (no pod names, hosts or errors); `technical_details` is for
operators. Pure and import-light (`failure-classification classify` starts fast).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

FAILURE_TYPES = ("init", "runtime", "access", "infra")
SEVERITIES = ("low", "medium", "high", "critical")
MAX_TECHNICAL_CHARS = 500

# What the failure means for the system, by type (the contract's `message`).
_TYPE_MESSAGE = {
    "init": "Failed to start exam environment",
    "runtime": "Exam environment stopped unexpectedly",
    "access": "Access to the exam environment failed",
    "infra": "Infrastructure problem affecting exam environments",
}
# How technical_details begins, by type.
_TYPE_PREFIX = {
    "init": "Pod creation failed",
    "runtime": "Environment failed",
    "access": "Access check failed",
    "infra": "Infrastructure error",
}
_GENERIC_USER_MESSAGE = {
    "init": "We couldn't start your exam environment. Please contact support.",
    "runtime": "Your exam environment ran into a problem. Please contact support.",
    "access": "We couldn't open your exam environment. Please contact support.",
    "infra": "We're having technical difficulties. Please contact support.",
}


@dataclass(frozen=True, kw_only=True)
class FailureKind:
    key: str
    summary: str
    """A short, user-safe name of the failure (session-status shows it as error_reason)."""
    severity: str
    recoverable: bool
    recovery_action: str
    user_message: str
    reasons: tuple[str, ...] = ()
    """Kubernetes (or our own) reason strings that name this failure exactly."""
    pattern: str | None = None
    """A regular expression for free-text messages that describe it."""


_RETRY_MESSAGE = "We couldn't start your exam environment. Please try again or contact support."

CATALOGUE: tuple[FailureKind, ...] = (
    FailureKind(key="image_pull", summary="Environment image unavailable", severity="high",
                recoverable=True, recovery_action="retry", user_message=_RETRY_MESSAGE,
                reasons=("ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                         "ErrImageNeverPull"),
                pattern=r"image ?pull|pull(ing)? image|manifest unknown"),
    FailureKind(key="crash_loop", summary="Environment crashed on start", severity="high",
                recoverable=True, recovery_action="recreate_environment",
                user_message=_RETRY_MESSAGE,
                reasons=("CrashLoopBackOff", "CreateContainerError",
                         "CreateContainerConfigError", "RunContainerError"),
                pattern=r"crash ?loop|exited with code|process exited"),
    FailureKind(key="oom", summary="Environment ran out of memory", severity="high",
                recoverable=True, recovery_action="recreate_environment",
                user_message="Your exam environment ran out of memory and has to be restarted. "
                             "Please try again or contact support.",
                reasons=("OOMKilled",), pattern=r"out of memory|oom"),
    FailureKind(key="unschedulable", summary="No capacity for a new environment",
                severity="high", recoverable=True, recovery_action="wait_and_retry",
                user_message="All exam environments are busy right now. Please try again in a "
                             "few minutes.",
                reasons=("Unschedulable", "FailedScheduling", "InsufficientResources"),
                pattern=r"unschedulable|insufficient (cpu|memory|resources)"),
    FailureKind(key="api_unavailable", summary="Cluster temporarily unavailable",
                severity="critical", recoverable=True, recovery_action="wait_and_retry",
                user_message="We're having technical difficulties. Please try again in a few "
                             "minutes.",
                reasons=("APIUnavailable", "ServiceUnavailable", "ConnectionRefused"),
                pattern=r"api (server )?unavailable|connection refused|service unavailable"
                        r"|kubernetes api"),
    FailureKind(key="creation_timeout", summary="Container creation timeout", severity="high",
                recoverable=False, recovery_action="contact_support",
                user_message="Your exam environment took too long to start. Please contact "
                             "support.",
                reasons=("CreationTimeout", "Timeout"),
                pattern=r"time ?out|timed out|deadline exceeded"),
    FailureKind(key="evicted", summary="Environment was stopped by the cluster",
                severity="high", recoverable=True, recovery_action="recreate_environment",
                user_message="Your exam environment was interrupted. Please try again or "
                             "contact support.",
                reasons=("Evicted", "Preempted", "NodeLost"), pattern=r"evict|preempt"),
    FailureKind(key="access_denied", summary="Access denied", severity="low",
                recoverable=False, recovery_action="none",
                user_message="You don't have access to this exam environment.",
                reasons=("AccessDenied", "Forbidden", "Unauthorized"),
                pattern=r"access denied|forbidden|unauthori[sz]ed"),
    FailureKind(key="session_expired", summary="Session time is over", severity="low",
                recoverable=False, recovery_action="none",
                user_message="Your exam session has ended because its time is over.",
                reasons=("SessionExpired", "Expired"), pattern=r"\bexpired\b"),
    FailureKind(key="session_abandoned", summary="Session ended after inactivity",
                severity="low", recoverable=False, recovery_action="none",
                user_message="Your exam session was closed after a long period of inactivity.",
                reasons=("SessionAbandoned", "Abandoned"), pattern=r"abandoned|inactiv"),
)

UNKNOWN_KIND = FailureKind(key="unknown", summary="Unexpected error", severity="medium",
                           recoverable=False, recovery_action="contact_support",
                           user_message="")

_BY_REASON = {reason.lower(): kind for kind in CATALOGUE for reason in kind.reasons}


def kind_for(reason: str | None, text: str = "") -> FailureKind:
    """The catalogue entry for an exact reason, else the first whose pattern the text matches."""
    if reason and reason.strip().lower() in _BY_REASON:
        return _BY_REASON[reason.strip().lower()]
    haystack = f"{reason or ''} {text}"
    for kind in CATALOGUE:
        if kind.pattern and re.search(kind.pattern, haystack, re.IGNORECASE):
            return kind
    return UNKNOWN_KIND


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def classify(failure_type: str, context: dict[str, Any]) -> dict[str, Any]:
    """The contract's classification of one failure."""
    if failure_type not in FAILURE_TYPES:
        raise ValueError(f"unknown failure type {failure_type!r}")
    reason = _text(context.get("reason"))
    detail = " ".join(t for t in (_text(context.get(k)) for k in ("message", "error", "details"))
                      if t)
    kind = kind_for(reason, detail)
    user_message = kind.user_message or _GENERIC_USER_MESSAGE[failure_type]
    return {
        "type": failure_type,
        "severity": kind.severity,
        "message": _TYPE_MESSAGE[failure_type],
        "user_message": user_message,
        "technical_details": _technical(failure_type, reason, detail),
        "recoverable": kind.recoverable,
        "recovery_action": kind.recovery_action,
    }


def _technical(failure_type: str, reason: str | None, detail: str) -> str:
    what = reason or detail or "no reason given"
    text = f"{_TYPE_PREFIX[failure_type]}: {what}"
    if reason and detail:
        text += f" ({detail})"
    if len(text) > MAX_TECHNICAL_CHARS:
        text = text[: MAX_TECHNICAL_CHARS - 3] + "..."
    return text
