"""The columnar form of a delta, which `StatsAggregate.apply_columns` merges.

A producer's delta for n endpoints is, in columns:

* ``keys``: n (method, name) pairs;
* ``counters``: an (n, 9) int64 matrix, one row per endpoint, columns in
  `COUNTER_FIELDS` order -- the numeric fields of
  `horde.wire.messages.EndpointCounters`, so a decoded report converts with
  one tuple per endpoint;
* ``hist_idx``/``hist_cnt``: every endpoint's (bucket index, count) pairs one
  after another, endpoint k owning ``counters[k, N_HIST]`` of them; likewise
  ``ttfb_idx``/``ttfb_cnt`` with ``counters[k, N_TTFB]``.

`check_columns` validates such a set in a fixed handful of numpy reductions
whatever the endpoint count, so the master pays per report, not per endpoint.
`columns_of_delta` builds the columns of a `StatsDelta` (the object path).

Invariants of checked columns: counters in [0, MAX_COUNTER), at most
N_BUCKETS (index, count) pairs per endpoint and histogram, failures <=
requests, segment lengths summing to the buffer lengths, bucket indices in
[0, N_BUCKETS), bucket counts in [0, MAX_BUCKET_COUNT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from horde.stats.delta import StatsDelta
from horde.stats.histogram import N_BUCKETS, IntArray

__all__ = [
    "COUNTER_FIELDS",
    "REQUESTS",
    "FAILURES",
    "BYTES",
    "MIN_US",
    "MAX_US_COL",
    "SUM_US",
    "TTFB_SUM_US",
    "N_HIST",
    "N_TTFB",
    "MAX_COUNTER",
    "MAX_BUCKET_COUNT",
    "ErrorLike",
    "ExceptionLike",
    "Key",
    "Columns",
    "Checked",
    "check_columns",
    "columns_of_delta",
]

COUNTER_FIELDS: tuple[str, ...] = (
    "requests", "failures", "bytes", "min_us", "max_us", "sum_us", "ttfb_sum_us",
    "n_hist", "n_ttfb",
)  # fmt: skip
"""Column order of a counters matrix (the numeric fields of EndpointCounters)."""

REQUESTS, FAILURES, BYTES, MIN_US, MAX_US_COL, SUM_US, TTFB_SUM_US, N_HIST, N_TTFB = range(9)

MAX_COUNTER = 1 << 56
"""Per-interval counters at or above this are rejected (72 PB, or 2,000 years of µs):
well beyond any real interval, and far enough below 2^63 that run totals cannot wrap."""

MAX_BUCKET_COUNT = 1 << 48
"""Larger bucket counts are rejected: no producer sends that many per interval."""

MAX_REQUESTS = 1 << 40
"""Requests (and failures) in one delta at or above this are rejected: a trillion requests
in one report interval is a forged report, not a fast worker (2**55 once got through)."""

_LIMITS = np.array([MAX_REQUESTS] * 2 + [MAX_COUNTER] * 5 + [N_BUCKETS + 1] * 2,
                   dtype=np.uint64)
"""Exclusive upper bound per counter column: an endpoint has at most N_BUCKETS
non-empty buckets, which also keeps the bucket-count sums exact."""

Key = tuple[str, str]


class ErrorLike(Protocol):
    """An error count: `horde.stats.ErrorDelta` or a decoded `horde.wire.ErrorCount`."""

    @property
    def method(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def error(self) -> str: ...
    @property
    def count(self) -> int: ...


class ExceptionLike(Protocol):
    """An exception count: `horde.stats.ExceptionDelta` or `horde.wire.ExceptionCount`."""

    @property
    def where(self) -> str: ...
    @property
    def error(self) -> str: ...
    @property
    def traceback(self) -> str: ...
    @property
    def count(self) -> int: ...


Columns = tuple[list[Key], IntArray, IntArray, IntArray, IntArray, IntArray]
"""(keys, counters, hist_idx, hist_cnt, ttfb_idx, ttfb_cnt)."""

Checked = tuple[IntArray, npt.NDArray[np.integer], IntArray, npt.NDArray[np.integer], IntArray, int]
"""(counters, hist_idx, hist_cnt, ttfb_idx, ttfb_cnt, total requests), validated."""

_U64 = np.dtype(np.uint64)
_I64 = np.dtype(np.int64)


def _ints(a: npt.ArrayLike, what: str) -> npt.NDArray[np.integer]:
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        if arr.size:
            raise ValueError(f"{what}: integers expected, got {arr.dtype}")
        arr = arr.astype(np.int64)
    return arr


def _below(a: npt.NDArray[np.integer], limit: int) -> bool:
    """All of `a` in [0, limit): one reduction (negative int64 viewed as uint64 is huge)."""
    if not a.size:
        return True
    if a.dtype.kind == "u":
        return int(a.max()) < limit
    if a.dtype != _I64 or not a.flags.c_contiguous:
        a = np.ascontiguousarray(a, dtype=np.int64)
    return int(a.view(_U64).max()) < limit


def check_columns(
    keys: Sequence[Key],
    counters: npt.ArrayLike,
    hist_idx: npt.ArrayLike,
    hist_cnt: npt.ArrayLike,
    ttfb_idx: npt.ArrayLike,
    ttfb_cnt: npt.ArrayLike,
) -> Checked:
    """The arrays as validated numpy arrays, or ValueError saying what is wrong.

    Returns (counters int64 (n, 9), hist_idx, hist_cnt int64, ttfb_idx,
    ttfb_cnt int64, total requests); index arrays keep their integer dtype
    (uint16 straight from the wire stays uint16, saving a copy).
    """
    try:
        c: IntArray = np.ascontiguousarray(counters, dtype=np.int64)
    except OverflowError:
        raise ValueError("endpoint counter beyond int64") from None
    n = len(keys)
    if n == 0 and c.size == 0:
        c = np.zeros((0, len(COUNTER_FIELDS)), dtype=np.int64)
    if c.shape != (n, len(COUNTER_FIELDS)):
        raise ValueError(f"counters must have shape ({n}, {len(COUNTER_FIELDS)}), got {c.shape}")
    idx = _ints(hist_idx, "histogram indices").ravel()
    cnt = _ints(hist_cnt, "histogram counts").ravel()
    t_idx = _ints(ttfb_idx, "ttfb indices").ravel()
    t_cnt = _ints(ttfb_cnt, "ttfb counts").ravel()
    if n and bool((c.view(_U64) >= _LIMITS).any()):  # negative int64 is a huge uint64
        raise ValueError("endpoint counter negative or too large")
    # Exact: the limits keep every column's sum far from wrapping, and the
    # bucket-count sums must be exact, or np.repeat could be asked for anything.
    sums = c.sum(axis=0).tolist() if n else [0] * len(COUNTER_FIELDS)
    if n and bool(np.greater(c[:, FAILURES], c[:, REQUESTS]).any()):
        raise ValueError("more failures than requests")
    if idx.shape != cnt.shape or t_idx.shape != t_cnt.shape:
        raise ValueError("bucket indices and counts differ in length")
    if sums[N_HIST] != idx.size or sums[N_TTFB] != t_idx.size:
        raise ValueError("histogram buffers do not match the endpoints' bucket counts")
    if not (_below(idx, N_BUCKETS) and _below(t_idx, N_BUCKETS)):
        raise ValueError(f"histogram bucket index outside [0, {N_BUCKETS})")
    if not (_below(cnt, MAX_BUCKET_COUNT) and _below(t_cnt, MAX_BUCKET_COUNT)):
        raise ValueError("histogram bucket count negative or too large")
    return (
        c,
        idx,
        cnt.astype(np.int64, copy=False),
        t_idx,
        t_cnt.astype(np.int64, copy=False),
        int(sums[REQUESTS]),
    )


def _cat(parts: list[IntArray]) -> IntArray:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    out: IntArray = np.concatenate(parts)
    return out


def _flat(a: npt.ArrayLike, what: str) -> IntArray:
    """`a` as 1-D int64; arrays from RequestStats or the wire pass through untouched."""
    if type(a) is np.ndarray and a.dtype == _I64 and a.ndim == 1:
        return a
    out: IntArray = _ints(a, what).ravel().astype(np.int64, copy=False)
    return out


def columns_of_delta(delta: StatsDelta) -> Columns:
    """The columns of `delta`'s endpoints (checked later by `check_columns`).

    Per-endpoint index/count lengths are checked here already: once
    concatenated, a mismatch could no longer be pinned on an endpoint.
    """
    keys: list[Key] = []
    rows: list[tuple[int, ...]] = []
    parts: tuple[list[IntArray], ...] = ([], [], [], [])
    for ep in delta.endpoints:
        what = f"{ep.method} {ep.name}"
        idx, cnt = _flat(ep.hist_idx, what), _flat(ep.hist_cnt, what)
        t_idx, t_cnt = _flat(ep.ttfb_idx, what), _flat(ep.ttfb_cnt, what)
        if idx.shape != cnt.shape or t_idx.shape != t_cnt.shape:
            raise ValueError(f"indices and counts differ in length for {what}")
        parts[0].append(idx)
        parts[1].append(cnt)
        parts[2].append(t_idx)
        parts[3].append(t_cnt)
        keys.append((ep.method, ep.name))
        rows.append(
            (ep.requests, ep.failures, ep.bytes, ep.min_us, ep.max_us, ep.sum_us,
             ep.ttfb_sum_us, idx.size, t_idx.size)
        )  # fmt: skip
    try:
        counters: IntArray = np.array(rows, dtype=np.int64).reshape(len(rows), 9)
    except OverflowError:
        raise ValueError("endpoint counter beyond int64") from None
    return (keys, counters, _cat(parts[0]), _cat(parts[1]), _cat(parts[2]), _cat(parts[3]))
