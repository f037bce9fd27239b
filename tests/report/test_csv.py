"""CSV files parse back with the csv module and carry the right numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from horde.report import write_csv
from horde.report.csv_report import STATS_COLUMNS
from horde.stats import StatsSnapshot


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_three_files(snapshot: StatsSnapshot, tmp_path: Path) -> None:
    write_csv(tmp_path / "run", snapshot)
    with (tmp_path / "run_stats.csv").open(newline="") as f:
        assert next(csv.reader(f)) == list(STATS_COLUMNS)
    stats = _read(tmp_path / "run_stats.csv")
    assert [(r["Type"], r["Name"]) for r in stats] == [
        ("GET", "/home"), ("POST", "/login"), ("", "Aggregated"),
    ]  # fmt: skip
    home, login, agg = stats
    assert home["Request Count"] == "10" and home["Failure Count"] == "1"
    assert float(home["Median Response Time"]) == pytest.approx(5.0, rel=0.01)
    assert float(home["Average Response Time"]) == pytest.approx(5.5)
    assert float(home["Min Response Time"]) == 1.0 and float(home["Max Response Time"]) == 10.0
    assert float(home["Average Content Size"]) == 100.0
    assert float(home["Requests/s"]) == 5.0 and float(home["Failures/s"]) == 0.5
    assert float(home["100%"]) == 10.0 and float(login["99.9%"]) == 20.0
    assert agg["Request Count"] == "12" and float(agg["Requests/s"]) == 6.0

    history = _read(tmp_path / "run_stats_history.csv")
    assert [r["Timestamp"] for r in history] == ["0", "1"]
    assert history[1]["User Count"] == "10" and history[1]["Total Request Count"] == "12"
    assert float(history[1]["Requests/s"]) == 6.0
    assert history[1]["Total Failure Count"] == "1"

    failures = _read(tmp_path / "run_failures.csv")
    assert failures == [{"Method": "GET", "Name": "/home", "Error": "HTTP 500", "Occurrences": "1"}]


def test_awkward_names_survive(tmp_path: Path) -> None:
    from horde.stats import RequestStats, StatsAggregate

    rs = RequestStats()
    rs.record("GET", '/a,b "quoted"\nline', 1000, 1, 'err, with "quotes"', 0)
    agg = StatsAggregate()
    agg.apply(rs.take_delta(), 0)
    write_csv(tmp_path / "x", agg.snapshot(1.0))
    assert _read(tmp_path / "x_stats.csv")[0]["Name"] == '/a,b "quoted"\nline'
    assert _read(tmp_path / "x_failures.csv")[0]["Error"] == 'err, with "quotes"'
