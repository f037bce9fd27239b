"""Console output: the live table while a test runs and the summary at the end.

`render_table` and `render_summary` build rich renderables and print nothing.
`ConsoleReporter` decides how to show them: on a terminal `live()` redraws
one table in place (rich `Live`, refreshed only when called: no background
thread); elsewhere (CI logs, a pipe) it prints one plain line per call, so
logs stay greppable. Generator-health warnings are shown in both modes, and
in the summary, in a style that stands out.

Times are shown in milliseconds, sizes in bytes, rates per second.

A load generator runs out of open files in the normal course of a big test,
and then an `import` fails (it opens the module's file). rich imports some of
its modules on first use (emoji codes, the first time a string is rendered),
so `ConsoleReporter` renders everything it will show once, into memory, when
it is created; a frame that still fails with OSError is skipped, never raised
into the test's tick (issue 14: a traceback in the live view at EMFILE).
"""

from __future__ import annotations

import io
import logging
import re
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from horde.report.model import GeneratorHealth, RunInfo, WorkerSummary
from horde.stats import StatsAggregate
from horde.stats.snapshot import PERCENTILE_KEYS, EndpointSummary, StatsSnapshot

__all__ = ["ConsoleReporter", "render_table", "render_summary", "plain_line", "fmt_ms",
           "preload_rich"]

log = logging.getLogger(__name__)

_TRACEBACK_LINES = 4
# A measured figure inside a warning ("CPU at 97%", "lag p99 12.3 ms", "for 3 s"):
# left out when deciding whether a warning was already shown.
_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:%|(?:ms|s)\b)")
_WARN_STYLE = "bold yellow"


def fmt_ms(ms: float) -> str:
    """Milliseconds with precision that fits the magnitude (0.065, 1.24, 23.5, 1203)."""
    if ms < 1:
        return f"{ms:.3f}"
    if ms < 10:
        return f"{ms:.2f}"
    if ms < 100:
        return f"{ms:.1f}"
    return f"{ms:.0f}"


def _endpoint_cells(e: EndpointSummary) -> list[str | Text]:
    p = e.percentiles_ms
    return [
        e.method, Text(e.name), f"{e.requests:,}", f"{e.failures:,}",
        fmt_ms(p["50"]), fmt_ms(p["95"]), fmt_ms(p["99"]), fmt_ms(e.mean_ms),
        fmt_ms(e.min_ms), fmt_ms(e.max_ms), f"{e.avg_size_bytes:.0f}",
        f"{e.current_rps:.1f}", f"{e.current_fail_per_s:.1f}",
    ]  # fmt: skip


def render_table(snapshot: StatsSnapshot) -> Table:
    """Per-endpoint table (as the live view shows it) with an Aggregated row."""
    table = Table(title="Requests (times in ms)", title_justify="left", expand=False)
    for header in ("Type", "Name"):
        table.add_column(header, no_wrap=True)
    for header in ("# reqs", "# fails", "Median", "95%", "99%", "Avg", "Min", "Max",
                   "Avg size (B)", "Current RPS", "Current fail/s"):  # fmt: skip
        table.add_column(header, justify="right", no_wrap=True)
    for e in snapshot.endpoints:
        table.add_row(*_endpoint_cells(e), style="red" if e.failures else None)
    table.add_section()
    table.add_row(*_endpoint_cells(snapshot.total), style="bold")
    return table


def _percentile_table(snapshot: StatsSnapshot) -> Table:
    table = Table(title="Response time percentiles (ms)", title_justify="left")
    table.add_column("Type", no_wrap=True)
    table.add_column("Name", no_wrap=True)
    for k in PERCENTILE_KEYS:
        table.add_column(f"{k}%", justify="right", no_wrap=True)
    table.add_column("# reqs", justify="right")
    for e in [*snapshot.endpoints, snapshot.total]:
        cells = [fmt_ms(e.percentiles_ms[k]) for k in PERCENTILE_KEYS]
        style = "bold" if e is snapshot.total else None
        table.add_row(e.method, Text(e.name), *cells, f"{e.requests:,}", style=style)
    return table


def _errors_table(snapshot: StatsSnapshot) -> Table:
    table = Table(title="Failures", title_justify="left")
    table.add_column("# occurrences", justify="right")
    table.add_column("Method")
    table.add_column("Name")
    table.add_column("Error", overflow="fold")
    for e in snapshot.errors:
        table.add_row(f"{e.occurrences:,}", e.method, Text(e.name), Text(e.error))
    return table


