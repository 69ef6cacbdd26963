"""The failure catalogue."""

from __future__ import annotations

import pytest

from domain.exam.failures import CATALOGUE, FAILURE_TYPES, classify, kind_for


def test_the_contract_example() -> None:
    assert classify("init", {"reason": "ImagePullBackOff"}) == {
        "type": "init",
        "severity": "high",
        "message": "Failed to start exam environment",
        "user_message": "We couldn't start your exam environment. Please try again or contact "
                        "support.",
        "technical_details": "Pod creation failed: ImagePullBackOff",
        "recoverable": True,
        "recovery_action": "retry",
    }


@pytest.mark.parametrize(("reason", "key"), [
    ("ImagePullBackOff", "image_pull"), ("ErrImagePull", "image_pull"),
    ("CrashLoopBackOff", "crash_loop"), ("OOMKilled", "oom"),
    ("Unschedulable", "unschedulable"), ("FailedScheduling", "unschedulable"),
    ("Pod creation timeout after 60 seconds", "creation_timeout"),
    ("Kubernetes API unavailable: connection refused", "api_unavailable"),
    ("AccessDenied", "access_denied"), ("Evicted", "evicted"),
    ("0/3 nodes are available: 3 Insufficient memory.", "unschedulable"),
])
def test_known_reasons(reason: str, key: str) -> None:
    assert kind_for(reason).key == key


def test_free_text_is_matched_when_there_is_no_reason() -> None:
    result = classify("infra", {"message": "connection refused by kube-apiserver:6443"})
    assert result["recovery_action"] == "wait_and_retry" and result["severity"] == "critical"


@pytest.mark.parametrize("failure_type", FAILURE_TYPES)
def test_unknown_reasons_get_a_safe_default(failure_type: str) -> None:
    result = classify(failure_type, {"reason": "FluxCapacitorMelted", "pod": "exam-1234"})
    assert result["severity"] == "medium"
    assert result["recoverable"] is False and result["recovery_action"] == "contact_support"
    assert "FluxCapacitorMelted" in result["technical_details"]


@pytest.mark.parametrize("kind", CATALOGUE, ids=lambda k: k.key)
def test_user_messages_never_carry_the_context(kind: object) -> None:
    secret = "10.0.3.7 token=s3cr3t exam-6ba7b810"
    for failure_type in FAILURE_TYPES:
        reason = kind.reasons[0]  # type: ignore[attr-defined]
        result = classify(failure_type, {"reason": reason, "message": secret, "host": secret})
        assert secret not in result["user_message"]
        assert "s3cr3t" not in result["user_message"] and reason not in result["user_message"]


def test_technical_details_are_bounded() -> None:
    result = classify("runtime", {"reason": "OOMKilled", "message": "x" * 10_000})
    assert len(result["technical_details"]) <= 500


def test_non_string_context_values_are_ignored() -> None:
    result = classify("init", {"reason": 42, "message": ["a"]})
    assert result["technical_details"] == "Pod creation failed: no reason given"
