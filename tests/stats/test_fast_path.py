"""The columnar way in (`apply_columns`) and the vectorised snapshot agree exactly with
the object path and with per-endpoint histograms."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.stats import (
    N_BUCKETS,
    PERCENTILE_KEYS,
    EndpointDelta,
    Histogram,
    RequestStats,
    StatsAggregate,
    StatsDelta,
)
from horde.stats import store as store_mod
from horde.stats.columns import COUNTER_FIELDS, N_HIST, check_columns, columns_of_delta
from horde.stats.histogram import percentiles_of_counts
from horde.stats.snapshot import PERCENTILE_FRACTIONS, PERCENTILE_QUANTILES
from horde.stats.summaries import percentile_rows


def _deltas(seed: int, rounds: int, endpoints: int = 12) -> list[StatsDelta]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(rounds):
        rs = RequestStats()
        for _ in range(int(rng.integers(0, 300))):
            lat = int(rng.lognormal(8, 1.5))
            err = "HTTP 500" if rng.random() < 0.05 else None
            name = f"/e{int(rng.integers(0, endpoints))}"
            rs.record("GET" if rng.random() < 0.7 else "POST", name, lat, 7, err, lat // 3)
        if rng.random() < 0.2:
            rs.record_exception("U.t", KeyError(int(rng.integers(0, 3))))
        out.append(rs.take_delta())
    return out


def _feed(agg: StatsAggregate, deltas: list[StatsDelta], columns: bool) -> list[object]:
    """Feed deltas over a few seconds (some late), closing seconds; returns what was read."""
    seen: list[object] = []
    for i, d in enumerate(deltas):
        t = i // 4 if i % 9 else max(i // 4 - 3, 0)  # every 9th arrives 3 s late
        if columns:
            agg.apply_columns(*columns_of_delta(d), t, d.errors, d.exceptions)
        else:
            agg.apply(d, t)
        if i % 4 == 3:
            seen.append(agg.close_second(i // 4, users=i))
        if i % 10 == 5:
            seen.append(agg.snapshot(i / 4))
    seen.append(agg.snapshot(len(deltas) / 4))
    return seen


def test_columns_path_equals_object_path() -> None:
    deltas = _deltas(3, 60)
    a, b = StatsAggregate(window_s=3), StatsAggregate(window_s=3)
    assert _feed(a, deltas, columns=False) == _feed(b, deltas, columns=True)


def test_merged_equals_direct_recording_per_endpoint() -> None:
    rng = np.random.default_rng(11)
    producers = [RequestStats() for _ in range(4)]
    direct: dict[tuple[str, str], Histogram] = {}
    agg = StatsAggregate()
    for i in range(8_000):
        name = f"/p{int(rng.integers(0, 30))}"
        lat = int(rng.lognormal(7, 1.8))
        producers[i % 4].record("GET", name, lat, 1, None, 0)
        direct.setdefault(("GET", name), Histogram()).record(lat)
        if i % 997 == 0:
            for p in producers:
                d = p.take_delta()
                agg.apply_columns(*columns_of_delta(d), i // 997)
    for p in producers:
        agg.apply_columns(*columns_of_delta(p.take_delta()), 9)
    snap = agg.snapshot(10.0)
    assert len(snap.endpoints) == len(direct)
    for e in snap.endpoints:
        h = direct[(e.method, e.name)]
        assert e.requests == h.count and e.min_ms == h.min / 1000 and e.max_ms == h.max / 1000
        for k in PERCENTILE_KEYS:
            assert e.percentiles_ms[k] == h.percentile(PERCENTILE_QUANTILES[k]) / 1000


def test_duplicate_keys_in_one_delta_add_up() -> None:
    one = RequestStats()
    for lat in (100, 200, 300):
        one.record("GET", "/x", lat, 1, None, 0)
    keys, counters, idx, cnt, t_idx, t_cnt = columns_of_delta(one.take_delta())
    agg = StatsAggregate()
    agg.apply_columns(
        keys * 2, np.vstack([counters, counters]), np.tile(idx, 2), np.tile(cnt, 2),
        t_idx, t_cnt, 0,
    )  # fmt: skip
    e = agg.snapshot(1.0).endpoints[0]
    assert e.requests == 6 and e.min_ms == 0.1 and e.max_ms == 0.3
    h = Histogram()
    for lat in (100, 200, 300) * 2:
        h.record(lat)
    assert [e.percentiles_ms[k] for k in PERCENTILE_KEYS] == [
        h.percentile(PERCENTILE_QUANTILES[k]) / 1000 for k in PERCENTILE_KEYS
    ]


def test_many_rows_grow_while_pending_and_auto_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "MAX_PENDING", 50)  # flush every few deltas
    deltas = _deltas(5, 40, endpoints=200)
    a, b = StatsAggregate(), StatsAggregate()
    for d in deltas:
        a.apply(d, 0)
    monkeypatch.setattr(store_mod, "MAX_PENDING", 1 << 20)
    for d in deltas:
        b.apply(d, 0)
    assert a.snapshot(1.0) == b.snapshot(1.0)
    assert len(a.snapshot(1.0).endpoints) > 100


def _good() -> tuple[list[tuple[str, str]], np.ndarray, list[int], list[int], list[int], list[int]]:
    counters = np.array([[3, 1, 30, 10, 900, 1000, 50, 2, 1]], dtype=np.int64)
    return [("GET", "/a")], counters, [5, 600], [1, 2], [9], [3]


def _with(c: np.ndarray, col: int, value: int) -> np.ndarray:
    out = c.copy()
    out[0, col] = value
    return out


def _bad_variants() -> list[tuple[str, dict[str, object]]]:
    c = _good()[1]
    neg, over, fail = c.copy(), c.copy(), c.copy()
    neg[0, 2] = -1
    over[0, 5] = 1 << 60
    fail[0, 1] = 4
    return [
        ("shape", {"counters": c[:, :8]}),
        ("negative counter", {"counters": neg}),
        ("huge counter", {"counters": over}),
        ("failures", {"counters": fail}),
        ("index range", {"hist_idx": [5, N_BUCKETS]}),
        ("negative index", {"hist_idx": [-1, 600]}),
        ("negative count", {"hist_cnt": [1, -2]}),
        ("huge count", {"ttfb_cnt": [1 << 50]}),
        ("lengths", {"hist_cnt": [1]}),
        ("segment sum", {"hist_idx": [5], "hist_cnt": [1]}),
        ("floats", {"hist_idx": [5.0, 6.0]}),
        ("too many buckets", {"counters": _with(c, N_HIST, 2_000)}),
        # 512 x 2^55 pairs claimed: each below MAX_COUNTER, the int64 sum wraps to 0
        (
            "wrapping sums",
            {
                "keys": [("GET", f"/{i}") for i in range(512)],
                "counters": np.array([[1, 0, 0, 1, 1, 1, 0, 1 << 55, 0]] * 512),
                "hist_idx": [],
                "hist_cnt": [],
            },
        ),
    ]


@pytest.mark.parametrize(("what", "change"), _bad_variants(), ids=lambda v: str(v)[:20])
def test_bad_columns_rejected_without_change(what: str, change: dict[str, object]) -> None:
    keys, counters, idx, cnt, t_idx, t_cnt = _good()
    agg = StatsAggregate()
    assert agg.apply_columns(keys, counters, idx, cnt, t_idx, t_cnt, 0) == 3
    before = agg.snapshot(1.0)
    args: dict[str, object] = {
        "keys": [("GET", "/new")], "counters": counters, "hist_idx": idx, "hist_cnt": cnt,
        "ttfb_idx": t_idx, "ttfb_cnt": t_cnt,
    }  # fmt: skip
    args.update(change)
    with pytest.raises(ValueError):
        agg.apply_columns(t_s=5, **args)  # type: ignore[arg-type]
    assert agg.snapshot(1.0) == before


def test_check_columns_accepts_empty_and_keeps_uint16() -> None:
    c, idx, cnt, t_idx, t_cnt, requests = check_columns([], np.zeros((0, 9)), [], [], [], [])
    assert c.shape == (0, len(COUNTER_FIELDS)) and idx.size == cnt.size == 0 and requests == 0
    wire_idx = np.array([3, 4], dtype="<u2")
    counters = np.array([[2, 0, 0, 3, 4, 7, 0, 2, 0]])
    _, idx, _, _, _, requests = check_columns([("G", "/")], counters, wire_idx, [1, 1], [], [])
    assert idx.dtype == np.uint16 and requests == 2


def _ep(requests: int, lo: int, hi: int, idx: list[int]) -> StatsDelta:
    arr = np.array(idx, dtype=np.int64)
    ep = EndpointDelta("GET", "/a", requests, 0, 0, lo, hi, lo + hi, arr, np.ones_like(arr))
    return StatsDelta(endpoints=(ep,))


def test_rows_without_requests_do_not_move_min() -> None:
    agg = StatsAggregate()
    agg.apply(_ep(2, 500, 800, [500, 600]), 0)
    agg.apply(_ep(0, 0, 0, []), 0)  # hand-made: no requests, min 0 must not count
    e = agg.snapshot(1.0).endpoints[0]
    assert e.min_ms == 0.5 and e.max_ms == 0.8 and e.requests == 2


rows_strategy = st.lists(
    st.lists(st.tuples(st.integers(0, N_BUCKETS - 1), st.integers(0, 5)), max_size=12),
    min_size=1,
    max_size=6,
)


@settings(max_examples=80, deadline=None)
@given(rows_strategy, st.booleans())
def test_percentile_rows_equals_scalar(rows: list[list[tuple[int, int]]], bounds: bool) -> None:
    counts = np.zeros((len(rows), N_BUCKETS), dtype=np.int64)
    for r, pairs in enumerate(rows):
        for i, c in pairs:
            counts[r, i] += c
    lo = np.array([int(np.flatnonzero(row)[0]) if row.any() else 0 for row in counts])
    hi = np.array([int(np.flatnonzero(row)[-1]) * 3 + 1 if row.any() else 0 for row in counts])
    qs = (*PERCENTILE_FRACTIONS, Fraction(0), Fraction(1, 3))
    got = percentile_rows(counts, qs, lo if bounds else None, hi if bounds else None)
    for r in range(len(rows)):
        b = (int(lo[r]), int(hi[r])) if bounds and counts[r].any() else (None, None)
        assert got[r].tolist() == percentiles_of_counts(counts[r], qs, *b)


def test_percentile_rows_huge_counts_fall_back_exactly() -> None:
    counts = np.zeros((2, N_BUCKETS), dtype=np.int64)
    counts[0, 10] = counts[0, 900] = 1 << 50  # 2^51 * 9999 would wrap int64
    counts[1, 5] = 3
    got = percentile_rows(counts, PERCENTILE_FRACTIONS)
    for r in range(2):
        assert got[r].tolist() == percentiles_of_counts(counts[r], PERCENTILE_FRACTIONS)


def test_names_beyond_the_cap_are_counted_under_one_other_line() -> None:
    """Generated URLs without name= must not grow memory without bound."""
    from horde.stats import RequestStats, StatsAggregate
    from horde.stats.store import MAX_ENDPOINTS, OTHER_NAME

    aggregate = StatsAggregate()
    stats = RequestStats()
    for n in range(MAX_ENDPOINTS + 500):
        stats.record("GET", f"/item/{n}", 100, 1, "HTTP 500" if n % 2 else None, 50)
    aggregate.apply(stats.take_delta(), 0)
    stats.record("GET", f"/item/{MAX_ENDPOINTS + 1}", 100, 1, None, 50)  # seen again later
    aggregate.apply(stats.take_delta(), 1)
    aggregate.close_second(1, 1)
    snapshot = aggregate.snapshot(2.0)
    assert aggregate.names_overflowed
    assert len(snapshot.endpoints) == MAX_ENDPOINTS + 1
    [other] = [e for e in snapshot.endpoints if e.name == OTHER_NAME]
    again_has_a_row = any(e.name == f"/item/{MAX_ENDPOINTS + 1}" for e in snapshot.endpoints)
    assert other.requests == 500 + (0 if again_has_a_row else 1)
    assert sum(e.requests for e in snapshot.endpoints) == snapshot.total.requests
    assert snapshot.total.requests == MAX_ENDPOINTS + 501
    assert sum(e.failures for e in snapshot.endpoints) == (MAX_ENDPOINTS + 500) // 2