def _exceptions_table(snapshot: StatsSnapshot) -> Table:
    """Innermost lines of each traceback: where it raised and what."""
    table = Table(title="Exceptions in tasks", title_justify="left")
    table.add_column("# occurrences", justify="right")
    table.add_column("Where")
    table.add_column("Error", overflow="fold")
    table.add_column("Traceback (last lines)", overflow="fold")
    for x in snapshot.exceptions:
        lines = [ln for ln in x.traceback.rstrip().splitlines() if ln.strip()]
        table.add_row(f"{x.occurrences:,}", Text(x.where), Text(x.error),
                      Text("\n".join(lines[-_TRACEBACK_LINES:])))
    return table


def _workers_table(info: RunInfo) -> Table:
    table = Table(title="Workers", title_justify="left")
    for header in ("ID", "Host", "State"):
        table.add_column(header, no_wrap=True)
    for header in ("Users", "# reqs", "CPU max %", "Loop lag p99 (ms)"):
        table.add_column(header, justify="right")
    table.add_column("Warnings", overflow="fold")
    for w in info.workers:
        table.add_row(
            Text(w.id), Text(w.host), w.state, f"{w.users:,}", f"{w.requests:,}",
            f"{w.cpu_percent_max:.0f}", fmt_ms(w.loop_lag_p99_ms),
            Text("; ".join(w.warnings), style=_WARN_STYLE),
        )  # fmt: skip
    return table


