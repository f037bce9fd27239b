"""Immutable summaries that reports, the console and the web UI read.

Built by `StatsAggregate.snapshot`; never mutated afterwards (frozen
dataclasses; treat the lists and dicts inside as read-only too). Units are in
the field names: `_ms` milliseconds (float), `_s` seconds, `_bytes` bytes.

Invariants:

* `StatsSnapshot.endpoints` is sorted by (name, method); `total` has method ""
  and name "Aggregated" and sums every endpoint;
* `percentiles_ms` always has exactly the keys of `PERCENTILE_KEYS`, all 0.0
  when there are no requests;
* `rps`/`fail_per_s` are over the whole run (count / duration);
  `current_rps`/`current_fail_per_s` are over the sliding window of the last
  closed test-seconds (10 by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "PERCENTILE_KEYS",
    "PERCENTILE_QUANTILES",
    "PERCENTILE_FRACTIONS",
    "EndpointSummary",
    "ErrorSummary",
    "ExceptionSummary",
    "HistoryRow",
    "StatsSnapshot",
    "zero_percentiles",
    "ArrivalSummary",
]

PERCENTILE_KEYS: tuple[str, ...] = (
    "50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99", "100",
)  # fmt: skip
"""Keys of every `percentiles_ms` dict, in display order."""

PERCENTILE_FRACTIONS: tuple[Fraction, ...] = tuple(Fraction(k) / 100 for k in PERCENTILE_KEYS)
"""The quantiles as exact fractions (ranks without float noise), in key order."""

PERCENTILE_QUANTILES: dict[str, float] = {
    k: float(f) for k, f in zip(PERCENTILE_KEYS, PERCENTILE_FRACTIONS, strict=True)
}
"""Key -> q in [0, 1] ("99.9" -> 0.999, not float("99.9") / 100 = 0.9990000000000001)."""


def zero_percentiles() -> dict[str, float]:
    return {k: 0.0 for k in PERCENTILE_KEYS}


@dataclass(frozen=True, slots=True)
class EndpointSummary:
    """Cumulative figures for one (method, name), or the Aggregated total."""

    method: str
    name: str
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    fail_per_s: float = 0.0
    current_rps: float = 0.0
    current_fail_per_s: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    avg_size_bytes: float = 0.0
    ttfb_mean_ms: float = 0.0
    percentiles_ms: dict[str, float] = field(default_factory=zero_percentiles)
    ttfb_percentiles_ms: dict[str, float] = field(default_factory=zero_percentiles)
    service_percentiles_ms: dict[str, float] | None = None
    """Open model only: percentiles of the time from the first byte sent (the
    server's own time); `percentiles_ms` then count from the intended start."""
    dropped_iterations: int = 0
    """Open model only: iterations dropped (charged to this endpoint; exact in the total)."""

    @property
    def median_ms(self) -> float:
        return self.percentiles_ms["50"]


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """A failure string seen `occurrences` times for one endpoint."""

    method: str
    name: str
    error: str
    occurrences: int


@dataclass(frozen=True, slots=True)
class ExceptionSummary:
    """A task exception ("Type: message") with its first traceback."""

    where: str
    error: str
    traceback: str
    occurrences: int


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One closed test-second; rates and percentiles over the window ending there."""

    t_s: int
    users: int
    rps: float
    fail_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    total_requests: int
    total_failures: int = 0


@dataclass(frozen=True, slots=True)
class ArrivalSummary:
    """The open model (``--arrival-rate``): iterations wanted, started and dropped."""

    target_rate: float
    """Iterations per second the plan asks for now (over every process)."""
    achieved_rate: float
    """Iterations started per second over the whole run."""
    current_rate: float
    """Iterations started per second over the last closed seconds (the window)."""
    iterations: int
    dropped_iterations: int
    """Iterations dropped because they found no free user within `max_lateness_s`."""
    max_lateness_s: float


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Everything a report needs, at one moment of the run."""

    endpoints: list[EndpointSummary] = field(default_factory=list)
    total: EndpointSummary = field(default_factory=lambda: EndpointSummary("", "Aggregated"))
    errors: list[ErrorSummary] = field(default_factory=list)
    exceptions: list[ExceptionSummary] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    duration_s: float = 0.0
    current_percentiles_ms: dict[str, float] = field(default_factory=zero_percentiles)
    """Percentiles of all requests in the current window (same keys as above)."""
    arrival: ArrivalSummary | None = None
    """The open model's figures; None in the closed model (users and wait times)."""

    @property
    def users(self) -> int:
        """Users at the last closed second (0 before the first)."""
        return self.history[-1].users if self.history else 0
