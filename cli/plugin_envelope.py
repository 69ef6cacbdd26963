"""The catalog's BaseResponse envelope for every outcome of `plugins`, errors included.

A `Sink` knows where the response goes (stdout or --output) and what it echoes
(correlationId, transactionId); `EnvelopeErrors` is the ErrorFormat that run_cli uses
for click's usage errors and anything unexpected, so those come out as envelopes too.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.output import to_json
from common.clock import now_iso
from common.errors import ContractError, JobSystemError
from domain.marketplace.errors import CODES, plugin_error
from domain.marketplace.fsutil import parse_json
from domain.marketplace.redact import Redactor
from domain.marketplace.service import new_correlation_id, new_transaction_id

logger = logging.getLogger("conveyor.plugins.cli")

CLI_VERSION = "0.1.0"
STDIO = "-"
MAX_INPUT_BYTES = 1024 * 1024
_NAME_MAX = 255  # bytes in one file name on Linux file systems
_CORRELATION = re.compile(r"^.+$", re.DOTALL)  # what the schemas accept: any non-empty
INTERNAL_CODES = {"install": "ERR-INSTALL-099", "update": "ERR-UPDATE-099",
                  "rollback": "ERR-ROLLBACK-099"}


@dataclass
class Sink:
    """Where this call's response goes and what it echoes."""

    command: str | None = None
    output: str | None = None  # a file, or None / "-" for stdout
    correlation_id: str | None = None
    transaction_id: str | None = None
    home: Path | None = None
    started: float = field(default_factory=time.monotonic)

    def reset(self, *, output: str | None) -> None:
        """Start a new call (the CLI's sink is module state; tests run many calls)."""
        self.command, self.output = None, output
        self.correlation_id = self.transaction_id = None
        self.started = time.monotonic()

    def echo_correlation(self, raw: Any) -> None:
        """Echo the request's correlationId when it is one we can print back."""
        if isinstance(raw, str) and _CORRELATION.match(raw):
            self.correlation_id = raw

    def envelope(self, *, status: str, message: str, data: Mapping[str, Any] | None = None,
                 error: Mapping[str, Any] | None = None,
                 telemetry: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response: dict[str, Any] = {
            "success": status != "error", "status": status, "message": message,
            "transactionId": self.transaction_id or new_transaction_id(),
            "correlationId": self.correlation_id or new_correlation_id(),
            "timestamp": now_iso(), "cliVersion": CLI_VERSION}
        if error is not None:
            response["error"] = dict(error)
        if data is not None:
            response["data"] = dict(data)
        response["telemetry"] = dict(telemetry) if telemetry else {
            "durationMs": int((time.monotonic() - self.started) * 1000)}
        return response

    def emit(self, response: Mapping[str, Any]) -> bool:
        """Write the (redacted) response; False when --output could not be written."""
        text = to_json(Redactor(self.home)(dict(response)), pretty=True) + "\n"
        if self.output and self.output != STDIO:
            try:
                _write_file(Path(self.output), text)
                return True
            except (OSError, ValueError) as exc:  # ValueError: '.', a NUL byte
                logger.error("cannot write --output %r (%s); the response follows on stdout",
                             self.output, getattr(exc, "strerror", None) or exc)
                sys.stdout.write(text)
                sys.stdout.flush()
                return False
        sys.stdout.write(text)
        sys.stdout.flush()
        return True


def _write_file(path: Path, text: str) -> None:
    if _is_special(path):
        # /dev/null, /dev/stdout, a FIFO: written into. Renaming a file over it would
        # replace the device (as root, /dev/null itself) with a regular file.
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _is_special(path: Path) -> bool:
    """An existing target that is neither a regular file nor a folder (symlinks followed)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def error_details(error: ContractError) -> dict[str, Any]:
    """ErrorDetails: code, message, severity, category, specReference, resolution, context."""
    spec = CODES.get(error.code)
    details: dict[str, Any] = {
        "code": error.code, "message": error.message, "severity": "ERROR",
        "category": error.details.get("category", spec.category if spec else "INTERNAL")}
    for key in ("specReference", "resolution"):
        if error.details.get(key):
            details[key] = error.details[key]
    details["context"] = error.details.get("context", {})
    return details


class EnvelopeErrors:
    """The ErrorFormat of `plugins`: every error is an envelope on stdout or --output."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def render(self, error: ContractError) -> None:
        response = self.sink.envelope(status="error",
                                      message=error.details.get("summary", error.message),
                                      data=error.details.get("data"),
                                      error=error_details(error),
                                      telemetry=error.details.get("telemetry"))
        self.sink.emit(response)

    def usage_error(self, message: str) -> ContractError:
        return plugin_error("ERROR-SCHEMA-002", message)

    def system_error(self, error: JobSystemError) -> ContractError:
        # No command of this CLI uses the job system; should one ever fail, it is internal.
        return self.internal_error(error.message)

    def internal_error(self, message: str) -> ContractError:
        code = INTERNAL_CODES.get(self.sink.command or "", "ERR-INSTALL-099")
        return plugin_error(code, message)


def output_from_argv(argv: Sequence[str]) -> str | None:
    """--output's value before click parses anything, so usage errors go there too."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--output" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--output="):
            found = arg.split("=", 1)[1]
    return found


def check_output_target(output: str | None) -> None:
    """Refuse an --output that cannot be written before doing any work."""
    if not output or output == STDIO:
        return
    path = Path(output)
    try:
        os.fsencode(output)  # a NUL byte or a lone surrogate: no file can have that name
        if "\x00" in output:
            raise ValueError("NUL byte")
        is_dir, parent_is_dir = path.is_dir(), path.parent.is_dir()
    except (OSError, ValueError) as exc:  # ENAMETOOLONG and the like
        raise plugin_error("ERROR-SCHEMA-002", f"--output {output!r} is not a usable path: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    if is_dir:
        raise plugin_error("ERROR-SCHEMA-002", f"--output {output} is a folder")
    if not parent_is_dir:
        raise plugin_error("ERROR-SCHEMA-002", f"--output {output}: folder "
                           f"{path.parent} does not exist")
    if not _is_special(path) and len(os.fsencode(path.name)) > _NAME_MAX - len(".x.tmp") - 8:
        # The response is written to a hidden temporary sibling first, then renamed.
        raise plugin_error("ERROR-SCHEMA-002", f"--output {output}: the file name is too long")


def read_input(source: str) -> Any:
    """The request from --input FILE or - (stdin): ERROR-SCHEMA-003 when unreadable."""
    try:
        if source == STDIO:
            text = sys.stdin.read(MAX_INPUT_BYTES + 1)
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(MAX_INPUT_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: undecodable bytes, a NUL in the name
        raise plugin_error("ERROR-SCHEMA-003", f"cannot read --input {source}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    if len(text) > MAX_INPUT_BYTES:
        raise plugin_error("ERROR-SCHEMA-003", f"--input {source} is larger than "
                           f"{MAX_INPUT_BYTES} bytes")
    try:
        return parse_json(text)
    except ValueError as exc:
        raise plugin_error("ERROR-SCHEMA-003", f"--input {source} is not JSON: {exc}") from None
