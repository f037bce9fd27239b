"""deploy/grafana/horde-dashboard.json: valid, and it asks only for metrics horde exports.

A real Prometheus also parses every query of it (tests/integration/test_prometheus_scrape.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from horde.report.model import WorkerSummary
from horde.report.prometheus import read_metrics, render_metrics
from horde.runtime.health import HealthSample
from horde.stats import LatencyTable, RequestStats, StatsAggregate

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "horde-dashboard.json"


def dashboard_queries() -> list[str]:
    data = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in data["panels"] for t in p["targets"]]


class _Source:
    state = "running"
    target_users = 1

    def __init__(self) -> None:
        self.aggregate = StatsAggregate()
        rs = RequestStats()
        rs.record("GET", "/", 100, 1, "HTTP 500", 1)
        self.aggregate.apply(rs.take_delta(), 0)

    def counts(self) -> Mapping[str, int]:
        return {"U": 1}

    def workers(self) -> list[WorkerSummary]:
        return [WorkerSummary("w", "h", "running", 1, 1)]

    def current_health(self) -> HealthSample:
        return HealthSample(1.0, 1.0)

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        return self.aggregate.latency_table(edges_us)


def _exported() -> set[str]:
    body, _ = render_metrics(read_metrics(_Source()))
    return {line.split("{")[0].split(" ")[0] for line in body.decode().splitlines()
            if line and not line.startswith("#")}


def test_every_query_names_an_exported_metric() -> None:
    exported = _exported()
    used = {m for q in dashboard_queries() for m in re.findall(r"\bhorde_\w+", q)}
    assert used and used <= exported, used - exported


def test_panels_use_the_datasource_variable_and_do_not_overlap() -> None:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert [v["name"] for v in data["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in data["panels"]:
        assert p["datasource"]["uid"] == "${datasource}"
        assert all(t["datasource"]["uid"] == "${datasource}" for t in p["targets"])
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, p["title"]
        cells |= mine
