"""Result reports: console (live + summary), CSV, JSON.

Every report reads a `horde.stats.StatsSnapshot` plus a `RunInfo`
(horde.report.model) and nothing else, so the same code serves the local
runner and the master. See docs/results.md for the file formats.
"""

from __future__ import annotations

from horde.report.console import ConsoleReporter, plain_line, render_summary, render_table
from horde.report.csv_report import write_csv
from horde.report.json_report import result_dict, write_json
from horde.report.model import GeneratorHealth, RunInfo, WorkerSummary

__all__ = [
    "ConsoleReporter",
    "GeneratorHealth",
    "RunInfo",
    "WorkerSummary",
    "plain_line",
    "render_summary",
    "render_table",
    "result_dict",
    "write_csv",
    "write_json",
]
