"""StatsAggregate: round trip against direct recording, windows and history, merging."""

from __future__ import annotations

import numpy as np
import pytest

from horde.stats import (
    PERCENTILE_KEYS,
    EndpointDelta,
    Histogram,
    RequestStats,
    StatsAggregate,
    StatsDelta,
)
from horde.stats.snapshot import PERCENTILE_QUANTILES


def _requests(seed: int, n: int) -> list[tuple[str, str, int, int, str | None, int]]:
    rng = np.random.default_rng(seed)
    names = [("GET", "/"), ("GET", "/item"), ("POST", "/item"), ("GET", "/z")]
    out = []
    for i in range(n):
        m, name = names[int(rng.integers(0, len(names)))]
        lat = int(rng.lognormal(8, 1.2))
        err = "HTTP 500" if rng.random() < 0.1 else None
        out.append((m, name, lat, int(rng.integers(0, 5000)), err, lat // 3 if i % 7 else 0))
    return out


def test_round_trip_equals_direct_recording() -> None:
    reqs = _requests(1, 6_000)
    # three producers, deltas taken at different moments, all into one aggregate
    producers = [RequestStats() for _ in range(3)]
    agg = StatsAggregate()
    for i, r in enumerate(reqs):
        producers[i % 3].record(*r)
        if i % 1_000 == 999:
            for p in producers:
                agg.apply(p.take_delta(), t_s=i // 1_000)
    for p in producers:
        agg.apply(p.take_delta(), t_s=6)
    snap = agg.snapshot(now_s=10.0)

    direct: dict[tuple[str, str], Histogram] = {}
    ttfb: dict[tuple[str, str], list[int]] = {}
    for m, name, lat, _size, _err, t in reqs:
        direct.setdefault((m, name), Histogram()).record(lat)
        if t:
            ttfb.setdefault((m, name), []).append(t)
    assert [(e.method, e.name) for e in snap.endpoints] == sorted(
        direct, key=lambda k: (k[1], k[0])
    )
    for e in snap.endpoints:
        key = (e.method, e.name)
        mine = [r for r in reqs if (r[0], r[1]) == key]
        h = direct[key]
        assert e.requests == len(mine) == h.count
        assert e.failures == sum(1 for r in mine if r[4])
        assert e.rps == pytest.approx(len(mine) / 10.0)
        assert e.min_ms == h.min / 1000 and e.max_ms == h.max / 1000
        assert e.mean_ms == pytest.approx(h.total / h.count / 1000)
        assert e.avg_size_bytes == pytest.approx(np.mean([r[3] for r in mine]))
        assert e.ttfb_mean_ms == pytest.approx(np.mean(ttfb[key]) / 1000)
        for k in PERCENTILE_KEYS:
            assert e.percentiles_ms[k] == h.percentile(PERCENTILE_QUANTILES[k]) / 1000
    all_h = Histogram()
    for h in direct.values():
        all_h.merge(h)
    assert snap.total.name == "Aggregated" and snap.total.requests == len(reqs)
    for k in PERCENTILE_KEYS:
        assert snap.total.percentiles_ms[k] == all_h.percentile(PERCENTILE_QUANTILES[k]) / 1000
    errors = {(x.method, x.name): x.occurrences for x in snap.errors}
    assert sum(errors.values()) == snap.total.failures


def _delta(name: str, lat_us: int, n: int, failures: int = 0) -> StatsDelta:
    rs = RequestStats()
    for i in range(n):
        rs.record("GET", name, lat_us, 1, "boom" if i < failures else None, lat_us)
    return rs.take_delta()


def test_window_and_history_with_explicit_seconds() -> None:
    agg = StatsAggregate(window_s=10)
    rows = []
    for t in range(25):
        # 100 req/s at 1 ms for the first 15 s, then 300 req/s at 10 ms
        fast = t < 15
        agg.apply(_delta("/a", 1_000 if fast else 10_000, 100 if fast else 300, failures=5), t)
        rows.append(agg.close_second(t, users=t))
    assert [r.t_s for r in rows] == list(range(25))
    assert rows[0].rps == 100 and rows[0].fail_per_s == 5  # window grows from the first second
    assert rows[9].rps == 100 and rows[14].p99_ms == pytest.approx(1.0, rel=0.01)
    assert rows[19].rps == pytest.approx((5 * 100 + 5 * 300) / 10)
    assert rows[24].rps == 300 and rows[24].p50_ms == pytest.approx(10.0, rel=0.01)
    # window percentiles never exceed the run's exact max (bucket midpoint is 10.0475 ms)
    assert rows[24].p99_ms == 10.0
    assert rows[24].total_requests == 15 * 100 + 10 * 300
    assert rows[24].users == 24
    snap = agg.snapshot(25.0)
    assert snap.total.current_rps == 300 and snap.total.current_fail_per_s == 5
    assert snap.current_percentiles_ms["50"] == pytest.approx(10.0, rel=0.01)
    assert snap.total.rps == pytest.approx(4_500 / 25)
    assert len(snap.history) == 25 and snap.users == 24


def test_several_and_late_deltas_per_second() -> None:
    agg = StatsAggregate(window_s=10)
    agg.apply(_delta("/a", 100, 10), 0)
    agg.apply(_delta("/a", 100, 10), 0)  # two workers in the same second
    agg.close_second(0, 1)
    agg.close_second(1, 1)  # a second with nothing yet
    agg.apply(_delta("/a", 100, 20), 1)  # arrives late, after its second closed
    row = agg.close_second(2, 1)
    assert row.rps == pytest.approx(40 / 3) and row.total_requests == 40
    agg.apply(_delta("/a", 100, 7), 100)
    agg.apply(_delta("/a", 100, 5), 3)  # very late: totals only, window long gone
    row = agg.close_second(100, 1)
    assert row.total_requests == 52 and row.rps == pytest.approx(7 / 10)


def test_bad_delta_rejected_without_change() -> None:
    agg = StatsAggregate()
    agg.apply(_delta("/a", 100, 3), 0)
    bad = EndpointDelta("GET", "/b", 1, 0, 0, 1, 1, 1, np.array([10**6]), np.array([1]))
    with pytest.raises(ValueError):
        agg.apply(StatsDelta(endpoints=(_delta("/c", 1, 1).endpoints[0], bad)), 0)
    snap = agg.snapshot(1.0)
    assert [e.name for e in snap.endpoints] == ["/a"] and snap.total.requests == 3


def test_many_endpoints_grow_matrices() -> None:
    agg = StatsAggregate()
    for i in range(40):
        agg.apply(_delta(f"/p{i:02d}", 100 + i, i + 1), 0)
        if i == 20:
            agg.snapshot(1.0)  # flushes between growths
    snap = agg.snapshot(1.0)
    assert len(snap.endpoints) == 40
    assert snap.endpoints[39].requests == 40 and snap.endpoints[39].max_ms == 0.139
    assert snap.total.requests == sum(range(1, 41))


def test_exceptions_and_errors_merge() -> None:
    agg = StatsAggregate()
    for t in range(3):
        rs = RequestStats()
        rs.record("GET", "/a", 1, 0, "HTTP 503", 0)
        rs.record_exception("U.t", ValueError(f"v{t % 2}"))
        agg.apply(rs.take_delta(), t)
    snap = agg.snapshot(3.0)
    assert [(e.error, e.occurrences) for e in snap.errors] == [("HTTP 503", 3)]
    assert [(e.error, e.occurrences) for e in snap.exceptions] == [
        ("ValueError: v0", 2),
        ("ValueError: v1", 1),
    ]
    agg.reset()
    snap = agg.snapshot(0.0)
    assert snap.endpoints == [] and snap.errors == [] and snap.total.requests == 0
    assert set(snap.total.percentiles_ms) == set(PERCENTILE_KEYS)
