"""The open model's statistics: service times, iterations started and dropped.

In the open model (``--arrival-rate``) a request's latency in the main
statistics is *corrected*: it counts from when its iteration should have
started, not from when a busy generator got round to it (coordinated
omission, see docs/load-models.md). The time the server took, from the first
byte sent, is kept beside it here as the *service* time, with the same
histograms, so both sets of percentiles are exact to the bucket.

Producer (one per process): `PacedRecorder.record` is what an open-model
user's HTTP client records into (through its slot, which adds the lateness
of the iteration). Consumer (a local run, or a master): `PacedAggregate`.

Dropped iterations: an iteration that found no free user for longer than
``--max-lateness`` is dropped and counted by the runtime. Each one is also
*charged* to the endpoint of the first request of the next iteration that
starts in the same process, so the per-endpoint counts follow the task mix;
drops that no later iteration picked up (the end of the test) count only in
the total. ``total.dropped_iterations`` is always the exact count.

Invariants:

* `PacedRecorder.record` records into both the main `RequestStats` (latency +
  lateness) and its own `service` one (latency as measured), so for every
  endpoint the two request counts are equal;
* counts only grow between resets; `PacedAggregate.decorate` never changes a
  snapshot's main figures, it adds the open model's fields beside them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from horde.stats.aggregate import DEFAULT_WINDOW_S, StatsAggregate
from horde.stats.delta import StatsDelta
from horde.stats.recorder import RequestStats
from horde.stats.snapshot import ArrivalSummary, EndpointSummary, StatsSnapshot

__all__ = ["PacedDelta", "PacedRecorder", "PacedAggregate"]

RecordFn = Callable[[str, str, int, int, "str | None", int], None]  # horde.stats.RecordFn


@dataclass(frozen=True, slots=True)
class PacedDelta:
    """One interval of the open model's figures from one producer."""

    iterations: int = 0
    """Iterations started."""
    dropped: int = 0
    """Iterations dropped (later than --max-lateness): the exact count."""
    dropped_by_endpoint: tuple[tuple[str, str, int], ...] = ()
    """(method, name, count): drops charged to endpoints (see the module docstring)."""
    service: StatsDelta = StatsDelta()
    """Service times: the same requests as the main delta, timed from the first byte sent."""


class PacedRecorder:
    """Records an open-model request twice (corrected, service) and charges drops."""

    __slots__ = ("_main", "service", "_charged")

    def __init__(self, main: RecordFn) -> None:
        """`main`: where corrected times go (the run's `RequestStats.record`, or its wrapper
        that also fires the ``request`` event, which then sees the corrected time)."""
        self._main = main
        self.service = RequestStats()
        self._charged: dict[tuple[str, str], int] = {}

    def record(self, method: str, name: str, latency_us: int, size: int, error: str | None,
               ttfb_us: int, late_us: int, charge: int) -> None:
        """One request of an iteration that started `late_us` after it was due."""
        self._main(method, name, latency_us + late_us, size, error, ttfb_us)
        self.service.record(method, name, latency_us, size, error, ttfb_us)
        if charge:
            key = (method, name)
            self._charged[key] = self._charged.get(key, 0) + charge

    def take_delta(self, iterations: int, dropped: int) -> PacedDelta:
        charged, self._charged = self._charged, {}
        service = self.service.take_delta()
        return PacedDelta(
            iterations=iterations,
            dropped=dropped,
            dropped_by_endpoint=tuple((m, n, c) for (m, n), c in sorted(charged.items())),
            service=StatsDelta(endpoints=service.endpoints),  # errors count once, in main
        )


class PacedAggregate:
    """The consumer side: service-time histograms, iterations and drops of a run."""

    def __init__(self, window_s: int = DEFAULT_WINDOW_S) -> None:
        self.window_s = window_s
        self.reset()

    def reset(self) -> None:
        self.service = StatsAggregate(self.window_s)
        self.iterations = 0
        self.dropped = 0
        self._charged: dict[tuple[str, str], int] = {}
        self._seconds: dict[int, int] = {}
        self._closed: deque[tuple[int, int]] = deque()
        self.last_closed = 0
        """Iterations started in the seconds the last `close_second` closed."""

    def apply(self, delta: PacedDelta, t_s: int) -> None:
        self.iterations += delta.iterations
        self.dropped += delta.dropped
        self._seconds[t_s] = self._seconds.get(t_s, 0) + delta.iterations
        for method, name, count in delta.dropped_by_endpoint:
            key = (method, name)
            self._charged[key] = self._charged.get(key, 0) + count
        self.service.apply(delta.service, t_s)

    def add_counts(self, iterations: int, dropped: int, t_s: int,
                   dropped_by_endpoint: list[tuple[str, str, int]] | None = None) -> None:
        """Iterations and drops of a worker's report (its service times merge into `service`)."""
        self.apply(PacedDelta(iterations, dropped, tuple(dropped_by_endpoint or ())), t_s)

    def close_second(self, t_s: int) -> None:
        self.service.close_second(t_s, 0)
        self.last_closed = 0
        for second in sorted(s for s in self._seconds if s <= t_s):
            count = self._seconds.pop(second)
            self._closed.append((second, count))
            self.last_closed += count
        while self._closed and self._closed[0][0] <= t_s - self.window_s:
            self._closed.popleft()

    def current_rate(self) -> float:
        """Iterations started per second over the last closed seconds (the window)."""
        if not self._closed:
            return 0.0
        span = min(self.window_s, self._closed[-1][0] - self._closed[0][0] + 1)
        return sum(count for _, count in self._closed) / max(span, 1)

    def decorate(self, snapshot: StatsSnapshot, target_rate: float,
                 max_lateness_s: float) -> StatsSnapshot:
        """`snapshot` with service percentiles, drops and the arrival figures added."""
        service = self.service.snapshot(snapshot.duration_s)
        by_key = {(e.method, e.name): e for e in service.endpoints}

        def one(e: EndpointSummary, svc: EndpointSummary | None, dropped: int) -> EndpointSummary:
            return replace(e, service_percentiles_ms=dict(svc.percentiles_ms) if svc else None,
                           dropped_iterations=dropped)

        charged = self._charged
        endpoints = [one(e, by_key.get((e.method, e.name)), charged.get((e.method, e.name), 0))
                     for e in snapshot.endpoints]
        duration = snapshot.duration_s
        arrival = ArrivalSummary(
            target_rate=target_rate,
            achieved_rate=self.iterations / duration if duration > 0 else 0.0,
            current_rate=self.current_rate(),
            iterations=self.iterations,
            dropped_iterations=self.dropped,
            max_lateness_s=max_lateness_s,
        )
        return replace(snapshot, endpoints=endpoints,
                       total=one(snapshot.total, service.total, self.dropped), arrival=arrival)
