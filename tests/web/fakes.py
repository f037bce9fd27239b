"""A stand-in Controller for views that a small local run cannot show: 500 endpoints, a fleet.

Only for shape and rendering tests; everything about a real run is tested with
`LocalRunner` against a real target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from horde.plan.executor import Executor
from horde.report.model import RunInfo, WorkerSummary
from horde.runtime.health import HealthSample
from horde.runtime.plantrace import LoadModel, PlanTrace
from horde.stats import EndpointSummary, HistoryRow, LatencyTable, StatsAggregate, StatsSnapshot

__all__ = ["FakeFleet"]

_KEYS = ("50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99", "100")


class FakeFleet:
    """A 'running' distributed test with `n` endpoints and three workers (two saturated)."""

    state = "running"
    target_users = 15
    spawn_rate = 2.0

    def __init__(self, n: int = 500) -> None:
        self.trace = PlanTrace()
        self.load_model = LoadModel("users")
        pct = {k: 1.5 + i for i, k in enumerate(_KEYS)}
        self._snap = StatsSnapshot(
            endpoints=[EndpointSummary("GET", f"/items/{i:03d}", requests=100 + i,
                                       failures=i % 3, rps=3.3333333, current_rps=2.123456,
                                       max_ms=9.87654, avg_size_bytes=123.456,
                                       percentiles_ms=pct)
                       for i in range(n)],
            history=[HistoryRow(t, 15, 5.0 + t % 3, 0.1, 1.0, 2.0, 3.0, t * 5)
                     for t in range(30)],
            duration_s=30.0,
        )

    async def start(self, users: int, spawn_rate: float, host: str | None = None,
                    run_time: float | None = None) -> None:
        self.target_users, self.spawn_rate = users, spawn_rate

    def choose_plan(self, plan: Executor | None) -> None:
        return None

    def update(self, users: int, spawn_rate: float) -> None:
        self.target_users, self.spawn_rate = users, spawn_rate

    def request_stop(self) -> None:
        self.state = "stopped"

    async def wait_stopped(self) -> None:
        return None

    def reset_stats(self) -> None:
        return None

    def snapshot(self) -> StatsSnapshot:
        return self._snap

    def info(self) -> RunInfo:
        return RunInfo(host="http://127.0.0.1:1", workers=self.workers())

    def counts(self) -> Mapping[str, int]:
        return {"A": 9, "B": 6}

    def current_health(self) -> HealthSample:
        return HealthSample(95.0, 2.0)

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        return StatsAggregate().latency_table(edges_us)

    def workers(self) -> list[WorkerSummary]:
        return [
            WorkerSummary("w1", "hostA", "running", 5, 100, cpu_percent_max=40.0),
            WorkerSummary("w2", "hostB", "running", 5, 100, cpu_percent_max=97.0,
                          cpu_percent=97.0, saturated=True),
            WorkerSummary("w3", "hostC", "running", 5, 100, loop_lag_p99_ms=25.0,
                          saturated=True),
        ]