def _checks_table(info: RunInfo) -> Table:
    failed = sum(not c.ok for c in info.checks)
    title = (f"Checks: {failed} of {len(info.checks)} failed" if failed
             else f"Checks: all {len(info.checks)} passed")
    table = Table(title=title, title_justify="left", title_style="bold red" if failed else "bold")
    table.add_column("Check", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    for c in info.checks:
        table.add_row(Text(c.expr), c.value_text(), c.verdict_text(),
                      style=None if c.ok else "red")
    return table


def _warnings(info: RunInfo) -> list[Text]:
    return [Text(f"WARNING: {msg}", style=_WARN_STYLE) for msg in info.warnings]


def render_summary(snapshot: StatsSnapshot, info: RunInfo) -> RenderableType:
    """Everything at the end of a run, as one renderable."""
    g = info.generator
    head = Text(
        f"horde {info.horde_version}  host={info.host or '-'}  started={info.started_at or '-'}  "
        f"duration={info.duration_s or snapshot.duration_s:.1f}s  users={info.users}  "
        f"generator: cpu max {g.cpu_percent_max:.0f}%, loop lag p99 {fmt_ms(g.loop_lag_p99_ms)} ms"
    )
    parts: list[RenderableType] = [head]
    if snapshot.arrival is not None:
        parts.append(Text(arrival_line(snapshot, current=False)))
    parts += [render_table(snapshot), _percentile_table(snapshot)]
    service = _service_table(snapshot)
    if service is not None:
        parts.append(service)
    if snapshot.errors:
        parts.append(_errors_table(snapshot))
    if snapshot.exceptions:
        parts.append(_exceptions_table(snapshot))
    if info.workers:
        parts.append(_workers_table(info))
    parts.extend(_warnings(info))
    if info.checks:
        parts.append(_checks_table(info))  # last: the verdict a CI log is read for
    return Group(*parts)


def warning_key(message: str) -> str:
    """What makes a warning the same warning: its words, not the figures measured this second."""
    return _FIGURE.sub("#", message)


def arrival_line(snapshot: StatsSnapshot, *, current: bool) -> str:
    """The open model in one line: iterations wanted, started and dropped."""
    a = snapshot.arrival
    if a is None:
        return ""
    rate = a.current_rate if current else a.achieved_rate
    return (f"open model: target {a.target_rate:.1f} it/s, achieved {rate:.1f} it/s"
            f"{' (now)' if current else ''}, {a.iterations} iterations, "
            f"dropped {a.dropped_iterations} (later than {a.max_lateness_s:g}s)")


def _service_table(snapshot: StatsSnapshot) -> Table | None:
    """Open model: the server's own time (from the first byte sent) beside the corrected one."""
    if snapshot.arrival is None:
        return None
    table = Table(title="Service time percentiles (ms, from the first byte sent; the tables "
                  "above count from each iteration's intended start)",
                  title_justify="left", title_style="bold")
    keys = ("50", "90", "95", "99", "100")
    table.add_column("Type", no_wrap=True)
    table.add_column("Name", no_wrap=True)
    for k in keys:
        table.add_column(f"{k}%", justify="right", no_wrap=True)
    table.add_column("Dropped", justify="right", no_wrap=True)
    for e in [*snapshot.endpoints, snapshot.total]:
        pct = e.service_percentiles_ms or e.percentiles_ms
        table.add_row(e.method, Text(e.name), *(fmt_ms(pct[k]) for k in keys),
                      f"{e.dropped_iterations:,}")
    return table


def plain_line(snapshot: StatsSnapshot, info: RunInfo) -> str:
    """One log line: t, users, current rps, fail/s and percentiles, total failures."""
    t = snapshot.total
    p = snapshot.current_percentiles_ms
    users = snapshot.users if snapshot.history else info.users
    line = (
        f"t={snapshot.duration_s:.0f}s users={users} rps={t.current_rps:.1f} "
        f"fail/s={t.current_fail_per_s:.1f} p50={fmt_ms(p['50'])}ms p95={fmt_ms(p['95'])}ms "
        f"p99={fmt_ms(p['99'])}ms failures={t.failures}"
    )
    a = snapshot.arrival
    if a is not None:
        line += (f" target={a.target_rate:.1f}it/s achieved={a.current_rate:.1f}it/s "
                 f"dropped={a.dropped_iterations}")
    return line


def _live_view(snapshot: StatsSnapshot, info: RunInfo) -> RenderableType:
    return Group(render_table(snapshot), Text(plain_line(snapshot, info)), *_warnings(info))


def preload_rich() -> None:
    """Render the live view and the summary once into memory: rich imports lazily."""
    snapshot = StatsAggregate().snapshot(1.0)
    info = RunInfo(host="http://preload", generator=GeneratorHealth(warnings=["preload :x:"]),
                   workers=[WorkerSummary("w", "h", "running", 1, 1, warnings=["w"])])
    sink = Console(file=io.StringIO(), force_terminal=True, width=120)
    live = Live(_live_view(snapshot, info), console=sink, auto_refresh=False, transient=True)
    live.start()
    live.update(_live_view(snapshot, info), refresh=True)
    live.stop()
    sink.print(render_summary(snapshot, info))
    sink.print("preload :x: [b]markup[/b]", Text("preload", style=_WARN_STYLE), soft_wrap=True)


class ConsoleReporter:
    """Shows live progress and the final summary on a console.

    Give either a rich `Console` or a text file (default: a Console on stdout).
    Not thread-safe: call it from the event loop only.
    """

    def __init__(self, console: Console | None = None, *, file: TextIO | None = None) -> None:
        self.console = console if console is not None else Console(file=file)
        self._live: Live | None = None
        self._warned: set[str] = set()  # plain mode prints each warning once (by warning_key)
        self._skipped = False
        preload_rich()  # while files are still there (see the module docstring)

    def live(self, snapshot: StatsSnapshot, info: RunInfo) -> None:
        """Show the current state: redraw on a terminal, else one plain line.

        A frame that cannot be drawn for want of a resource (OSError, such as
        EMFILE) is skipped: the next one may succeed, and the test goes on.
        """
        try:
            self._show(snapshot, info)
        except OSError as exc:
            if not self._skipped:
                self._skipped = True
                log.warning("the live view skipped a refresh: %s", exc)

    def _show(self, snapshot: StatsSnapshot, info: RunInfo) -> None:
        if self.console.is_terminal:
            view = _live_view(snapshot, info)
            if self._live is None:
                self._live = Live(view, console=self.console, auto_refresh=False, transient=True)
                self._live.start()
            self._live.update(view, refresh=True)
            return
        for msg in info.warnings:
            # Live warnings carry this second's figure (CPU at 95%, then 97%): the
            # same warning each time, shown once (docs/results.md).
            key = warning_key(msg)
            if key not in self._warned:
                self._warned.add(key)
                self.console.print(Text(f"WARNING: {msg}", style=_WARN_STYLE), soft_wrap=True)
        self.console.print(
            plain_line(snapshot, info), markup=False, highlight=False, soft_wrap=True
        )

    def summary(self, snapshot: StatsSnapshot, info: RunInfo) -> None:
        """Stop the live view and print the final summary."""
        self.close()
        self.console.print(render_summary(snapshot, info))

    def close(self) -> None:
        """Stop the live view if one is showing (idempotent)."""
        if self._live is not None:
            self._live.stop()
            self._live = None
