"""Building `EndpointSummary`s from an `EndpointStore`, all rows at once.

Percentiles of many rows come from one cumulative sum over the flattened
(rows x buckets) matrix and one `np.searchsorted` for every (row, quantile):
row r's counts cumulate to ``flat[r*N_BUCKETS : (r+1)*N_BUCKETS] - base_r``,
so the rank-th sample of row r is the first position where the global
cumulative sum reaches ``base_r + rank``, and it always lies inside row r's
block because rank is between 1 and the row's total. A snapshot of 500
endpoints thus costs a few numpy calls, not 500 x 11 searches.

Invariant: `percentile_rows` returns exactly what
`horde.stats.histogram.percentiles_of_counts` returns row by row (same
ranks, same midpoints, same clamping), so local and merged statistics agree
to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from horde.stats.columns import (
    BYTES,
    FAILURES,
    MAX_US_COL,
    MIN_US,
    REQUESTS,
    SUM_US,
    TTFB_SUM_US,
    Key,
)
from horde.stats.histogram import (
    N_BUCKETS,
    IntArray,
    bucket_mid,
    percentiles_of_counts,
)
from horde.stats.snapshot import PERCENTILE_FRACTIONS, PERCENTILE_KEYS, EndpointSummary

__all__ = ["percentile_rows", "endpoint_summaries", "total_summary"]

FloatArray = npt.NDArray[np.float64]

_RANK_LIMIT = 1 << 62


def percentile_rows(
    counts: IntArray,
    qs: Sequence[Fraction],
    lo: IntArray | None = None,
    hi: IntArray | None = None,
) -> FloatArray:
    """(rows, len(qs)) percentiles in µs of each row of `counts`; 0.0 for empty rows.

    `lo`/`hi` are each row's exact min and max (as `percentiles_of_counts`
    with ``exact_ends=True``): results are clamped to them, q = 0 gives lo
    and the top rank gives hi.
    """
    n = counts.shape[0]
    out = np.zeros((n, len(qs)), dtype=np.float64)
    if n == 0 or not qs:
        return out
    flat = np.cumsum(counts.reshape(-1))
    ends = flat[N_BUCKETS - 1 :: N_BUCKETS]
    totals = np.diff(ends, prepend=0)
    num = np.array([q.numerator for q in qs], dtype=np.int64)
    den = np.array([q.denominator for q in qs], dtype=np.int64)
    if int(totals.max()) * int(num.max()) >= _RANK_LIMIT:  # int64 would wrap: exact fallback
        for r in range(n):
            bounds = (None, None) if lo is None or hi is None else (lo[r], hi[r])
            out[r] = percentiles_of_counts(counts[r], qs, *bounds)
        return out
    live = np.flatnonzero(totals)
    if not live.size:
        return out
    tot = totals[live][:, None]
    # ceil(q * total) exactly, at least 1 (as histogram.rank_for)
    ranks = np.maximum(-((-tot * num[None, :]) // den[None, :]), 1)
    pos = np.searchsorted(flat, (ends[live] - totals[live])[:, None] + ranks, side="left")
    values = bucket_mid(pos - (live * N_BUCKETS)[:, None])
    if lo is not None and hi is not None:
        lo_f = lo[live].astype(np.float64)[:, None]
        hi_f = hi[live].astype(np.float64)[:, None]
        values = np.where(ranks >= tot, hi_f, np.clip(values, lo_f, hi_f))
        zero_q = num == 0
        if zero_q.any():  # q = 0 is the min, even when it is also the top rank
            values[:, zero_q] = lo_f
    out[live] = values
    return out


def _pct_dicts(values_us: FloatArray) -> list[dict[str, float]]:
    return [dict(zip(PERCENTILE_KEYS, row, strict=True)) for row in (values_us / 1000.0).tolist()]


def _summary(
    key: Key,
    t: Sequence[int],
    ttfb_n: int,
    duration: float,
    w_requests: int,
    w_failures: int,
    span: int,
    pct: dict[str, float],
    tpct: dict[str, float],
) -> EndpointSummary:
    """One summary from its totals line `t` (COUNTER_FIELDS order); Python floats throughout."""
    n, failures = t[REQUESTS], t[FAILURES]
    return EndpointSummary(
        method=key[0],
        name=key[1],
        requests=n,
        failures=failures,
        rps=n / duration if duration > 0 else 0.0,
        fail_per_s=failures / duration if duration > 0 else 0.0,
        current_rps=w_requests / span if span else 0.0,
        current_fail_per_s=w_failures / span if span else 0.0,
        min_ms=t[MIN_US] / 1000.0 if n else 0.0,
        max_ms=t[MAX_US_COL] / 1000.0 if n else 0.0,
        mean_ms=t[SUM_US] / n / 1000.0 if n else 0.0,
        avg_size_bytes=t[BYTES] / n if n else 0.0,
        ttfb_mean_ms=t[TTFB_SUM_US] / ttfb_n / 1000.0 if ttfb_n else 0.0,
        percentiles_ms=pct,
        ttfb_percentiles_ms=tpct,
    )


def endpoint_summaries(
    keys: Sequence[Key],
    totals: IntArray,
    hist: IntArray,
    ttfb: IntArray,
    duration: float,
    w_req: IntArray,
    w_fail: IntArray,
    span: int,
) -> list[EndpointSummary]:
    """Summaries of rows 0..len(keys)-1, in row order.

    `totals` is (7, rows) as `EndpointStore.totals`; `hist`/`ttfb` (rows,
    N_BUCKETS); `w_req`/`w_fail` the window's per-row counts.
    """
    n = len(keys)
    if n == 0:
        return []
    t = totals[:, :n]
    pct = _pct_dicts(percentile_rows(hist[:n], PERCENTILE_FRACTIONS, t[MIN_US], t[MAX_US_COL]))
    tpct = _pct_dicts(percentile_rows(ttfb[:n], PERCENTILE_FRACTIONS))
    lines = t.T.tolist()
    ttfb_n = ttfb[:n].sum(axis=1).tolist()
    wr, wf = w_req[:n].tolist(), w_fail[:n].tolist()
    return [
        _summary(keys[r], lines[r], ttfb_n[r], duration, wr[r], wf[r], span, pct[r], tpct[r])
        for r in range(n)
    ]


def total_summary(
    totals: IntArray,
    hist: IntArray,
    ttfb: IntArray,
    n: int,
    duration: float,
    w_requests: int,
    w_failures: int,
    span: int,
) -> EndpointSummary:
    """The "Aggregated" summary over rows 0..n-1."""
    t = totals[:, :n]
    line = [int(x) for x in t.sum(axis=1).tolist()]
    live = t[REQUESTS] > 0
    if live.any():
        line[MIN_US] = int(t[MIN_US][live].min())
        line[MAX_US_COL] = int(t[MAX_US_COL][live].max())
        bounds: tuple[float | None, float | None] = (line[MIN_US], line[MAX_US_COL])
    else:
        line[MIN_US] = line[MAX_US_COL] = 0
        bounds = (None, None)
    h = hist[:n].sum(axis=0)
    th = ttfb[:n].sum(axis=0)
    pct = percentiles_of_counts(h, PERCENTILE_FRACTIONS, *bounds)
    tpct = percentiles_of_counts(th, PERCENTILE_FRACTIONS)
    return _summary(
        ("", "Aggregated"),
        line,
        int(th.sum()),
        duration,
        w_requests,
        w_failures,
        span,
        {k: v / 1000.0 for k, v in zip(PERCENTILE_KEYS, pct, strict=True)},
        {k: v / 1000.0 for k, v in zip(PERCENTILE_KEYS, tpct, strict=True)},
    )
