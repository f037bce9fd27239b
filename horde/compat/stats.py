"""Locust's `RequestStats` / `StatsEntry` names over horde's statistics snapshot.

Locust scripts read `environment.stats.total.fail_ratio`,
`.num_requests`, `.avg_response_time`, `.get_response_time_percentile(0.95)`
and walk `environment.stats.entries`. Here every read takes a fresh
`StatsSnapshot` from the run's controller (horde folds its statistics once a
second, so a read sees the counts up to the last fold) and answers in
Locust's units (milliseconds, ratios).

Invariant: nothing here writes to horde's statistics except `reset_all()`,
which is the controller's own `reset_stats()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from horde.stats import StatsSnapshot
from horde.stats.snapshot import EndpointSummary, zero_percentiles

__all__ = ["StatsEntry", "RequestStats", "StatsError", "PERCENTILES_TO_REPORT"]

PERCENTILES_TO_REPORT = [0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0]


def _key_of(q: float) -> float:
    return float(q) * 100.0


class StatsEntry:
    """One endpoint (or the total) as Locust names it."""

    def __init__(self, summary: EndpointSummary) -> None:
        self._s = summary
        self.name = summary.name
        self.method = summary.method or None

    @property
    def num_requests(self) -> int:
        return self._s.requests

    @property
    def num_failures(self) -> int:
        return self._s.failures

    @property
    def fail_ratio(self) -> float:
        return self._s.failures / self._s.requests if self._s.requests else 0.0

    @property
    def avg_response_time(self) -> float:
        return self._s.mean_ms

    @property
    def min_response_time(self) -> float | None:
        return self._s.min_ms if self._s.requests else None

    @property
    def max_response_time(self) -> float:
        return self._s.max_ms

    @property
    def median_response_time(self) -> float:
        return self.get_response_time_percentile(0.5)

    @property
    def avg_content_length(self) -> float:
        return self._s.avg_size_bytes

    @property
    def total_rps(self) -> float:
        return self._s.rps

    @property
    def current_rps(self) -> float:
        return self._s.current_rps

    @property
    def total_fail_per_sec(self) -> float:
        return self._s.fail_per_s

    @property
    def current_fail_per_sec(self) -> float:
        return self._s.current_fail_per_s

    def get_response_time_percentile(self, percent: float) -> float:
        """Milliseconds at `percent` (0.95 for p95); the nearest reported percentile at or above."""
        table = self._s.percentiles_ms or zero_percentiles()
        wanted = _key_of(percent)
        best: float | None = None
        for key, value in sorted(table.items(), key=lambda kv: float(kv[0])):
            if float(key) >= wanted - 1e-9:
                best = value
                break
        return best if best is not None else table.get("100", 0.0)

    def get_current_response_time_percentile(self, percent: float) -> float:
        return self.get_response_time_percentile(percent)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "num_requests": self.num_requests,
                "num_failures": self.num_failures, "avg_response_time": self.avg_response_time,
                "min_response_time": self.min_response_time,
                "max_response_time": self.max_response_time,
                "total_rps": self.total_rps}


class StatsError:
    """One (method, name, error) with its count."""

    def __init__(self, method: str, name: str, error: str, occurrences: int) -> None:
        self.method, self.name, self.error, self.occurrences = method, name, error, occurrences

    def to_name(self) -> str:
        return f"{self.method} {self.name}: {self.error}"


class RequestStats:
    """`environment.stats`: the run's statistics, read through a snapshot on each access."""

    def __init__(self, snapshot: Callable[[], StatsSnapshot | None],
                 reset: Callable[[], None]) -> None:
        self._snapshot = snapshot
        self._reset = reset

    def _snap(self) -> StatsSnapshot:
        return self._snapshot() or StatsSnapshot()

    @property
    def total(self) -> StatsEntry:
        return StatsEntry(self._snap().total)

    @property
    def entries(self) -> dict[tuple[str, str], StatsEntry]:
        return {(e.name, e.method): StatsEntry(e) for e in self._snap().endpoints}

    @property
    def errors(self) -> dict[str, StatsError]:
        return {f"{e.method} {e.name} {e.error}": StatsError(e.method, e.name, e.error,
                                                             e.occurrences)
                for e in self._snap().errors}

    @property
    def num_requests(self) -> int:
        return self.total.num_requests

    @property
    def num_failures(self) -> int:
        return self.total.num_failures

    def get(self, name: str, method: str) -> StatsEntry:
        found = self.entries.get((name, method))
        return found if found is not None else StatsEntry(EndpointSummary(method, name))

    def __iter__(self) -> Iterator[StatsEntry]:
        return iter(self.entries.values())

    def reset_all(self) -> None:
        self._reset()

    def serialize_stats(self) -> list[dict[str, Any]]:
        return [entry.to_dict() for entry in self.entries.values()]
