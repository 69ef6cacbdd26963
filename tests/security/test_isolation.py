"""What runs on behalf of someone else gets nothing of ours (docs/security.md, "Isolation").

A candidate's environment (a pod, or the local backend's process) and a plugin's
lifecycle scripts run code we did not write: they must not inherit the worker's
credentials (service-account token, database and broker URLs, API keys), and a pod
is bounded in what it may use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.exam import get_exam_settings
from config.processes import ProcessRef
from domain.exam.backends.base import EnvironmentSpec
from domain.exam.backends.kubernetes import pod_manifest
from domain.exam.backends.local import LocalBackend
from tests.cli.plugins.conftest import PluginsCli
from tests.cli.plugins.test_lifecycle import POST, PRE, consents, hooks_on, scripted  # noqa: F401
from tests.support.plugin_market import Market

SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
USER = "550e8400-e29b-41d4-a716-446655440000"

# Secrets a worker (or a plugins command) typically has in its environment.
SECRETS = {
    "OPENAI_API_KEY": "sk-isolation-openai-0001",
    "OORD_API_KEY": "oord-isolation-core-0002",
    "CONVEYOR_DATABASE_URL": "postgresql://conveyor:pg-isolation-0003@127.0.0.1:1/conveyor",
    "CONVEYOR_BROKER_URL": "redis://:redis-isolation-0004@127.0.0.1:1/0",
    "AWS_SECRET_ACCESS_KEY": "aws-isolation-0005",
    "GITHUB_TOKEN": "ghp_isolation0006",
}


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0")
                if "=" in item)


@pytest.fixture
def spec(monkeypatch: pytest.MonkeyPatch) -> Iterator[EnvironmentSpec]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # A program that keeps the environment it was given (exec) and says ready.
    monkeypatch.setenv("CONVEYOR_EXAM_LOCAL_COMMAND", "sh -c 'touch ready; exec sleep 60'")
    made = EnvironmentSpec(session_id=SESSION, user_id=USER, pod_name="exam-6ba7b810",
                           namespace="exam-sessions", settings=get_exam_settings())
    yield made
    LocalBackend().delete(made, None)


def test_a_local_environment_process_inherits_no_secret(spec: EnvironmentSpec) -> None:
    backend = LocalBackend()
    handle = backend.start(spec, None)
    assert backend.wait_ready(spec, handle, 10).ready
    pid = handle["pid"]
    assert ProcessRef.from_json(handle) is not None
    env = _environ_of(pid)
    assert env["EXAM_SESSION_ID"] == SESSION and env["EXAM_USER_ID"] == USER
    assert env["EXAM_WORKDIR"] == handle["folder"] and "PATH" in env
    leaked = {name for name, value in env.items()
              if name in SECRETS or any(secret in value for secret in SECRETS.values())}
    assert leaked == set()
    assert not any(name.startswith(("CONVEYOR_", "OORD_", "YELLOW_PLUGINS_")) for name in env)


def test_the_session_pod_holds_no_credentials_and_is_bounded() -> None:
    spec = EnvironmentSpec(session_id=SESSION, user_id=USER, pod_name="exam-6ba7b810",
                           namespace="exam-sessions", settings=get_exam_settings())
    pod = pod_manifest(spec)["spec"]
    # No service-account token, no service links, no host namespaces; the only volume
    # is the scratch emptyDir of the read-only root (nothing of the node's mounted).
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC", "serviceAccountName",
                "imagePullSecrets", "nodeName"} & set(pod)
    assert [set(volume) for volume in pod.get("volumes", [])] in ([], [{"name", "emptyDir"}])
    (container,) = pod["containers"]
    # Nothing of the worker's environment is passed on, and the pod's use is bounded.
    assert not {"env", "envFrom", "command", "args"} & set(container)
    volume_names = {volume["name"] for volume in pod.get("volumes", [])}
    assert {mount["name"] for mount in container.get("volumeMounts", [])} <= volume_names
    # The restricted Pod Security Standard (tests/support/pod_security.py checks it whole).
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    limits = container["resources"]["limits"]
    assert limits == {"cpu": "1", "memory": "1Gi"}
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}


@pytest.mark.usefixtures("hooks_on")
def test_lifecycle_scripts_see_none_of_the_callers_secrets(
        plugins: PluginsCli, scripted: Market, plugin_dir: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    call = plugins("install", "scripted-plugin", "--version", "1.0.0",
                   *consents(("preInstall", PRE), ("postInstall", POST)))
    assert call.code == 0, call.out
    dumped = (plugin_dir / "cache" / "scripted-plugin" / "1.0.0" / "env.txt").read_text()
    env = dict(line.split("=", 1) for line in dumped.splitlines() if "=" in line)
    assert env["YELLOW_PLUGIN_ID"] == "scripted-plugin"
    assert not [secret for secret in SECRETS.values() if secret in dumped]
    assert not any(name.startswith(("CONVEYOR_", "OORD_", "YELLOW_PLUGINS_")) for name in env)

