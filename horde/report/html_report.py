"""The HTML report: one self-contained file with the summary, the tables and the charts.

`render_html(snapshot, info)` returns the document; `write_html(path, ...)`
writes it. Everything is inline -- the CSS, the per-second history as JSON in
a `<script type="application/json">`, uPlot and the chart code -- so the file
opens anywhere, offline, and can be mailed or archived as is.

The tables are rendered here, in HTML, so they read without JavaScript; the
charts are drawn by the same `charts.js` the live web UI uses. The scripts
and styles are read as package data from horde/web/static/ with
importlib.resources (data only: no code of the web layer is imported).

Invariants: every text from the run (endpoint names, error messages,
tracebacks, the host) is HTML-escaped; inlined script text never contains
"</script" (JSON gets "<\\/" and the scripts are checked), so no data can end
a script element early.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from horde.errors import UsageError
from horde.report.model import RunInfo, WorkerSummary
from horde.report.output import write_output
from horde.stats.snapshot import EndpointSummary, HistoryRow, StatsSnapshot

__all__ = ["render_html", "write_html", "history_columns", "read_static"]

_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)
_SHOWN_PERCENTILES = ("50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99")


def read_static(*parts: str) -> str:
    """A text file of horde/web/static/ (the UI's assets), e.g. ("vendor", "uPlot.min.css")."""
    node = resources.files("horde").joinpath("web", "static", *parts)
    try:
        return node.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"horde's web assets are missing ({'/'.join(parts)}): {exc}") from exc


def _num(value: float, digits: int = 3) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def history_columns(rows: Iterable[HistoryRow]) -> dict[str, list[Any]]:
    """History as columns (t, rps, fail_per_s, p50, p95, p99, users): what charts.js draws."""
    rows = list(rows)
    return {
        "t": [r.t_s for r in rows],
        "rps": [_num(r.rps) for r in rows],
        "fail_per_s": [_num(r.fail_per_s) for r in rows],
        "p50": [_num(r.p50_ms) for r in rows],
        "p95": [_num(r.p95_ms) for r in rows],
        "p99": [_num(r.p99_ms) for r in rows],
        "users": [r.users for r in rows],
    }


def _script_text(text: str) -> str:
    return _SCRIPT_END.sub(r"<\\/\1", text)


