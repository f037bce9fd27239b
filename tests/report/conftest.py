"""A snapshot built from known records, shared by the report tests."""

from __future__ import annotations

import pytest

from horde.report import GeneratorHealth, RunInfo, WorkerSummary
from horde.stats import RequestStats, StatsAggregate, StatsSnapshot


def _boom() -> None:
    raise ValueError("bad token")


@pytest.fixture
def snapshot() -> StatsSnapshot:
    """GET /home: 10 requests 1..10 ms (1 fails with HTTP 500), POST /login: 2 at 20 ms."""
    agg = StatsAggregate()
    rs = RequestStats()
    for t in range(2):
        for i in range(1, 6):
            ms = i + 5 * t
            rs.record("GET", "/home", ms * 1000, 100, "HTTP 500" if ms == 10 else None, 500)
        rs.record("POST", "/login", 20_000, 40, None, 0)
        if t == 1:
            try:
                _boom()
            except ValueError as exc:
                rs.record_exception("WebUser.login", exc)
        agg.apply(rs.take_delta(), t)
        agg.close_second(t, users=5 * (t + 1))
    return agg.snapshot(now_s=2.0)


@pytest.fixture
def info() -> RunInfo:
    return RunInfo(
        started_at="2025-01-31T12:00:00+00:00",
        duration_s=2.0,
        users=10,
        host="http://127.0.0.1:8089",
        generator=GeneratorHealth(
            cpu_percent_max=97.0, loop_lag_p99_ms=35.5, warnings=["generator CPU above 90%"]
        ),
        workers=[
            WorkerSummary("w1", "node-a", "running", 5, 6, 40.0, 1.5, []),
            WorkerSummary("w2", "node-b", "running", 5, 6, 95.0, 30.0, ["loop lag high"]),
        ],
    )
