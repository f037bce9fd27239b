"""Prometheus metrics of a run, through `prometheus_client`, read at scrape time.

Nothing is counted on the hot path: a scrape takes one `MetricsReading` of
the run (the local runner's, or the master's merged view of its fleet) and
`HordeCollector` turns it into metric families. The reading is the only part
that must run in the run's event loop (it reads live state; ~2 ms for 200
endpoints and 100 workers, see bench/metrics_scrape.py); rendering the text
only reads the frozen reading, so a server may do it in a thread
(`render_metrics`).

Metric families (docs/metrics.md has the full table):

* ``horde_requests_total{method,name}``, ``horde_failures_total{method,name}``;
* ``horde_response_time_seconds{method,name}``: a histogram whose bucket
  edges (`BUCKET_EDGES_US`) are bounds of horde's own histogram, so every
  bucket count is exact (horde.stats.buckets);
* ``horde_users``, ``horde_target_users``, ``horde_class_users{user_class}``,
  ``horde_run_state{state}``;
* generator health: ``horde_cpu_percent``, ``horde_loop_lag_seconds``
  (this process for a local run, the busiest worker on a master);
* the fleet: ``horde_workers{state}``, and per worker ``horde_worker_users``,
  ``horde_worker_cpu_percent``, ``horde_worker_loop_lag_seconds``,
  ``horde_worker_memory_bytes``, ``horde_worker_requests_total``,
  ``horde_worker_saturated``, labelled ``{worker,host}``.

* the ``--check`` thresholds: ``horde_check_passed{check}``,
  ``horde_check_value{check,unit}``, ``horde_check_aborted{check}``.

Adding a metric (dropped iterations of the arrival-rate executors, next):
put the figure in `MetricsReading` (read in `read_metrics`), and add one
function to `_FAMILIES` that yields its family. Nothing else changes.

Invariants: `read_metrics` never blocks and never mutates the source (beyond
the aggregate's own flush); a `MetricsReading` is immutable, so rendering may
happen in any thread; a worker's series exist while it is connected or
missing, not after it left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from horde._version import __version__
from horde.report.model import RunInfo, WorkerSummary, with_checks
from horde.stats import StatsSnapshot
from horde.stats.buckets import LatencyTable
from horde.stats.checks import CheckResult, CheckWatch

__all__ = [
    "BUCKET_EDGES_US",
    "HordeCollector",
    "MetricsReading",
    "MetricsSource",
    "RUN_STATES",
    "WORKER_STATES",
    "read_metrics",
    "render_metrics",
]

BUCKET_EDGES_US: tuple[int, ...] = tuple(
    edge for e in range(6, 26) for edge in (1 << e, 3 << (e - 1))
)
"""64 µs, 96 µs, 128 µs, 192 µs, ... 33.6 s, 50.3 s: two buckets per power of two.

Each edge is 2^e or 1.5 * 2^e µs, a bound of horde's log-linear histogram,
so the cumulative counts are exact. Adjacent edges differ by a factor of 1.5
or 1.33: `histogram_quantile` interpolates inside one such bucket, so its
answer can be off by up to that bucket's width (docs/metrics.md), against
horde's own 1 %. 40 edges + ``+Inf`` per endpoint."""

RUN_STATES: tuple[str, ...] = ("ready", "spawning", "running", "stopping", "stopped")
WORKER_STATES: tuple[str, ...] = ("joining", "ready", "running", "missing", "lost", "left",
                                  "failed")
_PRESENT = frozenset({"joining", "ready", "running", "missing"})
"""Worker states whose per-worker series are exported (a worker that left is gone)."""


class _Health(Protocol):
    @property
    def cpu_percent(self) -> float: ...

    @property
    def loop_lag_p99_ms(self) -> float: ...


class MetricsSource(Protocol):
    """What a reading needs; `horde.runtime.control.Controller` provides it."""

    @property
    def state(self) -> str: ...

    target_users: int

    def counts(self) -> Mapping[str, int]: ...

    def workers(self) -> list[WorkerSummary]: ...

    def current_health(self) -> _Health: ...

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable: ...

    def snapshot(self) -> StatsSnapshot: ...

    def info(self) -> RunInfo: ...