def _when(iso: str) -> str:
    """ISO 8601 as "2025-01-31 12:00:00 UTC" (to the second), or as given if unparsable."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso or "–"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo else "")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ms(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _int(value: float) -> str:
    return f"{round(value):,}"


def _table(head: Sequence[tuple[str, bool]], rows: Iterable[str], foot: str = "") -> str:
    ths = "".join(f'<th class="num">{_e(h)}</th>' if num else f"<th>{_e(h)}</th>"
                  for h, num in head)
    body = "".join(rows)
    tfoot = f"<tfoot>{foot}</tfoot>" if foot else ""
    return f'<table class="grid"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody>{tfoot}</table>'


def _td(text: str, cls: str = "num") -> str:
    return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"


def _endpoint_row(e: EndpointSummary) -> str:
    cells = [
        _td(_e(e.method), ""), _td(_e(e.name), "name"), _td(_int(e.requests)),
        _td(_int(e.failures), "num fail" if e.failures else "num"),
        *(_td(_ms(e.percentiles_ms[k])) for k in _SHOWN_PERCENTILES),
        _td(_ms(e.max_ms)), _td(_ms(e.mean_ms)), _td(_int(e.avg_size_bytes)), _td(_rate(e.rps)),
    ]  # fmt: skip
    return "<tr>" + "".join(cells) + "</tr>"


def _endpoints(snapshot: StatsSnapshot) -> str:
    head = [("Type", False), ("Name", False), ("# Requests", True), ("# Fails", True),
            *((f"{k}% (ms)", True) for k in _SHOWN_PERCENTILES),
            ("Max (ms)", True), ("Average (ms)", True), ("Avg size (bytes)", True), ("RPS", True)]
    total = snapshot.total
    return _table(head, (_endpoint_row(e) for e in snapshot.endpoints), _endpoint_row(total))


def _errors(snapshot: StatsSnapshot) -> str:
    if not snapshot.errors:
        return '<p class="note">No failures.</p>'
    head = [("# Failures", True), ("Type", False), ("Name", False), ("Message", False)]
    rows = (f"<tr>{_td(_int(x.occurrences))}{_td(_e(x.method), '')}{_td(_e(x.name), 'name')}"
            f"{_td(_e(x.error), '')}</tr>" for x in snapshot.errors)
    return _table(head, rows)


def _exceptions(snapshot: StatsSnapshot) -> str:
    if not snapshot.exceptions:
        return '<p class="note">No exceptions.</p>'
    head = [("Count", True), ("Where", False), ("Error", False), ("Traceback", False)]
    rows = (f"<tr>{_td(_int(x.occurrences))}{_td(_e(x.where), '')}{_td(_e(x.error), '')}"
            f"<td><pre>{_e(x.traceback)}</pre></td></tr>" for x in snapshot.exceptions)
    return _table(head, rows)


def _worker_row(w: WorkerSummary) -> str:
    # Same rule as the live UI and the health monitor: CPU > 90% or lag p99 > 10 ms.
    saturated = w.saturated or w.cpu_percent_max > 90.0 or w.loop_lag_p99_ms > 10.0
    cls = ' class="saturated"' if saturated else ""
    return (f"<tr{cls}>{_td(_e(w.id), '')}{_td(_e(w.host), '')}{_td(_e(w.state), '')}"
            f"{_td(_int(w.users))}{_td(_int(w.requests))}{_td(f'{w.cpu_percent_max:.0f}')}"
            f"{_td(_ms(w.loop_lag_p99_ms))}{_td(_e('; '.join(w.warnings)), '')}</tr>")


def _workers(info: RunInfo) -> str:
    if not info.workers:
        return '<p class="note">A local run: no workers.</p>'
    head = [("Worker", False), ("Host", False), ("State", False), ("Users", True),
            ("Requests", True), ("CPU max %", True), ("Loop lag p99 (ms)", True),
            ("Warnings", False)]
    return _table(head, (_worker_row(w) for w in info.workers))


def _checks(info: RunInfo) -> str:
    """The --check verdicts: a table, with the failed ones marked (empty without checks)."""
    if not info.checks:
        return ""
    failed = sum(not c.ok for c in info.checks)
    verdict = (f'<p class="fail" id="checks-verdict"><strong>{failed} of {len(info.checks)} '
               "checks failed.</strong></p>" if failed else
               f'<p id="checks-verdict">All {len(info.checks)} checks passed.</p>')
    head = [("Check", False), ("Value", True), ("Result", False)]
    rows = (f'<tr class="{"ok" if c.ok else "failed"}">{_td(_e(c.expr), "name")}'
            f"{_td(_e(c.value_text()))}"
            f"{_td(_e(c.verdict_text()), '')}"
            "</tr>" for c in info.checks)
    return f"<h2>Checks</h2>\n{verdict}\n{_table(head, rows)}"


def _health(info: RunInfo) -> str:
    g = info.generator
    figures = (f"<p>Generator CPU max {g.cpu_percent_max:.0f}% &middot; "
               f"event-loop lag p99 {g.loop_lag_p99_ms:.1f} ms.</p>")
    warnings = info.warnings
    if not warnings:
        return figures + '<p class="note">No sign of a saturated generator.</p>'
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return (figures + '<div class="banner" id="health-banner"><strong>The load generator '
            "struggled during this run; latency figures are suspect.</strong>"
            f"<ul>{items}</ul></div>")


def _summary(snapshot: StatsSnapshot, info: RunInfo) -> str:
    t = snapshot.total
    fail_pct = 100.0 * t.failures / t.requests if t.requests else 0.0
    duration = info.duration_s or snapshot.duration_s
    facts = [
        ("Host", _e(info.host or "–")), ("Started", _e(_when(info.started_at))),
        ("Duration", f"{duration:.1f} s"), ("Users", _int(info.users)),
        ("Requests", _int(t.requests)), ("Failures", f"{_int(t.failures)} ({fail_pct:.2f}%)"),
        ("Requests/s", _rate(t.rps)), ("Median", f"{_ms(t.percentiles_ms['50'])} ms"),
        ("95%ile", f"{_ms(t.percentiles_ms['95'])} ms"),
        ("99%ile", f"{_ms(t.percentiles_ms['99'])} ms"), ("Max", f"{_ms(t.max_ms)} ms"),
    ]  # fmt: skip
    a = snapshot.arrival
    if a is not None:  # the open model: wanted, started, dropped; service time beside
        service = t.service_percentiles_ms or t.percentiles_ms
        facts += [
            ("Target iterations/s", _rate(a.target_rate)),
            ("Achieved iterations/s", _rate(a.achieved_rate)),
            ("Dropped iterations", _int(a.dropped_iterations)),
            ("Service 95%ile", f"{_ms(service['95'])} ms"),
        ]
    cells = "".join(f'<div class="fact"><span class="label">{k}</span>'
                    f'<span class="value">{v}</span></div>' for k, v in facts)
    return f'<div class="facts">{cells}</div>'


def _open_model_note(snapshot: StatsSnapshot) -> str:
    if snapshot.arrival is None:
        return ""
    return ('<p class="note" id="open-model-note">Open model (--arrival-rate): response times '
            "count from each iteration's intended start (coordinated omission corrected); "
            "the service 95%ile counts from the first byte sent. Iterations that waited longer "
            f"than {snapshot.arrival.max_lateness_s:g} s for a free user were dropped.</p>")


_REPORT_CSS = """
body { padding: 0 24px 40px; max-width: 1400px; margin: 0 auto; }
h1 { margin: 18px 0 4px; } h2 { margin: 28px 0 10px; font-size: 18px; }
.meta { color: var(--muted); }
.facts { display: flex; flex-wrap: wrap; gap: 10px; }
.fact { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
        padding: 8px 12px; min-width: 110px; display: flex; flex-direction: column; }
