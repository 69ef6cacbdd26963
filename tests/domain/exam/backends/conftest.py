"""A Kubernetes API for the tests: kmock's emulator on a loop of its own, and a kubelet.

kmock keeps objects (409 on a second create, 404 after delete) and serves watches;
it fills no status, so `Kubelet` plays the node: it waits for the pod and patches
its status the way a kubelet would (Ready, or a container stuck in ImagePullBackOff).
Nor does it give objects a uid: `emulator_class` adds one on every create, as an API
server does (the NetworkPolicy's ownerReference names the pod by its uid). It serves
any resource path, networking.k8s.io/v1 networkpolicies included.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.settings import reset_settings
from tests.support.env import skip_or_fail


@dataclass
class KubeApi:
    url: str
    emulator: Any
    kubeconfig: Path

    def client(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(client.ApiClient(client.Configuration(host=self.url)))

    def networking(self) -> Any:
        from kubernetes import client

        return client.NetworkingV1Api(client.ApiClient(client.Configuration(host=self.url)))

    def pods(self, namespace: str = "exam-sessions") -> list[dict[str, Any]]:
        response = self.client().list_namespaced_pod(namespace, _preload_content=False,
                                                     _request_timeout=5)
        items: list[dict[str, Any]] = json.loads(response.data)["items"]
        return items

    def policies(self, namespace: str = "exam-sessions") -> list[dict[str, Any]]:
        """The NetworkPolicies as the API holds them (as it received them, plus a uid)."""
        response = self.networking().list_namespaced_network_policy(
            namespace, _preload_content=False, _request_timeout=5)
        items: list[dict[str, Any]] = json.loads(response.data)["items"]
        return items

    def requests_by(self, user_agent: str) -> list[Any]:
        """The requests one client made (the backend sends its own User-Agent)."""
        return [r for r in list(self.emulator)
                if r.headers.get("User-Agent") == user_agent]


def emulator_class() -> Any:
    import kmock

    class UidEmulator(kmock.KubernetesEmulator):  # type: ignore[misc]
        """kmock's emulator, giving each created object a uid as an API server does."""

        async def _handle(self, request: Any) -> Any:
            if request.action == kmock.action.CREATE and isinstance(request.data, dict):
                request.data.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid4()))
            return await super()._handle(request)

    return UidEmulator


@pytest.fixture
def kube_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeApi]:
    """kmock on a free port; the exam settings point at it through a kubeconfig file."""
    try:
        import kmock
    except ImportError as exc:
        skip_or_fail(f"kmock is not installed: {exc}")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with emulator_class()() as emulator, kmock.Server(emulator) as server:
            # Declared, so that listing them works before any object of theirs exists.
            emulator.resources["v1/pods"] = {}
            emulator.resources["networking.k8s.io/v1/networkpolicies"] = {}
            box["emulator"], box["url"] = emulator, str(server.url).rstrip("/")
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not started.wait(10):
        skip_or_fail("the kmock server did not start")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": box["url"]}}],
        "users": [{"name": "test", "user": {}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "test"}}],
    }))
    monkeypatch.setenv("CONVEYOR_EXAM_BACKEND", "kubernetes")
    monkeypatch.setenv("CONVEYOR_EXAM_KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("CONVEYOR_EXAM_API_TIMEOUT_S", "5")
    reset_settings()
    yield KubeApi(box["url"], box["emulator"], kubeconfig)
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


# What a kubelet reports of every container (the client's models require these fields).
_CONTAINER = {"name": "exam", "image": "registry.k8s.io/pause:3.9", "imageID": "",
              "restartCount": 0, "ready": False}


class Kubelet(threading.Thread):
    """Waits for a pod to appear, then gives it the status of one scenario."""

    def __init__(self, api: KubeApi, pod_name: str, scenario: str,
                 namespace: str = "exam-sessions") -> None:
        super().__init__(daemon=True)
        self.api, self.pod_name, self.scenario, self.namespace = api, pod_name, scenario, namespace
        self.patched = threading.Event()

    def run(self) -> None:
        from kubernetes.client.exceptions import ApiException

        client = self.api.client()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                client.read_namespaced_pod(self.pod_name, self.namespace, _request_timeout=5)
                break
            except ApiException:
                time.sleep(0.02)
        client.patch_namespaced_pod_status(self.pod_name, self.namespace,
                                           {"status": self.status()}, _request_timeout=5)
        self.patched.set()

    def status(self) -> dict[str, Any]:
        if self.scenario == "ready":
            return {"phase": "Running", "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True"}],
                "containerStatuses": [{**_CONTAINER, "ready": True, "started": True,
                                       "state": {"running": {}}}]}
        if self.scenario == "image-pull":
            return {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [{**_CONTAINER, "state": {"waiting": {
                        "reason": "ImagePullBackOff",
                        "message": 'Back-off pulling image "no/such:image"'}}}]}
        if self.scenario == "unschedulable":
            return {"phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory."}]}
        raise ValueError(self.scenario)
