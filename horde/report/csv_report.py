"""CSV result files, with Locust's column names so existing tooling reads them.

`write_csv(prefix, snapshot)` writes three files:

* PREFIX_stats.csv: one row per endpoint, then an "Aggregated" row;
* PREFIX_stats_history.csv: one row per closed test-second;
* PREFIX_failures.csv: Method, Name, Error, Occurrences.

Times are milliseconds, sizes bytes, rates per second. Response-time columns
use 3 decimals (horde measures in microseconds; Locust rounds to whole ms).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from horde.report.output import write_output
from horde.stats.snapshot import PERCENTILE_KEYS, EndpointSummary, StatsSnapshot

__all__ = ["write_csv", "STATS_COLUMNS", "HISTORY_COLUMNS", "FAILURES_COLUMNS", "csv_paths"]

STATS_COLUMNS: tuple[str, ...] = (
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time",
    "Average Response Time", "Min Response Time", "Max Response Time",
    "Average Content Size", "Requests/s", "Failures/s",
    *(f"{k}%" for k in PERCENTILE_KEYS),
)  # fmt: skip

HISTORY_COLUMNS: tuple[str, ...] = (
    "Timestamp", "User Count", "Requests/s", "Failures/s",
    "50%", "95%", "99%", "Total Request Count", "Total Failure Count",
)  # fmt: skip
"""Timestamp is the test-second (seconds since the test started), not a wall clock."""

FAILURES_COLUMNS: tuple[str, ...] = ("Method", "Name", "Error", "Occurrences")


def _f(x: float) -> str:
    return f"{x:.3f}"


def _stats_row(e: EndpointSummary) -> list[str]:
    return [
        e.method, e.name, str(e.requests), str(e.failures), _f(e.median_ms), _f(e.mean_ms),
        _f(e.min_ms), _f(e.max_ms), _f(e.avg_size_bytes), _f(e.rps), _f(e.fail_per_s),
        *(_f(e.percentiles_ms[k]) for k in PERCENTILE_KEYS),
    ]  # fmt: skip


def csv_paths(prefix: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """(stats, history, failures) file paths for `prefix`."""
    p = os.fspath(prefix)
    return Path(f"{p}_stats.csv"), Path(f"{p}_stats_history.csv"), Path(f"{p}_failures.csv")


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(header)
    w.writerows(rows)
    write_output(path, text.getvalue())


def write_csv(prefix: str | os.PathLike[str], snapshot: StatsSnapshot) -> None:
    """Write PREFIX_stats.csv, PREFIX_stats_history.csv and PREFIX_failures.csv
    (each through `horde.report.output.write_output`; UsageError "PATH: reason")."""
    stats_path, history_path, failures_path = csv_paths(prefix)
    rows = [_stats_row(e) for e in snapshot.endpoints]
    rows.append(_stats_row(snapshot.total))
    _write(stats_path, STATS_COLUMNS, rows)
    _write(
        history_path,
        HISTORY_COLUMNS,
        (
            [str(h.t_s), str(h.users), _f(h.rps), _f(h.fail_per_s), _f(h.p50_ms),
             _f(h.p95_ms), _f(h.p99_ms), str(h.total_requests), str(h.total_failures)]
            for h in snapshot.history
        ),
    )  # fmt: skip
    _write(
        failures_path,
        FAILURES_COLUMNS,
        ([e.method, e.name, e.error, str(e.occurrences)] for e in snapshot.errors),
    )
