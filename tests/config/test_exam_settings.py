"""Exam settings and the beat entry of the TTL sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.beat import beat_schedule
from config.env import ConfigError
from config.exam import load_exam_settings


def test_defaults(conveyor_home: Path) -> None:
    settings = load_exam_settings()
    assert (settings.backend, settings.namespace) == ("local", "exam-sessions")
    assert settings.local_root == conveyor_home / "exam" / "environments"
    assert settings.default_duration_s == 7200 and settings.kubeconfig is None


def test_the_sweep_runs_every_five_minutes_unless_configured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry = beat_schedule()["exam-cleanup-ttl"]
    assert (entry["task"], entry["schedule"]) == ("tasks.sweeps.exam_cleanup_ttl", 300.0)
    monkeypatch.setenv("CONVEYOR_EXAM_SWEEP_EVERY_S", "60")
    assert beat_schedule()["exam-cleanup-ttl"]["schedule"] == 60.0


@pytest.mark.parametrize(("name", "value"), [
    ("CONVEYOR_EXAM_BACKEND", "docker"), ("CONVEYOR_EXAM_NAMESPACE", "../up"),
    ("CONVEYOR_EXAM_NAMESPACE", "Exam"), ("CONVEYOR_EXAM_API_TIMEOUT_S", "soon"),
])
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_exam_settings()


def test_lock_down_defaults(conveyor_home: Path) -> None:
    settings = load_exam_settings()
    security, network = settings.pod_security, settings.network
    assert (security.run_as_user, security.run_as_group, security.fs_group) == (1000, 1000, 1000)
    assert security.read_only_root and (security.scratch_path, security.scratch_size) == (
        "/tmp", "1Gi")
    assert network.gateway_pods == {"app.kubernetes.io/name": "exam-gateway"}
    assert network.gateway_namespace is None and network.egress == ()
    assert (network.dns_pods, network.dns_namespace) == ({"k8s-app": "kube-dns"},
                                                         "kube-system")


def test_the_egress_allowlist_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.exam_kubernetes import EgressRule

    monkeypatch.setenv("CONVEYOR_EXAM_EGRESS_ALLOW",
                       "10.1.2.3/8:443, 192.0.2.1:53/udp, [2001:db8::/32]:8443, fd00::/8")
    assert load_exam_settings().network.egress == (
        EgressRule("10.0.0.0/8", 443, "TCP"), EgressRule("192.0.2.1/32", 53, "UDP"),
        EgressRule("2001:db8::/32", 8443, "TCP"), EgressRule("fd00::/8"))


@pytest.mark.parametrize(("name", "value"), [
    ("CONVEYOR_EXAM_RUN_AS_USER", "0"), ("CONVEYOR_EXAM_SCRATCH_PATH", "tmp"),
    ("CONVEYOR_EXAM_SCRATCH_SIZE", "lots"), ("CONVEYOR_EXAM_GATEWAY_SELECTOR", "app"),
    ("CONVEYOR_EXAM_GATEWAY_SELECTOR", "bad key=x"), ("CONVEYOR_EXAM_GATEWAY_NAMESPACE", "A_B"),
    ("CONVEYOR_EXAM_EGRESS_ALLOW", "example.org"), ("CONVEYOR_EXAM_EGRESS_ALLOW", "10.0.0.0/8:0"),
    ("CONVEYOR_EXAM_EGRESS_ALLOW", "10.0.0.0/8:53/sctp"), ("CONVEYOR_EXAM_READ_ONLY_ROOT", "x"),
])
def test_bad_lock_down_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str,
                                          value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_exam_settings()
