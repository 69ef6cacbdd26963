"""A network namespace of a test's own, linked to the host by a veth pair, whose link
can be cut and restored: a real network partition for one process (needs root).

Cutting sets both ends of the veth pair down: packets are neither delivered nor
refused, TCP connections stay open on both sides with nothing arriving, as when a
cable or a switch fails; restoring brings the link and its routes back.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    subprocess.run(command, check=True, capture_output=True, timeout=10)


def netns_unavailable() -> str | None:
    """Why a namespace cannot be made here (None when it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"cvp{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", probe)
        _ip("netns", "del", probe)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot create a network namespace: {exc}"
    return None


@dataclass
class NetworkNamespace:
    subnet: int
    """The third octet of 10.215.<subnet>.0/30: one subnet per namespace."""
    name: str = field(default_factory=lambda: f"cv{uuid.uuid4().hex[:8]}")

    @property
    def host_ip(self) -> str:
        return f"10.215.{self.subnet}.1"

    @property
    def inside_ip(self) -> str:
        return f"10.215.{self.subnet}.2"

    @property
    def _host_if(self) -> str:
        return f"{self.name}h"[:15]

    @property
    def _inside_if(self) -> str:
        return f"{self.name}n"[:15]

    def create(self) -> NetworkNamespace:
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self._host_if, "type", "veth", "peer", "name", self._inside_if)
            _ip("link", "set", self._inside_if, "netns", self.name)
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self._host_if)
            _ip("addr", "add", f"{self.inside_ip}/30", "dev", self._inside_if, netns=self.name)
            _ip("link", "set", "lo", "up", netns=self.name)
            self.restore()
        except BaseException:
            self.delete()
            raise
        return self

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def cut(self) -> None:
        _ip("link", "set", self._inside_if, "down", netns=self.name)
        _ip("link", "set", self._host_if, "down")

    def restore(self) -> None:
        _ip("link", "set", self._host_if, "up")
        _ip("link", "set", self._inside_if, "up", netns=self.name)

    def delete(self) -> None:
        # Deleting the namespace deletes its end of the pair, and so the pair.
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self._host_if], capture_output=True, timeout=10)