.fact .label { font-size: 11px; text-transform: uppercase; color: var(--muted); }
.fact .value { font-size: 16px; font-weight: 600; }
.banner { margin: 8px 0; }
.scroll { overflow-x: auto; }
p.fail, tr.failed td { color: var(--bad); }
tr.failed td { background: var(--bad-bg); font-weight: 600; }
"""

_INIT_JS = """
(function () {
  var hist = JSON.parse(document.getElementById("horde-history").textContent);
  window.hordeReport = { history: hist,
                         charts: new HordeCharts(document.getElementById("charts"), hist) };
})();
"""


def render_html(snapshot: StatsSnapshot, info: RunInfo,
                plan: Mapping[str, Sequence[float | None]] | None = None) -> str:
    """The whole report as one HTML document (str); `plan`: more history columns, the
    plan's target beside what ran (``target_users``, ``target_rate``, ``iterations``)."""
    columns = history_columns(snapshot.history)
    columns.update({k: list(v) for k, v in (plan or {}).items()})
    history = json.dumps(columns, separators=(",", ":"))
    history = history.replace("</", "<\\/")  # only ever inside JSON strings, where \\/ == /
    css = read_static("vendor", "uPlot.min.css") + read_static("app.css") + _REPORT_CSS
    scripts = "".join(
        f"<script>{_script_text(read_static(*p))}</script>\n"
        for p in (("vendor", "uPlot.iife.min.js"), ("charts.js",))
    )
    title = f"horde report — {info.host or 'local run'} — {_when(info.started_at)}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="horde {_e(info.horde_version)}">
<title>{_e(title)}</title>
<style>{_script_text(css)}</style>
</head>
<body>
<h1>horde load test report</h1>
<p class="meta">horde {_e(info.horde_version)} &middot; generated from the run started
{_e(_when(info.started_at))}</p>
<h2>Summary</h2>
{_summary(snapshot, info)}
{_open_model_note(snapshot)}
{_checks(info)}
<h2>Generator health</h2>
{_health(info)}
<h2>Charts</h2>
<div id="charts" class="charts"></div>
<h2>Requests</h2>
<div class="scroll">{_endpoints(snapshot)}</div>
<h2>Failures</h2>
<div class="scroll">{_errors(snapshot)}</div>
<h2>Exceptions</h2>
<div class="scroll">{_exceptions(snapshot)}</div>
<h2>Workers</h2>
<div class="scroll">{_workers(info)}</div>
<script type="application/json" id="horde-history">{history}</script>
{scripts}<script>{_INIT_JS}</script>
</body>
</html>
"""


def write_html(path: str | os.PathLike[str], snapshot: StatsSnapshot, info: RunInfo,
               plan: Mapping[str, Sequence[float | None]] | None = None) -> None:
    """Write the report to `path` (`horde.report.output.write_output`: atomically for a
    file, in place for a device or FIFO); UsageError "PATH: reason" when it cannot."""
    write_output(path, render_html(snapshot, info, plan))
