"""The Kubernetes backend's lock-down settings: the pod's security context and its network.

Every session pod meets the *restricted* Pod Security Standard and is fenced by a
NetworkPolicy of its own; these settings say as whom it runs and whom it may talk to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from config.env import ConfigError, env_bool, env_int, env_list, env_str

# The label every namespace carries with its own name (Kubernetes 1.21 and later).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DEFAULT_GATEWAY_SELECTOR = "app.kubernetes.io/name=exam-gateway"
DEFAULT_DNS_SELECTOR = "k8s-app=kube-dns"
DEFAULT_DNS_NAMESPACE = "kube-system"
DNS_PORT = 53
PROTOCOLS = ("TCP", "UDP")
_LABEL_NAME = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                         r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")


@dataclass(frozen=True, kw_only=True)
class PodSecurity:
    """As whom the session's container runs; the restricted profile needs a non-root user."""

    run_as_user: int = 1000
    run_as_group: int = 1000
    fs_group: int = 1000
    read_only_root: bool = True
    """readOnlyRootFilesystem; the scratch emptyDir is where the candidate may write."""
    scratch_path: str = "/tmp"
    scratch_size: str | None = "1Gi"
    """The scratch emptyDir's sizeLimit (None: no limit)."""


@dataclass(frozen=True)
class EgressRule:
    """One allowed destination: a CIDR block, optionally one port of one protocol."""

    cidr: str
    port: int | None = None
    protocol: str = "TCP"


@dataclass(frozen=True, kw_only=True)
class NetworkRules:
    """What the per-session NetworkPolicy lets through (everything else is denied)."""

    gateway_pods: dict[str, str] = field(
        default_factory=lambda: {"app.kubernetes.io/name": "exam-gateway"})
    """matchLabels of the exam gateway's pods: the only ingress."""
    gateway_namespace: str | None = None
    """The gateway's namespace; None = the exam namespace itself."""
    dns_pods: dict[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    dns_namespace: str = DEFAULT_DNS_NAMESPACE
    egress: tuple[EgressRule, ...] = ()


def load_pod_security() -> PodSecurity:
    scratch = env_str("CONVEYOR_EXAM_SCRATCH_PATH", "/tmp") or "/tmp"
    if not scratch.startswith("/"):
        raise ConfigError(f"CONVEYOR_EXAM_SCRATCH_PATH must be an absolute path, got {scratch!r}")
    size = env_str("CONVEYOR_EXAM_SCRATCH_SIZE", "1Gi")
    if size is not None and size.lower() == "none":
        size = None
    if size is not None and not _QUANTITY.fullmatch(size):
        raise ConfigError(f"CONVEYOR_EXAM_SCRATCH_SIZE must be a quantity such as 512Mi, "
                          f"or none, got {size!r}")
    return PodSecurity(
        # The restricted profile refuses user 0; groups may be 0 (root group is not root).
        run_as_user=env_int("CONVEYOR_EXAM_RUN_AS_USER", 1000, minimum=1),
        run_as_group=env_int("CONVEYOR_EXAM_RUN_AS_GROUP", 1000, minimum=0),
        fs_group=env_int("CONVEYOR_EXAM_FS_GROUP", 1000, minimum=0),
        read_only_root=env_bool("CONVEYOR_EXAM_READ_ONLY_ROOT", True),
        scratch_path=scratch, scratch_size=size)


def load_network_rules() -> NetworkRules:
    gateway_ns = env_str("CONVEYOR_EXAM_GATEWAY_NAMESPACE")
    dns_ns = env_str("CONVEYOR_EXAM_DNS_NAMESPACE", DEFAULT_DNS_NAMESPACE) or DEFAULT_DNS_NAMESPACE
    for name, value in (("CONVEYOR_EXAM_GATEWAY_NAMESPACE", gateway_ns),
                        ("CONVEYOR_EXAM_DNS_NAMESPACE", dns_ns)):
        if value is not None and not _DNS_LABEL.fullmatch(value):
            raise ConfigError(f"{name} must be a namespace name, got {value!r}")
    return NetworkRules(
        gateway_pods=parse_selector("CONVEYOR_EXAM_GATEWAY_SELECTOR", DEFAULT_GATEWAY_SELECTOR),
        gateway_namespace=gateway_ns,
        dns_pods=parse_selector("CONVEYOR_EXAM_DNS_SELECTOR", DEFAULT_DNS_SELECTOR),
        dns_namespace=dns_ns,
        egress=tuple(parse_egress(entry) for entry in env_list("CONVEYOR_EXAM_EGRESS_ALLOW")))


def parse_selector(variable: str, default: str) -> dict[str, str]:
    """`key=value,key2=value2` as matchLabels; an empty selector would match every pod."""
    labels: dict[str, str] = {}
    for part in env_list(variable) or tuple(default.split(",")):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _LABEL_NAME.fullmatch(key) or len(key) > 316 \
                or not _LABEL_VALUE.fullmatch(value):
            raise ConfigError(f"{variable} must be key=value[,key=value...] with valid label "
                              f"names and values, got {part!r}")
        labels[key] = value
    return labels


def parse_egress(entry: str) -> EgressRule:
    """`CIDR`, `CIDR:port` or `CIDR:port/udp` (IPv6: `[CIDR]:port`)."""
    text = entry.strip()
    port_part: str | None = None
    if text.startswith("["):
        cidr, _, rest = text[1:].partition("]")
        port_part = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        cidr, port_part = text.split(":")
    else:
        cidr = text
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ConfigError(f"CONVEYOR_EXAM_EGRESS_ALLOW: {entry!r} is not CIDR[:port[/tcp|udp]]"
                          ) from None
    if port_part is None:
        return EgressRule(str(network))
    port_text, _, protocol = port_part.partition("/")
    protocol = (protocol or "TCP").upper()
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535 or protocol not in PROTOCOLS:
        raise ConfigError(f"CONVEYOR_EXAM_EGRESS_ALLOW: {entry!r} needs a port 1-65535 and "
                          f"tcp or udp")
    return EgressRule(str(network), int(port_text), protocol)
