"""How `oord` shows things to people: the verify report as text, agent rows as tables."""

from __future__ import annotations

from typing import Any

from cli.output import printable
from common.clock import iso_z

_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "skip", "warn": "WARN"}
_ROW_FIELDS = ("state", "attempts", "next_retry_at_ms", "last_exit_code", "last_error")


def verify_text(report: dict[str, Any], *, verbose: bool) -> str:
    """One line per check, problems indented under it, and the verdict last."""
    lines = []
    for check in report["checks"]:
        timing = f" ({check['duration_ms']:.1f} ms)" if verbose and "duration_ms" in check else ""
        lines.append(f"{_MARK[check['outcome']]:<5} {check['name']:<13} "
                     f"{printable(check['detail'])}{timing}")
        problems = check.get("problems", [])
        shown = problems if verbose else problems[:5]
        lines += [f"      - {printable(p)}" for p in shown]
        if len(problems) > len(shown):
            lines.append(f"      ... {len(problems) - len(shown)} more (--verbose shows all)")
    verdict = {0: "VERIFIED", 1: "FAILED", 2: "ERROR"}[report["exit_code"]]
    lines.append(f"{verdict}: {printable(report['bundle'])} (exit {report['exit_code']})")
    return "\n".join(lines)


def _ms_iso(value: Any) -> Any:
    return iso_z(_from_ms(value)) if isinstance(value, int) else None


def _from_ms(ms: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC)


def batch_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"batch_id": row["batch_id"], "name": row["name"], "path": row["source_path"],
            "org_id": row["org_id"], **{k: row[k] for k in _ROW_FIELDS},
            "next_retry_at": _ms_iso(row["next_retry_at_ms"]),
            "lease_expires_at_ms": row["lease_expires_at_ms"], "claimed_by": row["claimed_by"],
            "bundle": row["bundle_name"], "bundle_id": row["bundle_id"],
            "merkle_root": row["merkle_root"], "created_at_ms": row["created_at_ms"],
            "updated_at": _ms_iso(row["updated_at_ms"])}


def bundle_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"name": row["name"], "path": row["source_path"],
            **{k: row[k] for k in _ROW_FIELDS},
            "next_retry_at": _ms_iso(row["next_retry_at_ms"]),
            "lease_expires_at_ms": row["lease_expires_at_ms"], "claimed_by": row["claimed_by"],
            "org_id": row["org_id"], "batch_id": row["batch_id"],
            "bundle_id": row["bundle_id"], "verified_path": row["verified_path"],
            "quarantine_path": row["quarantine_path"],
            "updated_at": _ms_iso(row["updated_at_ms"])}


def _table(title: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"{title}: none"
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = [f"{title}:",
             "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    text = "" if value is None else printable(value)
    return text if len(text) <= 60 else text[:57] + "..."


def status_text(status: dict[str, Any]) -> str:
    sender = _table("sender batches", ("batch_id", "state", "attempts", "next_retry_at",
                                       "last_exit_code", "bundle", "last_error"),
                    status["batches"])
    receiver = _table("receiver bundles", ("name", "state", "attempts", "next_retry_at",
                                           "last_exit_code", "verified_path", "last_error"),
                      status["bundles"])
    return f"{sender}\n\n{receiver}"
