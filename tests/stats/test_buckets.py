"""Cumulative counts at bucket edges (horde.stats.buckets, StatsAggregate.latency_table)."""

from __future__ import annotations

import numpy as np
import pytest

from horde.stats import RequestStats, StatsAggregate
from horde.stats.buckets import check_edges, counts_below
from horde.stats.histogram import MAX_US, N_BUCKETS, Histogram, bucket_lower

EDGES = [64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 1 << 20, 3 << 24]


def test_counts_below_equal_a_brute_force_count() -> None:
    rng = np.random.default_rng(3)
    rows = [rng.integers(0, 60_000_000, size=n) for n in (0, 1, 500, 5000)]
    near_edges = np.array([e + d for e in EDGES for d in (-1, 0, 1)])
    rows.append(rng.choice(near_edges, size=300))
    dense = np.zeros((len(rows), N_BUCKETS), dtype=np.int64)
    for r, values in enumerate(rows):
        h = Histogram()
        for v in values.tolist():
            h.record(int(v))
        dense[r] = h.dense_counts()
    edges = check_edges(EDGES)
    below = counts_below(dense, edges)
    for r, values in enumerate(rows):
        expected = [int((values < e).sum()) for e in EDGES]
        assert below[r].tolist() == expected


def test_values_at_an_edge_count_above_it() -> None:
    dense = np.zeros((1, N_BUCKETS), dtype=np.int64)
    h = Histogram()
    for v in (127, 128, 129, 191, 192):
        h.record(v)
    dense[0] = h.dense_counts()
    assert counts_below(dense, check_edges([128, 192, 256])).tolist() == [[1, 4, 5]]


def test_no_rows() -> None:
    assert counts_below(np.zeros((0, N_BUCKETS), np.int64), check_edges([64])).shape == (0, 1)


@pytest.mark.parametrize("edges, message", [
    ([], "at least one"),
    ([0, 64], r"\[1, "),
    ([MAX_US + 1], r"\[1, "),
    ([128, 64], "ascending"),
    ([64, 64], "ascending"),
    ([129], "not a histogram bucket bound"),
    ([1000, 5000], "5000 µs is not"),
])
def test_edges_that_would_give_estimates_are_refused(edges: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_edges(edges)


def test_every_bucket_lower_bound_is_an_edge() -> None:
    bounds = sorted(set(bucket_lower(np.arange(1, N_BUCKETS)).tolist()))
    assert check_edges(bounds).size == len(bounds)


def _aggregate() -> StatsAggregate:
    agg = StatsAggregate()
    rs = RequestStats()
    for us in (100, 200, 300, 5000):
        rs.record("GET", "/a", us, 10, None, 50)
    rs.record("POST", "/b", 70_000, 10, "HTTP 500", 0)
    agg.apply(rs.take_delta(), 0)
    return agg


def test_latency_table_reads_the_aggregate() -> None:
    table = _aggregate().latency_table([128, 256, 1024, 65_536, 98_304])
    rows = dict(zip(table.keys, range(len(table.keys)), strict=True))
    a, b = rows[("GET", "/a")], rows[("POST", "/b")]
    assert table.requests[a] == 4 and table.failures[a] == 0
    assert table.requests[b] == 1 and table.failures[b] == 1
    assert table.count.tolist() == table.requests.tolist()
    assert table.sum_us[a] == 5600 and table.sum_us[b] == 70_000
    assert table.below[a].tolist() == [1, 2, 3, 4, 4]
    assert table.below[b].tolist() == [0, 0, 0, 0, 1]
    assert table.edges_us == (128, 256, 1024, 65_536, 98_304)


def test_latency_table_is_a_frozen_copy() -> None:
    agg = _aggregate()
    table = agg.latency_table([128])
    rs = RequestStats()
    rs.record("GET", "/a", 50, 10, None, 5)
    agg.apply(rs.take_delta(), 1)
    assert table.requests.tolist()[0] == 4 and table.below.tolist()[0] == [1]
    assert agg.latency_table([128]).below.tolist()[0] == [2]
    with pytest.raises(ValueError):
        table.requests[0] = 9


def test_latency_table_after_reset_is_empty() -> None:
    agg = _aggregate()
    agg.reset()
    table = agg.latency_table([128])
    assert table.keys == () and table.below.shape == (0, 1)


def test_latency_table_refuses_bad_edges() -> None:
    with pytest.raises(ValueError, match="not a histogram bucket bound"):
        _aggregate().latency_table([129])
