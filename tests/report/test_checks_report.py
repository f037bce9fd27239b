"""--check results in every report: the console summary, the JSON and the HTML report."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from horde.report import RunInfo, render_summary, write_json
from horde.report.html_report import render_html
from horde.report.model import with_checks
from horde.stats import StatsSnapshot
from horde.stats.checks import CheckResult, CheckWatch, parse_check

RESULTS = [
    CheckResult("p95 < 300ms", True, 9.5, "ms"),
    CheckResult("GET /home: fail_ratio < 1%", False, 10.0, "%"),
    CheckResult("POST /typo: max < 1s", False, None, "ms", aborted=True),
]


def _summary_text(snapshot: StatsSnapshot, info: RunInfo) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(render_summary(snapshot, info))
    return buf.getvalue()


def test_console_summary_ends_with_the_checks(snapshot: StatsSnapshot, info: RunInfo) -> None:
    out = _summary_text(snapshot, replace(info, checks=RESULTS))
    assert "Checks: 2 of 3 failed" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "9.50 ms" in rows["p95 < 300ms"] and "passed" in rows["p95 < 300ms"]
    assert "10.00%" in rows["GET /home: fail_ratio < 1%"]
    assert "FAILED" in rows["GET /home: fail_ratio < 1%"]
    assert "no requests" in rows["POST /typo: max < 1s"]
    assert "FAILED (stopped the run)" in rows["POST /typo: max < 1s"]
    # The verdict comes after everything else, warnings included.
    assert out.rindex("WARNING") < out.index("Checks: 2 of 3 failed")


def test_console_summary_without_checks_has_no_checks_table(snapshot: StatsSnapshot,
                                                            info: RunInfo) -> None:
    assert "Checks" not in _summary_text(snapshot, info)
    passed = [CheckResult("p95 < 300ms", True, 9.5, "ms")]
    assert "Checks: all 1 passed" in _summary_text(snapshot, replace(info, checks=passed))


def test_json_lists_the_checks(snapshot: StatsSnapshot, info: RunInfo, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json(path, snapshot, replace(info, checks=RESULTS))
    data = json.loads(path.read_text())
    assert data["checks"] == [
        {"expr": "p95 < 300ms", "ok": True, "value": 9.5, "unit": "ms", "aborted": False},
        {"expr": "GET /home: fail_ratio < 1%", "ok": False, "value": 10.0, "unit": "%",
         "aborted": False},
        {"expr": "POST /typo: max < 1s", "ok": False, "value": None, "unit": "ms",
         "aborted": True},
    ]
    write_json(path, snapshot, info)
    assert json.loads(path.read_text())["checks"] == []


def test_html_report_has_a_checks_section(snapshot: StatsSnapshot, info: RunInfo) -> None:
    evil = CheckResult("GET </script><b>x: p95 < 1s", False, 2.0, "ms")
    doc = render_html(snapshot, replace(info, checks=[*RESULTS, evil]))
    assert "<h2>Checks</h2>" in doc
    assert re.search(r'id="checks-verdict"><strong>3 of 4 checks failed', doc)
    failed_rows = re.findall(r'<tr class="failed">(.*?)</tr>', doc)
    assert len(failed_rows) == 3
    assert "FAILED (stopped the run)" in failed_rows[1]
    assert "GET &lt;/script&gt;&lt;b&gt;x: p95 &lt; 1s" in doc
    assert "<h2>Checks</h2>" not in render_html(snapshot, info)


def test_with_checks_judges_the_snapshot(snapshot: StatsSnapshot, info: RunInfo) -> None:
    # The fixture: GET /home 10 requests, 1 failed; POST /login 2 at 20 ms.
    watch = CheckWatch([parse_check("GET /home: fail_ratio < 5%"),
                        parse_check("POST /login: max <= 20ms")])
    judged = with_checks(info, snapshot, watch)
    assert [(c.ok, c.value) for c in judged.checks] == [(False, 10.0), (True, 20.0)]
    assert with_checks(info, snapshot, CheckWatch([])) is info
    assert with_checks(info, snapshot, None) is info
