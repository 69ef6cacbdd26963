"""The Pod Security Standards' *restricted* profile as a checker, for asserting on pods.

Written from the published standard (kubernetes.io, "Pod Security Standards"): the
baseline controls, then what restricted adds. It returns the controls a pod violates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
                         "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
                         "SYS_CHROOT"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t",
                 "container_engine_t"}


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("containers", "initContainers", "ephemeralContainers"):
        yield from spec.get(key) or []


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    pod_sc = spec.get("securityContext") or {}
    found = _pod_level(spec, pod_sc)
    for container in _containers(spec):
        found += _baseline_container(container)
        found += _restricted_container(container, pod_sc)
    return found


def _pod_level(spec: dict[str, Any], pod_sc: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")):
        found.append("host namespaces")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            found.append("hostPath volume")
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume type {sorted(kinds)}")
    found += [f"sysctl {s.get('name')}" for s in pod_sc.get("sysctls") or []
              if s.get("name") not in SAFE_SYSCTLS]
    found += _selinux(pod_sc.get("seLinuxOptions"))
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        found.append("hostProcess")
    if pod_sc.get("runAsUser") == 0:
        found.append("pod runAsUser 0")
    return found


def _baseline_container(container: dict[str, Any]) -> list[str]:
    sc = container.get("securityContext") or {}
    name = container.get("name")
    found = [f"{name}: {v}" for v in _selinux(sc.get("seLinuxOptions"))]
    if sc.get("privileged"):
        found.append(f"{name}: privileged")
    if (sc.get("windowsOptions") or {}).get("hostProcess"):
        found.append(f"{name}: hostProcess")
    if any(p.get("hostPort") for p in container.get("ports") or []):
        found.append(f"{name}: hostPort")
    if sc.get("procMount", "Default") != "Default":
        found.append(f"{name}: procMount")
    if not set((sc.get("capabilities") or {}).get("add") or []) <= BASELINE_CAPABILITIES:
        found.append(f"{name}: capabilities beyond baseline")
    return found


def _restricted_container(container: dict[str, Any], pod_sc: dict[str, Any]) -> list[str]:
    sc = container.get("securityContext") or {}
    name = container.get("name")
    caps = sc.get("capabilities") or {}
    found: list[str] = []
    if sc.get("allowPrivilegeEscalation") is not False:
        found.append(f"{name}: allowPrivilegeEscalation must be false")
    if "ALL" not in (caps.get("drop") or []):
        found.append(f"{name}: capabilities must drop ALL")
    if not set(caps.get("add") or []) <= {"NET_BIND_SERVICE"}:
        found.append(f"{name}: capabilities added")
    if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
        found.append(f"{name}: runAsNonRoot must be true")
    if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
        found.append(f"{name}: runAsUser 0")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if (sc.get("seccompProfile") or {}).get("type", pod_seccomp) not in ("RuntimeDefault",
                                                                          "Localhost"):
        found.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
    return found


def _selinux(options: dict[str, Any] | None) -> list[str]:
    if not options:
        return []
    found = []
    if options.get("type", "") not in SELINUX_TYPES:
        found.append("seLinuxOptions.type")
    if options.get("user") or options.get("role"):
        found.append("seLinuxOptions user/role")
    return found
