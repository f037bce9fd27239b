"""Console rendering: endpoints, percentiles, errors, warnings and workers show up."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from horde.report import (
    ConsoleReporter,
    GeneratorHealth,
    RunInfo,
    WorkerSummary,
    plain_line,
    render_summary,
    render_table,
)
from horde.runtime.health import HealthSample
from horde.stats import StatsSnapshot


def _console(terminal: bool = False) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=200, force_terminal=terminal, color_system=None), buf


def test_table_lists_endpoints_and_aggregate(snapshot: StatsSnapshot) -> None:
    console, buf = _console()
    console.print(render_table(snapshot))
    out = buf.getvalue()
    for text in ("/home", "/login", "Aggregated", "POST", "Current RPS"):
        assert text in out
    home = next(line for line in out.splitlines() if "/home" in line)
    assert " 10 " in home and " 1 " in home  # requests, failures


def test_summary_has_every_section(snapshot: StatsSnapshot, info: RunInfo) -> None:
    console, buf = _console()
    console.print(render_summary(snapshot, info))
    out = buf.getvalue()
    expected = ["99.99%", "HTTP 500", "ValueError: bad token", "_boom", "node-b"]
    expected += ["WARNING: generator CPU above 90%", "WARNING: worker w2: loop lag high"]
    for text in expected:
        assert text in out, text


def test_summary_without_workers_or_failures() -> None:
    console, buf = _console()
    console.print(render_summary(StatsSnapshot(), RunInfo()))
    out = buf.getvalue()
    assert "Aggregated" in out and "Workers" not in out and "Failures" not in out


def test_plain_mode_prints_lines_and_warnings_once(snapshot: StatsSnapshot, info: RunInfo) -> None:
    console, buf = _console(terminal=False)
    reporter = ConsoleReporter(console)
    reporter.live(snapshot, info)
    reporter.live(snapshot, info)
    lines = buf.getvalue().splitlines()
    assert lines.count(plain_line(snapshot, info)) == 2
    assert sum("generator CPU above 90%" in ln for ln in lines) == 1
    line = plain_line(snapshot, info)
    assert line.startswith("t=2s users=10 rps=6.0 fail/s=0.5 p50=")
    assert line.endswith("failures=1")
    reporter.summary(snapshot, info)
    assert "Response time percentiles" in buf.getvalue()


def test_terminal_mode_redraws_table(snapshot: StatsSnapshot, info: RunInfo) -> None:
    console, buf = _console(terminal=True)
    reporter = ConsoleReporter(console)
    reporter.live(snapshot, info)
    reporter.live(snapshot, info)
    reporter.summary(snapshot, info)
    out = buf.getvalue()
    assert "/home" in out and "WARNING: generator CPU above 90%" in out
    assert "Response time percentiles" in out
    reporter.close()  # idempotent


def test_names_with_brackets_are_shown_verbatim() -> None:
    """User-chosen names are text, never rich markup: "/items/[id]" must not lose "[id]"."""
    from horde.report.console import render_summary
    from horde.report.model import RunInfo
    from horde.stats import RequestStats, StatsAggregate

    stats = RequestStats()
    stats.record("GET", "/items/[id]", 1000, 10, None, 500)
    stats.record("GET", "/items/[id]", 1000, 10, "HTTP 500 [bold]x[/bold]", 500)
    aggregate = StatsAggregate()
    aggregate.apply(stats.take_delta(), 0)
    aggregate.close_second(0, 1)
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    Console(file=out, width=200).print(render_summary(aggregate.snapshot(1.0), RunInfo()))
    text = out.getvalue()
    assert "/items/[id]" in text
    assert "HTTP 500 [bold]x[/bold]" in text


def test_plain_mode_shows_a_warning_once_whatever_its_figures(snapshot: StatsSnapshot) -> None:
    # What the live view passes each second: this second's health, with its numbers.
    console, buf = _console(terminal=False)
    reporter = ConsoleReporter(console)
    for cpu, lag in ((95.0, 12.5), (97.4, 30.0), (99.0, 11.0)):
        warnings = HealthSample(cpu, lag).warnings()
        assert len(warnings) == 2
        reporter.live(snapshot, replace(RunInfo(), generator=GeneratorHealth(warnings=warnings)))
    lines = buf.getvalue().splitlines()
    assert sum("generator CPU at" in ln for ln in lines) == 1
    assert sum("event-loop lag p99" in ln for ln in lines) == 1
    # Another worker's warning is another warning.
    workers = [WorkerSummary(f"vm-{n}-8323", "vm", "running", 1, 1, warnings=["CPU at 95%"])
               for n in (101, 202)]
    reporter.live(snapshot, RunInfo(workers=workers))
    assert sum("CPU at 95%" in ln and "WARNING: worker" in ln
               for ln in buf.getvalue().splitlines()) == 2
