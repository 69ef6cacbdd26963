"""`oord`: seal folders into signed bundles, verify them, keys, the TL, the agent.

Exit codes (oord-error-model.md): seal 0 or 2, every failure included; verify 0,
1 (content or cryptographic mismatch) or 2 (environment); every other command 0
or 2. Errors are one JSON object on stderr (OordErrorFormat, docs/oord.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.contract import run_cli
from cli.job_options import Seconds
from cli.output import emit_json
from cli.paths import SafePath
from common.errors import ContractError, JobSystemError
from domain.oord import errors as codes

TL_MODES = ("required", "best_effort", "none")


@dataclass(frozen=True)
class OordErrorFormat:
    """`{"error": {"code", "message", "details"}, "exit_code": N}` on stderr; exit 2 for
    bad flags, job-system and unexpected errors (environment failures in the contract)."""

    def render(self, error: ContractError) -> None:
        emit_json({"error": {"code": error.code, "message": error.message,
                             "details": error.details}, "exit_code": error.exit_code},
                  stream=sys.stderr)

    def usage_error(self, message: str) -> ContractError:
        return ContractError(codes.USAGE_ERROR, message, {}, codes.EXIT_ENV)

    def system_error(self, error: JobSystemError) -> ContractError:
        return ContractError(codes.JOB_SYSTEM_UNAVAILABLE, error.message,
                             {"reason": error.reason, **error.details}, codes.EXIT_ENV)

    def internal_error(self, message: str) -> ContractError:
        return ContractError(codes.INTERNAL_ERROR, message, {}, codes.EXIT_ENV)


ERRORS = OordErrorFormat()


@contextmanager
def contract_exit_codes() -> Iterator[None]:
    """Ctrl-C and a closed stdout end seal and verify with 2 too (130 and 1 are not theirs)."""
    try:
        yield
    except KeyboardInterrupt:
        raise ContractError("INTERRUPTED", "interrupted; no bundle was written or judged", {},
                            codes.EXIT_ENV) from None
    except BrokenPipeError:
        raise ContractError(codes.IO_ERROR, "stdout was closed before the result was written",
                            {}, codes.EXIT_ENV) from None


def _settings() -> Any:
    from config.oord import get_oord_settings

    return get_oord_settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def oord() -> None:
    """Seal folders into signed, tamper-evident bundles and verify them."""


# ---- keys ------------------------------------------------------------------------------

@oord.group("keys")
def keys_group() -> None:
    """This host's Ed25519 keys and the key set it trusts."""


@keys_group.command("init")
def keys_init_command() -> None:
    """Create the signing key and the TL key (mode 0600) and trust both; idempotent."""
    from domain.oord.keyring import init_keys

    s = _settings()
    emit_json(init_keys(signing_key=s.signing_key, tl_key=s.tl_key,
                        trusted_jwks=s.trusted_jwks), pretty=True)


@keys_group.command("export")
def keys_export_command() -> None:
    """Print this host's public keys (JWKS) for other hosts to trust."""
    from domain.oord.keyring import export_keys

    s = _settings()
    emit_json(export_keys(signing_key=s.signing_key, tl_key=s.tl_key), pretty=True)


