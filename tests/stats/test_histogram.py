"""Histogram: layout, percentile accuracy against exact order statistics, merge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.stats.histogram import (
    MAX_US,
    N_BUCKETS,
    Histogram,
    bucket_index,
    bucket_lower,
    bucket_mid,
    bucket_upper,
    rank_for,
)

QS = [0.0, 0.01, 0.25, 0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0]


def exact(data: np.ndarray, q: float) -> float:
    """The smallest value v with at least ceil(q*n) samples <= v."""
    s = np.sort(data)
    return float(s[rank_for(q, s.size) - 1])


def filled(data: np.ndarray) -> Histogram:
    h = Histogram()
    for v in data.tolist():
        h.record(v)
    return h


def sample(dist: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if dist == "uniform":
        return rng.integers(0, 2_000_000, n)
    if dist == "lognormal":
        return rng.lognormal(7, 2, n)
    if dist == "exponential":
        return rng.exponential(3_000, n)
    if dist == "bimodal":
        return np.concatenate([rng.normal(500, 50, n // 2), rng.normal(90_000, 900, n // 2)])
    if dist == "pareto":
        return (rng.pareto(1.2, n) + 1) * 200
    if dist == "constant":
        return np.full(n, 123_456)
    return rng.integers(0, 200, n)


def assert_close(got: float, want: float) -> None:
    assert abs(got - want) <= 0.01 * want, (got, want)


def test_buckets_tile_the_range_without_gaps() -> None:
    i = np.arange(N_BUCKETS)
    lo, up = bucket_lower(i), bucket_upper(i)
    assert lo[0] == 0 and (lo[1:] == up[:-1] + 1).all()
    assert up[-1] >= MAX_US > lo[-1]
    assert (bucket_index(lo) == i).all()
    assert (up[:128] == lo[:128]).all()  # small values exact
    # the midpoint of each bucket is within 1% of every value inside it
    assert ((up - lo) / 2 <= 0.01 * np.maximum(lo, 1)).all()
    assert (bucket_mid(i) >= lo).all()


def test_values_are_clamped() -> None:
    h = Histogram()
    for v in (-5, 0, 10**13, MAX_US):
        h.record(v)
    assert h.count == 4 and h.min == 0 and h.max == MAX_US
    assert h.total == 2 * MAX_US
    assert bucket_index([-1, 10**15]).tolist() == [0, N_BUCKETS - 1]


def test_float_and_huge_values_are_accepted() -> None:
    h = Histogram()
    for v in (1.4, 2**70, float("nan")):
        h.record(v)  # type: ignore[arg-type]
    assert h.count == 3 and h.min == 0 and h.max == MAX_US


def test_rank_is_exact_for_decimal_quantiles() -> None:
    assert rank_for(0.07, 100) == 7  # 0.07 * 100 == 7.000000000000001 in floats
    assert rank_for(0.5, 3) == 2
    assert rank_for(0.0, 10) == 1
    assert rank_for(1.0, 10) == 10
    with pytest.raises(ValueError):
        rank_for(1.5, 10)


@pytest.mark.parametrize(
    "dist",
    ["uniform", "lognormal", "exponential", "bimodal", "pareto", "constant", "small"],
)
def test_percentiles_within_one_percent(dist: str) -> None:
    rng = np.random.default_rng(42)
    n = 20_000
    data = sample(dist, rng, n)
    data = np.clip(np.rint(data), 0, MAX_US).astype(np.int64)
    h = filled(data)
    for q in QS:
        assert_close(h.percentile(q), exact(data, q))
    # numpy's own definition of this percentile agrees, q by q
    for q in (0.5, 0.9, 0.99):
        want = float(np.percentile(data, q * 100, method="inverted_cdf"))
        assert_close(h.percentile(q), want)
    assert h.percentile(0) == data.min() and h.percentile(1) == data.max()
    assert h.count == n and h.total == int(data.sum())
    assert h.mean() == pytest.approx(data.mean())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=MAX_US), min_size=1, max_size=300),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_percentile_property(values: list[int], q: float) -> None:
    data = np.asarray(values, dtype=np.int64)
    h = filled(data)
    assert_close(h.percentile(q), exact(data, q))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10**7), max_size=200),
    st.lists(st.integers(min_value=0, max_value=10**7), max_size=200),
)
def test_merge_equals_histogram_of_union(a: list[int], b: list[int]) -> None:
    ha, hb = filled(np.asarray(a, np.int64)), filled(np.asarray(b, np.int64))
    hu = filled(np.asarray(a + b, np.int64))
    ha.merge(hb)
    for x, y in zip(ha.to_arrays(), hu.to_arrays(), strict=True):
        assert x.tolist() == y.tolist()
    assert (ha.count, ha.min, ha.max, ha.total) == (hu.count, hu.min, hu.max, hu.total)
    for q in QS:
        assert ha.percentile(q) == hu.percentile(q)


def test_arrays_round_trip_and_fold_in_steps() -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(0, 10**6, 5_000)
    h = Histogram()
    for i, v in enumerate(data.tolist()):
        h.record(v)
        if i % 1_000 == 999:
            h.fold()  # several folds give the same counts as one
    idx, cnt = h.to_arrays()
    assert idx.dtype == np.int64 and cnt.dtype == np.int64
    assert (np.diff(idx) > 0).all() and (cnt > 0).all() and cnt.sum() == data.size
    assert (h.dense_counts() == np.bincount(bucket_index(data), minlength=N_BUCKETS)).all()
    copy = Histogram()
    copy.add_arrays(idx, cnt, min_us=h.min, max_us=h.max, total_us=h.total)
    for q in QS:
        assert copy.percentile(q) == h.percentile(q)
    # without exact extremes the bucket bounds stand in, still within 1%
    approx = Histogram()
    approx.add_arrays(idx, cnt)
    assert approx.count == h.count
    assert_close(approx.max, h.max)
    assert_close(approx.percentile(0.5), h.percentile(0.5))


def test_add_arrays_rejects_bad_input_without_change() -> None:
    h = Histogram()
    h.record(5)
    with pytest.raises(ValueError):
        h.add_arrays([N_BUCKETS], [1])
    with pytest.raises(ValueError):
        h.add_arrays([1, 2], [1])
    with pytest.raises(ValueError):
        h.add_arrays([1], [-1])
    assert h.count == 1


def test_empty_histogram() -> None:
    h = Histogram()
    assert (h.count, h.min, h.max, h.total, h.percentile(0.99), h.mean()) == (0, 0, 0, 0, 0.0, 0.0)
    assert h.to_arrays()[0].size == 0
    h.record(3)
    h.reset()
    assert h.count == 0
    h.record(9)  # record still works after reset (bound to the same buffer)
    assert h.count == 1 and h.percentile(0.5) == 9


def test_batch_percentiles_match_single() -> None:
    from horde.stats.histogram import percentile_of_counts, percentiles_of_counts
    from horde.stats.snapshot import PERCENTILE_FRACTIONS, PERCENTILE_QUANTILES

    rng = np.random.default_rng(5)
    h = filled(rng.integers(0, 10**6, 3_001))
    counts = h.dense_counts()
    for ends in (True, False):
        batch = percentiles_of_counts(counts, PERCENTILE_FRACTIONS, h.min, h.max, exact_ends=ends)
        single = [
            percentile_of_counts(counts, q, h.min, h.max, exact_ends=ends)
            for q in PERCENTILE_QUANTILES.values()
        ]
        assert batch == single
    assert PERCENTILE_QUANTILES["99.9"] == 0.999
