"""Oord settings: folders, intervals, keys and limits, read from OORD_* variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from config.env import env_bool, env_choice, env_float, env_int, env_path, env_str
from config.settings import get_settings

TL_MODES = ("required", "best_effort", "none")
CORE_APIS = ("conveyor", "original")

GIB = 1024**3


@dataclass(frozen=True, kw_only=True)
class OordSettings:
    """Everything the oord CLI and agent need to know about their environment."""

    state_dir: Path
    """Root of oord's folders by default ($CONVEYOR_HOME/oord)."""
    keys_dir: Path
    signing_key: Path
    """Ed25519 private key (PKCS#8 PEM, mode 0600) that signs manifests."""
    tl_key: Path
    """Ed25519 private key of the built-in transparency log (signs tree heads)."""
    trusted_jwks: Path
    """The keys a verifier trusts; never the key set shipped inside a bundle."""
    watch_dir: Path
    outbox_dir: Path
    incoming_dir: Path
    verified_root: Path
    quarantine_dir: Path
    settle_seconds: float
    send_scan_every_s: float
    receive_scan_every_s: float
    lease_s: float
    """How long a claimed batch or bundle stays `processing` without a renewal."""
    org_id: str
    batch_prefix: str
    tl_mode: str
    core_url: str | None = field(repr=False)
    """May carry credentials: never in a repr (`oord agent config` shows it redacted)."""
    api_key: str | None = field(repr=False)
    """Core's API key: never in a repr, a log line or `oord agent config`."""
    tl_url: str | None = field(repr=False)
    """Online TL check for verify and the receiver (GET <url>/v1/tl/entries/{seq})."""
    receiver_strict: bool
    sender_enabled: bool
    receiver_enabled: bool
    max_bundle_bytes: int
    """Zip-bomb limit: total uncompressed size a bundle may declare."""
    max_entries: int
    max_ratio: float
    """Zip-bomb limit: uncompressed/compressed size of one entry (above 1 MiB)."""
    test_pause_dir: Path | None
    """Test-only: pause points wait for a release file here (never set in production)."""
    core_api: str = "conveyor"
    """Which Core API --core-url speaks: ours (/v1/keys, /v1/sign) or the original's
    (POST /v1/seal, GET /v1/jwks)."""
    agent_max_attempts: int = 20
    """Attempts of one agent job (seal a batch, verify a bundle) before it is `failed`."""
    agent_backoff_base_s: float = 0.5
    agent_backoff_cap_s: float = 60.0


def load_oord_settings() -> OordSettings:
    """Read the settings from the environment now (no caching)."""
    state = env_path("OORD_STATE_DIR", get_settings().home / "oord")
    keys = env_path("OORD_KEYS_DIR", state / "keys")
    return OordSettings(
        state_dir=state,
        keys_dir=keys,
        signing_key=env_path("OORD_SIGNING_KEY", keys / "signing_key.pem"),
        tl_key=env_path("OORD_TL_KEY", keys / "tl_key.pem"),
        trusted_jwks=env_path("OORD_TRUSTED_JWKS", keys / "trusted.jwks.json"),
        watch_dir=env_path("OORD_WATCH_DIR", state / "watch"),
        outbox_dir=env_path("OORD_OUTBOX_DIR", state / "outbox"),
        incoming_dir=env_path("OORD_INCOMING_DIR", state / "incoming"),
        verified_root=env_path("OORD_VERIFIED_ROOT", state / "verified"),
        quarantine_dir=env_path("OORD_QUARANTINE_DIR", state / "quarantine"),
        settle_seconds=env_float("OORD_SETTLE_SECONDS", 10.0, minimum=0.0),
        send_scan_every_s=env_float("OORD_SEND_SCAN_EVERY_S", 5.0, minimum=0.1),
        receive_scan_every_s=env_float("OORD_RECEIVE_SCAN_EVERY_S", 5.0, minimum=0.1),
        lease_s=env_float("OORD_LEASE_S", 60.0, minimum=0.5),
        org_id=env_str("OORD_ORG_ID", "ORG-LOCAL") or "ORG-LOCAL",
        batch_prefix=env_str("OORD_BATCH_PREFIX", "batch") or "batch",
        tl_mode=env_choice("OORD_TL_MODE", "required", TL_MODES),
        core_url=env_str("OORD_CORE_URL"),
        api_key=env_str("OORD_API_KEY") or env_str("OORD_CORE_API_KEY"),
        tl_url=env_str("OORD_TL_URL"),
        receiver_strict=env_bool("OORD_RECEIVER_STRICT", False),
        sender_enabled=env_bool("OORD_SENDER_ENABLED", True),
        receiver_enabled=env_bool("OORD_RECEIVER_ENABLED", True),
        max_bundle_bytes=env_int("OORD_MAX_BUNDLE_BYTES", 64 * GIB, minimum=1),
        max_entries=env_int("OORD_MAX_ENTRIES", 100_000, minimum=5),
        max_ratio=env_float("OORD_MAX_RATIO", 200.0, minimum=1.0),
        test_pause_dir=_optional_path("OORD_TEST_PAUSE_DIR"),
        core_api=env_choice("OORD_CORE_API", "conveyor", CORE_APIS),
        agent_max_attempts=env_int("OORD_AGENT_MAX_ATTEMPTS", 20, minimum=1),
        agent_backoff_base_s=env_float("OORD_AGENT_BACKOFF_BASE_S", 0.5, minimum=0.0),
        agent_backoff_cap_s=env_float("OORD_AGENT_BACKOFF_CAP_S", 60.0, minimum=0.0),
    )


def _optional_path(name: str) -> Path | None:
    raw = env_str(name)
    return Path(raw) if raw else None


def get_oord_settings() -> OordSettings:
    """The settings as the environment says now (cheap; tests change the environment)."""
    return load_oord_settings()
