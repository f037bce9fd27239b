"""RequestStats folds busy endpoints in slices of SLICE requests: same delta, exactly."""

from __future__ import annotations

import numpy as np
import pytest

import horde
from horde.stats import RequestStats
from horde.stats.histogram import MAX_US, bucket_index
from horde.stats.recorder import SLICE


def _expected(values: list[int]) -> tuple[list[int], list[int]]:
    dense = np.bincount(bucket_index(values))
    idx = np.flatnonzero(dense)
    return idx.tolist(), dense[idx].tolist()


@pytest.mark.parametrize("n", [1, SLICE - 1, SLICE, SLICE + 1, 3 * SLICE + 17])
def test_sliced_fold_gives_the_exact_delta(n: int) -> None:
    rng = np.random.default_rng(n)
    lat = rng.lognormal(7.5, 1.5, n).astype(np.int64).tolist()
    # Every third request had no response byte (TTFB 0): left out of TTFB figures.
    ttfb = [0 if i % 3 == 0 else v // 2 + 1 for i, v in enumerate(lat)]
    rs = RequestStats()
    for i, (v, t) in enumerate(zip(lat, ttfb, strict=True)):
        rs.record("GET", "/a", v, 2, "HTTP 500" if i % 7 == 0 else None, t)
        if i % 5 == 0:
            rs.record("GET", "/quiet", 5, 0, None, 0)
    assert rs.pending_requests == n + (n + 4) // 5
    d = rs.take_delta()
    a = next(e for e in d.endpoints if e.name == "/a")
    assert (a.requests, a.failures, a.bytes) == (n, (n + 6) // 7, 2 * n)
    assert (a.min_us, a.max_us, a.sum_us) == (min(lat), max(lat), sum(lat))
    assert (a.hist_idx.tolist(), a.hist_cnt.tolist()) == _expected(lat)
    positive = [t for t in ttfb if t > 0]
    assert a.ttfb_sum_us == sum(positive)
    if positive:
        assert (a.ttfb_idx.tolist(), a.ttfb_cnt.tolist()) == _expected(positive)
    else:
        assert a.ttfb_idx.size == 0 and a.ttfb_cnt.size == 0
    assert a.hist_idx.dtype == np.int64 and a.hist_cnt.dtype == np.int64
    assert a.ttfb_idx.dtype == np.int64 and a.ttfb_cnt.dtype == np.int64
    # Everything was handed out: the next delta is empty.
    assert rs.take_delta().empty


def test_slices_do_not_leak_into_the_next_delta() -> None:
    rs = RequestStats()
    for _ in range(SLICE + 10):
        rs.record("GET", "/a", 100, 0, None, 50)
    first = rs.take_delta().endpoints[0]
    for _ in range(3):
        rs.record("GET", "/a", 7, 0, None, 0)
    second = rs.take_delta().endpoints[0]
    assert (first.requests, int(first.hist_cnt.sum()), first.sum_us) == (
        SLICE + 10,
        SLICE + 10,
        100 * (SLICE + 10),
    )
    assert (second.requests, second.min_us, second.max_us, second.sum_us) == (3, 7, 7, 21)
    assert second.ttfb_sum_us == 0 and second.ttfb_cnt.size == 0


def test_out_of_contract_values_still_fold() -> None:
    # The contract says int µs; a float, a negative, a huge or a NaN value from
    # a buggy caller must neither raise nor poison the other samples.
    # The compiled build (docs/dev/compiled.md) refuses a float at the call with a
    # TypeError (mypyc checks the declared int), and the other samples still fold.
    rs = RequestStats()
    recorded = 0
    for v in (-5, 2**70, float("nan"), 12.7, 300):
        if horde.BUILD.compiled and isinstance(v, float):
            with pytest.raises(TypeError):
                rs.record("GET", "/a", v, 0, None, 0)  # type: ignore[arg-type]
            continue
        rs.record("GET", "/a", v, 0, None, 0)  # type: ignore[arg-type]
        recorded += 1
    e = rs.take_delta().endpoints[0]
    assert e.requests == recorded and int(e.hist_cnt.sum()) == recorded
    assert e.min_us == 0 and e.max_us == MAX_US
    rs2 = RequestStats()
    for v in (-5, 10**15, 300):
        rs2.record("GET", "/a", v, 0, None, 0)
    e2 = rs2.take_delta().endpoints[0]
    assert (e2.min_us, e2.max_us, e2.sum_us) == (0, MAX_US, MAX_US + 300)