@dataclass(frozen=True, slots=True)
class MetricsReading:
    """Everything a scrape exports, at one moment; immutable."""

    state: str
    target_users: int
    class_users: tuple[tuple[str, int], ...]
    cpu_percent: float
    loop_lag_ms: float
    workers: tuple[WorkerSummary, ...]
    latency: LatencyTable
    checks: tuple[CheckResult, ...] = ()
    """The --check thresholds judged at this moment (none without a watch)."""

    @property
    def users(self) -> int:
        return sum(n for _, n in self.class_users)


def read_metrics(source: MetricsSource, checks: CheckWatch | None = None) -> MetricsReading:
    """Read the run once; call it in the run's event loop (it reads live state).

    With `checks` (the run's --check thresholds) the reading judges them too,
    which takes a full snapshot (percentiles): only runs with checks pay it.
    """
    health = source.current_health()
    judged: tuple[CheckResult, ...] = ()
    if checks:
        judged = tuple(with_checks(source.info(), source.snapshot(), checks).checks)
    return MetricsReading(
        state=str(source.state),
        target_users=int(source.target_users),
        class_users=tuple(sorted(source.counts().items())),
        cpu_percent=float(health.cpu_percent),
        loop_lag_ms=float(health.loop_lag_p99_ms),
        workers=tuple(source.workers()),
        latency=source.latency_table(BUCKET_EDGES_US),
        checks=judged,
    )


# --- families --------------------------------------------------------------------------------


def _requests(r: MetricsReading) -> Iterator[Metric]:
    t = r.latency
    requests = CounterMetricFamily("horde_requests", "Requests made, by endpoint",
                                   labels=("method", "name"))
    failures = CounterMetricFamily("horde_failures", "Requests that failed, by endpoint",
                                   labels=("method", "name"))
    for key, n, f in zip(t.keys, t.requests.tolist(), t.failures.tolist(), strict=True):
        requests.add_metric(key, n)
        failures.add_metric(key, f)
    yield requests
    yield failures


def _le(edge_us: int) -> str:
    # Exact decimal seconds (edges are whole µs): "0.000064", "1.048576", "50.331648".
    return f"{edge_us / 1_000_000:.6f}".rstrip("0").rstrip(".")


_LE = tuple(_le(e) for e in BUCKET_EDGES_US)


def _latency(r: MetricsReading) -> Iterator[Metric]:
    t = r.latency
    les = _LE if t.edges_us == BUCKET_EDGES_US else tuple(_le(e) for e in t.edges_us)
    family = HistogramMetricFamily(
        "horde_response_time_seconds",
        "Response time (first byte written to last byte read), by endpoint",
        labels=("method", "name"))
    for key, below, count, sum_us in zip(t.keys, t.below.tolist(), t.count.tolist(),
                                         t.sum_us.tolist(), strict=True):
        buckets = list(zip(les, below, strict=True))
        buckets.append(("+Inf", count))
        family.add_metric(key, buckets, sum_us / 1_000_000)
    yield family


def _run(r: MetricsReading) -> Iterator[Metric]:
    yield GaugeMetricFamily("horde_users", "Users running now", value=r.users)
    yield GaugeMetricFamily("horde_target_users", "Users the test is moving towards",
                            value=r.target_users)
    by_class = GaugeMetricFamily("horde_class_users", "Users running now, by user class",
                                 labels=("user_class",))
    for name, n in r.class_users:
        by_class.add_metric((name,), n)
    yield by_class
    state = GaugeMetricFamily("horde_run_state", "1 for the state the run is in",
                              labels=("state",))
    for s in RUN_STATES:
        state.add_metric((s,), 1.0 if s == r.state else 0.0)
    yield state
    yield GaugeMetricFamily(
        "horde_cpu_percent",
        "Generator CPU over the last second, % of one core (on a master: the busiest worker)",
        value=r.cpu_percent)
    yield GaugeMetricFamily(
        "horde_loop_lag_seconds",
        "Event-loop lag p99 over the last second (on a master: the most lagging worker)",
        value=r.loop_lag_ms / 1000.0)
    info = GaugeMetricFamily("horde_build_info", "horde's version", labels=("version",))
    info.add_metric((__version__,), 1.0)
    yield info


