"""The Prometheus collector: what a scrape exports, parsed back with prometheus_client's parser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from prometheus_client.samples import Sample

from horde.report.model import RunInfo, WorkerSummary
from horde.report.prometheus import (
    BUCKET_EDGES_US,
    RUN_STATES,
    WORKER_STATES,
    HordeCollector,
    read_metrics,
    render_metrics,
)
from horde.runtime.health import HealthSample
from horde.stats import LatencyTable, RequestStats, StatsAggregate, StatsSnapshot
from horde.stats.buckets import check_edges
from horde.stats.checks import CheckWatch, parse_check

LATENCIES_US = [70, 95, 96, 500, 1023, 1024, 40_000, 2_500_000, 70_000_000]


@dataclass
class Source:
    """Everything the collector reads, over a real aggregate."""

    aggregate: StatsAggregate
    fleet: list[WorkerSummary] = field(default_factory=list)
    state: str = "running"
    target_users: int = 12

    def counts(self) -> Mapping[str, int]:
        return {"Browser": 7, "Buyer": 3}

    def workers(self) -> list[WorkerSummary]:
        return self.fleet

    def current_health(self) -> HealthSample:
        return HealthSample(55.5, 3.25)

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        return self.aggregate.latency_table(edges_us)

    def snapshot(self) -> StatsSnapshot:
        return self.aggregate.snapshot(10.0)

    def info(self) -> RunInfo:
        return RunInfo(started_at="2026-12-02T05:00:00+00:00")


def _source(**kw: object) -> Source:
    agg = StatsAggregate()
    rs = RequestStats()
    for us in LATENCIES_US:
        rs.record("GET", "/items/{id}", us, 10, None if us < 2_000_000 else "HTTP 504", 5)
    rs.record("POST", 'say "hi"\\n', 300, 10, None, 5)
    agg.apply(rs.take_delta(), 0)
    return Source(agg, **kw)  # type: ignore[arg-type]


def _samples(body: bytes) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def _value(samples: dict[str, list[Sample]], metric: str, **labels: str) -> float:
    found = [s.value for s in samples[metric]
             if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (metric, labels, found)
    return float(found[0])


def test_edges_are_exact_bucket_bounds_two_per_power_of_two() -> None:
    check_edges(BUCKET_EDGES_US)  # raises unless each is a bound of horde's histogram
    assert len(BUCKET_EDGES_US) == 40
    ratios = np.asarray(BUCKET_EDGES_US[1:]) / np.asarray(BUCKET_EDGES_US[:-1])
    assert set(np.round(ratios, 4).tolist()) == {1.5, 1.3333}


def test_requests_and_failures_by_endpoint() -> None:
    body, content_type = render_metrics(read_metrics(_source()))
    assert content_type.startswith("text/plain; version=")  # not OpenMetrics
    s = _samples(body)
    assert _value(s, "horde_requests_total", method="GET", name="/items/{id}") == 9
    assert _value(s, "horde_failures_total", method="GET", name="/items/{id}") == 2
    # Label values are escaped by the library and come back intact.
    assert _value(s, "horde_requests_total", method="POST", name='say "hi"\\n') == 1


def test_histogram_buckets_are_exact_counts() -> None:
    s = _samples(render_metrics(read_metrics(_source()))[0])
    buckets = [b for b in s["horde_response_time_seconds_bucket"]
               if b.labels["name"] == "/items/{id}"]
    assert len(buckets) == len(BUCKET_EDGES_US) + 1
    values = np.asarray(LATENCIES_US)
    for b, edge in zip(buckets, BUCKET_EDGES_US, strict=False):
        assert round(float(b.labels["le"]) * 1_000_000) == edge
        assert b.value == int((values < edge).sum()), edge
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == len(LATENCIES_US)
    labels = {"method": "GET", "name": "/items/{id}"}
    assert _value(s, "horde_response_time_seconds_count", **labels) == len(LATENCIES_US)
    assert _value(s, "horde_response_time_seconds_sum", **labels) == pytest.approx(
        sum(LATENCIES_US) / 1e6)


def test_users_state_and_health() -> None:
    s = _samples(render_metrics(read_metrics(_source(state="spawning")))[0])
    assert _value(s, "horde_users") == 10
    assert _value(s, "horde_target_users") == 12
    assert _value(s, "horde_class_users", user_class="Buyer") == 3
    assert {x.labels["state"]: x.value for x in s["horde_run_state"]} == {
        st: float(st == "spawning") for st in RUN_STATES}
    assert _value(s, "horde_cpu_percent") == 55.5
    assert _value(s, "horde_loop_lag_seconds") == pytest.approx(0.00325)


def test_fleet_by_state_and_per_worker_series_while_present() -> None:
    fleet = [
        WorkerSummary("w1", "node-a", "running", 600, 1000, cpu_percent=40.0, loop_lag_ms=2.0,
                      memory_bytes=90_000_000),
        WorkerSummary("w2", "node-b", "running", 400, 800, saturated=True),
        WorkerSummary("w3", "node-c", "missing", 0, 50),
        WorkerSummary("w4", "node-d", "left", 0, 70),
    ]
    s = _samples(render_metrics(read_metrics(_source(fleet=fleet)))[0])
    by_state = {x.labels["state"]: x.value for x in s["horde_workers"]}
    assert by_state == {**dict.fromkeys(WORKER_STATES, 0.0), "running": 2.0, "missing": 1.0,
                        "left": 1.0}
    assert {x.labels["worker"] for x in s["horde_worker_users"]} == {"w1", "w2", "w3"}
    assert _value(s, "horde_worker_users", worker="w1", host="node-a") == 600
    assert _value(s, "horde_worker_cpu_percent", worker="w1") == 40.0
    assert _value(s, "horde_worker_loop_lag_seconds", worker="w1") == pytest.approx(0.002)
    assert _value(s, "horde_worker_memory_bytes", worker="w1") == 90_000_000
    assert _value(s, "horde_worker_requests_total", worker="w2") == 800
    assert _value(s, "horde_worker_saturated", worker="w2") == 1.0


def test_a_local_run_has_no_worker_series() -> None:
    s = _samples(render_metrics(read_metrics(_source()))[0])
    assert "horde_worker_users" not in s
    assert all(x.value == 0 for x in s["horde_workers"])


def test_the_collector_reads_at_every_scrape_in_any_registry() -> None:
    source = _source()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HordeCollector(lambda: read_metrics(source)))
    first = _samples(generate_latest(registry))
    rs = RequestStats()
    rs.record("GET", "/items/{id}", 100, 1, None, 1)
    source.aggregate.apply(rs.take_delta(), 1)
    source.target_users = 20
    second = _samples(generate_latest(registry))
    name = {"method": "GET", "name": "/items/{id}"}
    assert _value(first, "horde_requests_total", **name) == 9
    assert _value(second, "horde_requests_total", **name) == 10
    assert _value(second, "horde_target_users") == 20


def test_a_reading_is_immutable() -> None:
    reading = read_metrics(_source())
    with pytest.raises(AttributeError):
        reading.state = "stopped"  # type: ignore[misc]
    with pytest.raises(ValueError):
        reading.latency.requests[0] = 0


def test_checks_are_judged_at_scrape_time() -> None:
    # GET /items/{id}: 2 of 9 failed; POST: none. Overall 2 of 10 = 20 % failed.
    watch = CheckWatch([parse_check("fail_ratio < 1%"), parse_check("max < 200s"),
                        parse_check("GET /nowhere: p95 < 1s")])
    s = _samples(render_metrics(read_metrics(_source(), watch))[0])
    assert _value(s, "horde_check_passed", check="fail_ratio < 1%") == 0.0
    assert _value(s, "horde_check_value", check="fail_ratio < 1%", unit="%") == 20.0
    assert _value(s, "horde_check_passed", check="max < 200s") == 1.0
    assert _value(s, "horde_check_aborted", check="max < 200s") == 0.0
    # Nothing measured for an endpoint without requests: no value sample at all.
    assert not [x for x in s.get("horde_check_value", [])
                if x.labels["check"] == "GET /nowhere: p95 < 1s"]


def test_no_checks_no_check_series() -> None:
    s = _samples(render_metrics(read_metrics(_source()))[0])
    assert "horde_check_passed" not in s