@keys_group.command("trust")
@click.argument("key_file", type=SafePath(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a trusted key that has the same kid.")
def keys_trust_command(key_file: Path, replace: bool) -> None:
    """Add the keys of KEY_FILE (a JWKS or one JWK; - for stdin) to the trusted set."""
    from domain.oord.keyring import read_key_file, trust_keys

    # Bytes, not text: a key file that is not UTF-8 is a KEY_ERROR, wherever it comes from.
    keys = read_key_file(None, sys.stdin.buffer.read()) if str(key_file) == "-" \
        else read_key_file(key_file)
    emit_json(trust_keys(keys, trusted_jwks=_settings().trusted_jwks, replace=replace),
              pretty=True)


# ---- seal ------------------------------------------------------------------------------

@oord.command("seal")
@click.option("--input-dir", "input_dir", required=True,
              type=SafePath(file_okay=False, path_type=Path), help="The folder to seal.")
@click.option("--out", "out_dir", required=True, type=SafePath(file_okay=False, path_type=Path),
              help="Where the bundle goes (created if missing).")
@click.option("--org-id", default=None, help="Default: $OORD_ORG_ID, else ORG-LOCAL.")
@click.option("--batch-id", default=None, help="Default: the input folder's name.")
@click.option("--tl-mode", type=click.Choice(TL_MODES), default=None,
              help="Transparency log: required, best_effort or none (default: $OORD_TL_MODE, "
                   "else required).")
@click.option("--core-url", default=None, help="Sign through this Core service "
              "(default: $OORD_CORE_URL; none: the local signing key).")
@click.option("--api-key", default=None, help="Core API key (default: $OORD_API_KEY).")
def seal_command(input_dir: Path, out_dir: Path, org_id: str | None, batch_id: str | None,
                 tl_mode: str | None, core_url: str | None, api_key: str | None) -> None:
    """Seal a folder into oord_bundle_<root16>_<bundle_id>.zip; print one JSON object."""
    from domain.oord.seal import SealRequest, check_request, seal
    from domain.oord.wiring import make_signer, tl_opener

    s = _settings()
    mode = tl_mode or s.tl_mode
    request = SealRequest(input_dir=input_dir, out_dir=out_dir, org_id=org_id or s.org_id,
                          batch_id=batch_id or input_dir.resolve().name, tl_mode=mode)
    with contract_exit_codes():
        try:
            check_request(request)  # the input's problems first, then the keys' or Core's
            result = seal(request, signer=make_signer(s, core_url=core_url, api_key=api_key),
                          open_tl=tl_opener(s) if mode != "none" else None)
        except ContractError as err:
            # seal has no content failure mode: every failure is an environment failure.
            raise ContractError(err.code, err.message, err.details, codes.EXIT_ENV) from None
        emit_json(result.as_json(), pretty=True)


# ---- verify ----------------------------------------------------------------------------

@oord.command("verify")
# readable=False: an unreadable bundle is verify's own `archive` error report (exit 2),
# not click's usage error.
@click.argument("bundle", type=SafePath(readable=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print every check and its outcome as JSON.")
@click.option("--strict", is_flag=True,
              help="Require a TL proof, and treat a TL outage as an error (exit 2).")
@click.option("--verbose", is_flag=True, help="Every problem of every check, with timings.")
@click.option("--tl-url", default=None,
              help="Also ask this log for the entry (default: $OORD_TL_URL; none: offline).")
@click.option("--trusted", "trusted", type=SafePath(dir_okay=False, path_type=Path),
              default=None, help="Trusted key set (default: $OORD_TRUSTED_JWKS).")
def verify_command(bundle: Path, as_json: bool, strict: bool, verbose: bool,
                   tl_url: str | None, trusted: Path | None) -> int:
    """Verify BUNDLE against the trusted keys: exit 0 verified, 1 altered, 2 environment."""
    from cli.oord_output import verify_text
    from domain.oord.verify import verify_bundle
    from domain.oord.wiring import verify_options

    settings = _settings()
    url = tl_url or settings.tl_url
    if url is not None and not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"must be an http(s) URL, got {url!r}", param_hint="--tl-url")
    options = verify_options(settings, strict=strict, tl_url=url, trusted_jwks=trusted)
    with contract_exit_codes():
        report = verify_bundle(bundle, options).as_json(verbose=verbose)
        if as_json:
            emit_json(report, pretty=True)
        else:
            click.echo(verify_text(report, verbose=verbose))
    return int(report["exit_code"])


# ---- transparency log ------------------------------------------------------------------

@oord.group("tl")
def tl_group() -> None:
    """The built-in transparency log."""


@tl_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="0 picks a free port.")
def tl_serve_command(host: str, port: int) -> None:
    """Serve GET /v1/tl/entries/{seq} and GET /v1/tl/head until stopped."""
    from domain.oord.tl_server import serve

    serve(host, port, ready=lambda url: emit_json({"serving": url}))


@tl_group.command("head")
def tl_head_command() -> None:
    """Print the log's latest signed tree head."""
    from domain.oord.tl_server import latest_head

    emit_json(latest_head(), pretty=True)


# ---- agent -----------------------------------------------------------------------------

@oord.group("agent")
def agent_group() -> None:
    """The sender/receiver agent (Celery jobs on the oord queue, run by `conveyor up`)."""


@agent_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agent_status_command(as_json: bool) -> None:
    """Every batch and bundle: state, attempts, next_retry_at_ms, last_exit_code, last_error."""
    from cli.oord_output import batch_json, bundle_json, status_text
    from store import oord as state

    status = {"batches": [batch_json(r) for r in state.list_rows(state.SENDER)],
              "bundles": [bundle_json(r) for r in state.list_rows(state.RECEIVER)]}
    if as_json:
        emit_json(status, pretty=True)
    else:
        click.echo(status_text(status))


@agent_group.command("config")
def agent_config_command() -> None:
    """Print the agent's folders, intervals and key paths."""
    from dataclasses import asdict

    from config.redact import redact_url

    data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(_settings()).items()
            if k not in ("api_key", "test_pause_dir")}
    for name in ("core_url", "tl_url"):  # a URL may carry a token: show it redacted
        if data[name]:
            data[name] = redact_url(data[name])
    emit_json(data, pretty=True)


@agent_group.command("scan")
@click.option("--role", type=click.Choice(["sender", "receiver", "both"]), default="both",
              show_default=True)
@click.option("--timeout", "timeout_s", type=Seconds(min_open=True),
              default=60.0, show_default=True)
def agent_scan_command(role: str, timeout_s: float) -> None:
    """Run the scans now (beat runs them every few seconds anyway); print what they did."""
    from cli.jobs_client import JobClient, run_job

    if JobClient().embedded:
        # A scan publishes seal/verify jobs that would die with this process.
        raise JobSystemError("agent_needs_workers", "the agent runs on workers: start the "
                             "local stack with `conveyor up` or set CONVEYOR_BROKER_URL")
    tasks = {"sender": "tasks.oord.scan_outgoing", "receiver": "tasks.oord.scan_incoming"}
    chosen = list(tasks) if role == "both" else [role]
    results = {name: run_job(tasks[name], {}, timeout_s=timeout_s)[1] for name in chosen}
    emit_json(results, pretty=True)


def main() -> None:
    run_cli(oord, ERRORS, prog_name="oord")


if __name__ == "__main__":
    main()
