"""deploy/grafana/conveyor-dashboard.json: valid JSON whose queries use only the metric
names `conveyor metrics` really exports (read from a real exposition, not a list)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from store import job_writes
from store.job_writes import QueuedJob
from tests.support.env import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "conveyor-dashboard.json"
METRIC_NAME = re.compile(r"\bconveyor_[a-z_]+\b")


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # rows may nest panels
    return found


@pytest.fixture
def exported(job_env: dict[str, str]) -> tuple[set[str], set[str]]:
    """(sample names, family names) of an exposition with every family populated."""
    from cli.metrics import exposition

    for job_id, fail in (("ok", False), ("bad", True)):
        job_writes.record_queued(None, QueuedJob(id=job_id, kind="t.x", queue="default",
                                                 args={}))
        job_writes.start_attempt(job_id, kind="t.x", queue="default", args={},
                                 correlation_id=None, max_attempts=3, worker="w")
        if fail:
            job_writes.mark_failed(job_id, error="no", exit_code=1,
                                   result={"code": "NO", "message": "no", "exit_code": 1})
        else:
            job_writes.mark_succeeded(job_id, result=None)
    families = list(text_string_to_metric_families(exposition()))
    samples = {s.name for f in families for s in f.samples}
    return samples, {f.name for f in families}


def test_every_panel_queries_metrics_we_export(exported: tuple[set[str], set[str]]) -> None:
    samples, families = exported
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"]
    used: set[str] = set()
    panels = _panels(dashboard)
    assert panels
    for panel in panels:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            names = set(METRIC_NAME.findall(target["expr"]))
            assert names, f"panel {panel['title']!r}: {target['expr']!r} uses no metric of ours"
            assert names <= samples, f"panel {panel['title']!r}: unknown {names - samples}"
            used |= names
    # And every family we export is on the dashboard somewhere.
    unshown = {f for f in families
               if not any(name == f or name.startswith(f + "_") for name in used)}
    assert not unshown


def test_panel_ids_and_places_are_distinct() -> None:
    panels = _panels(json.loads(DASHBOARD.read_text()))
    assert len({p["id"] for p in panels}) == len(panels)
    places = [tuple(p["gridPos"][k] for k in ("x", "y")) for p in panels]
    assert len(set(places)) == len(places)