def _fleet(r: MetricsReading) -> Iterator[Metric]:
    states = dict.fromkeys(WORKER_STATES, 0)
    for w in r.workers:
        states[w.state] = states.get(w.state, 0) + 1
    workers = GaugeMetricFamily("horde_workers", "Workers the master knows, by state",
                                labels=("state",))
    for s, n in states.items():
        workers.add_metric((s,), n)
    yield workers
    labels = ("worker", "host")
    users = GaugeMetricFamily("horde_worker_users", "Users on each worker", labels=labels)
    cpu = GaugeMetricFamily("horde_worker_cpu_percent",
                            "Worker CPU in its last heartbeat, % of one core", labels=labels)
    lag = GaugeMetricFamily("horde_worker_loop_lag_seconds",
                            "Worker event-loop lag p99 in its last heartbeat", labels=labels)
    memory = GaugeMetricFamily("horde_worker_memory_bytes",
                               "Worker resident memory in its last heartbeat", labels=labels)
    requests = CounterMetricFamily("horde_worker_requests", "Requests each worker reported",
                                   labels=labels)
    saturated = GaugeMetricFamily("horde_worker_saturated",
                                  "1 while the master judges the worker saturated",
                                  labels=labels)
    for w in r.workers:
        if w.state not in _PRESENT:
            continue
        key = (w.id, w.host)
        users.add_metric(key, w.users)
        cpu.add_metric(key, w.cpu_percent)
        lag.add_metric(key, w.loop_lag_ms / 1000.0)
        memory.add_metric(key, w.memory_bytes)
        requests.add_metric(key, w.requests)
        saturated.add_metric(key, 1.0 if w.saturated else 0.0)
    yield from (users, cpu, lag, memory, requests, saturated)


def _checks(r: MetricsReading) -> Iterator[Metric]:
    passed = GaugeMetricFamily("horde_check_passed",
                               "1 while a --check threshold holds, 0 once it fails",
                               labels=("check",))
    value = GaugeMetricFamily("horde_check_value",
                              "The figure a --check judges, in its unit (ms, %, req/s)",
                              labels=("check", "unit"))
    aborted = GaugeMetricFamily("horde_check_aborted",
                                "1 for the check that stopped the run (--check-abort)",
                                labels=("check",))
    for c in r.checks:
        passed.add_metric((c.expr,), 1.0 if c.ok else 0.0)
        if c.value is not None:  # nothing measured yet: no sample rather than a made-up 0
            value.add_metric((c.expr, c.unit), c.value)
        aborted.add_metric((c.expr,), 1.0 if c.aborted else 0.0)
    yield from (passed, value, aborted)


_FAMILIES: tuple[Callable[[MetricsReading], Iterator[Metric]], ...] = (
    _requests, _latency, _run, _fleet, _checks,
)


class HordeCollector(Collector):
    """A `prometheus_client` collector over `read()`, called at every scrape.

    ``read`` is usually ``lambda: read_metrics(runner)``; a server that renders
    in a thread takes the reading in the loop and passes ``lambda: reading``.
    """

    def __init__(self, read: Callable[[], MetricsReading]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        reading = self._read()
        for family in _FAMILIES:
            yield from family(reading)


def render_metrics(reading: MetricsReading) -> tuple[bytes, str]:
    """(body, content type) of one scrape, in Prometheus's plain text format.

    Only reads `reading`: safe to run in a thread while the run goes on. The
    classic text format rather than OpenMetrics, whatever the scraper would
    prefer: every Prometheus reads it, and prometheus_client writes it in
    about 60 % of the time (~20 µs per sample on a busy core).
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HordeCollector(lambda: reading))
    return generate_latest(registry), CONTENT_TYPE_LATEST
