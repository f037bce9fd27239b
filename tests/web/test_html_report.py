"""The HTML report as a document: self-contained, escaped, complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from horde.errors import UsageError
from horde.report.html_report import history_columns, render_html, write_html
from horde.report.model import GeneratorHealth, RunInfo, WorkerSummary
from horde.stats import EndpointSummary, ErrorSummary, ExceptionSummary, HistoryRow, StatsSnapshot

EVIL = "</script><script>alert(1)</script>"


def _snapshot() -> StatsSnapshot:
    return StatsSnapshot(
        endpoints=[EndpointSummary("GET", "/ok", requests=10, max_ms=3.0),
                   EndpointSummary("POST", EVIL, requests=5, failures=5)],
        total=EndpointSummary("", "Aggregated", requests=15, failures=5),
        errors=[ErrorSummary("POST", EVIL, "HTTP 500 <b>", 5)],
        exceptions=[ExceptionSummary("task", "ValueError: " + EVIL, "Traceback <here>", 2)],
        history=[HistoryRow(t, 2, 7.5, 2.5, 1.0, 2.0, 3.0, 10 * t) for t in range(4)],
        duration_s=4.0,
    )


def _info(**kw: object) -> RunInfo:
    return RunInfo(started_at="2026-01-31T12:00:00.123456+00:00", duration_s=4.0, users=2,
                   host="http://127.0.0.1:8080", **kw)  # type: ignore[arg-type]


def test_report_is_self_contained() -> None:
    doc = render_html(_snapshot(), _info())
    # No external resource at all: no src=, no stylesheet links, no URLs to load.
    assert not re.search(r"<script[^>]*\bsrc=", doc)
    assert "<link" not in doc
    assert "uPlot" in doc and "HordeCharts" in doc
    # The embedded history is the one charts.js reads.
    data = re.search(r'<script type="application/json" id="horde-history">(.*?)</script>', doc,
                     re.S)
    assert data is not None
    assert json.loads(data.group(1)) == history_columns(_snapshot().history)
    assert "2026-01-31 12:00:00 UTC" in doc


def test_run_text_is_escaped_everywhere() -> None:
    doc = render_html(_snapshot(), _info())
    # The only script elements are the four horde put there.
    assert doc.count("<script") == 4
    assert "alert(1)</script>" not in doc
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in doc
    assert "HTTP 500 &lt;b&gt;" in doc and "Traceback &lt;here&gt;" in doc


def test_health_warnings_and_saturated_workers_stand_out() -> None:
    info = _info(
        generator=GeneratorHealth(95.0, 3.0, ["generator CPU at 95% (> 90%)"]),
        workers=[WorkerSummary("w1", "hostA", "running", 5, 100, cpu_percent_max=20.0),
                 WorkerSummary("w2", "hostB", "running", 5, 100, loop_lag_p99_ms=30.0,
                               warnings=["lagging"])],
    )
    doc = render_html(_snapshot(), info)
    assert 'id="health-banner"' in doc and "generator CPU at 95%" in doc
    assert "worker w2: lagging" in doc
    rows = re.findall(r"<tr( class=\"saturated\")?><td>(w\d)</td>", doc)
    assert rows == [("", "w1"), (' class="saturated"', "w2")]


def test_empty_run_renders() -> None:
    doc = render_html(StatsSnapshot(), RunInfo())
    assert "No failures." in doc and "A local run: no workers." in doc


def test_write_html(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    write_html(path, _snapshot(), _info())
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    with pytest.raises(UsageError):
        write_html(tmp_path / "missing-dir" / "r.html", _snapshot(), _info())


def test_open_model_figures_show_only_in_the_open_model() -> None:
    from dataclasses import replace

    from horde.stats.snapshot import ArrivalSummary

    closed = render_html(_snapshot(), _info())
    assert "Dropped iterations" not in closed and "open-model-note" not in closed
    snap = replace(_snapshot(), arrival=ArrivalSummary(
        target_rate=200.0, achieved_rate=198.5, current_rate=199.0, iterations=3970,
        dropped_iterations=17, max_lateness_s=2.0))
    doc = render_html(snap, _info())
    for text in ("Target iterations/s", "Achieved iterations/s", "Dropped iterations",
                 "Service 95%ile", 'id="open-model-note"', "than 2 s"):
        assert text in doc
