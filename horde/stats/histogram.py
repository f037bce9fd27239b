"""Log-linear (HDR-style) latency histogram of integer microseconds.

Bucket layout (fixed, shared by every process so arrays merge by index):

* values 0..127 each have their own bucket (exact);
* every power of two [2^e, 2^(e+1)) with e >= 7 is split into 64 equal
  sub-buckets of width 2^(e-6).

A bucket of width W starts at a value >= 64*W, so its midpoint is within
W/2 / (64*W) = 1/128 (0.78 %) of every value in it: every percentile is within
1 % of the exact order statistic. Values are clamped to [0, MAX_US] (one hour),
which gives `N_BUCKETS` = 1708 buckets; a dense int64 array of that size is
13.7 KB, small enough to keep one per endpoint.

Invariants:

* `record(us)` is a single list append (the hot path); nothing else is done
  until `fold()`, which bins the whole buffer at once with numpy;
* every reader (`count`, `percentile`, `to_arrays`, ...) folds first, so the
  buffer is never visible from outside;
* `min`/`max`/`total` are exact for recorded values (after clamping); for
  counts added through `add_arrays` without exact figures they fall back to
  bucket bounds / midpoints.

Percentile definition (q in [0, 1]): the smallest recorded value v such that
at least ceil(q * count) samples are <= v, reported as its bucket midpoint
clamped to [min, max]; q = 0 gives min and q = 1 gives max exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt

__all__ = [
    "Histogram",
    "MAX_US",
    "N_BUCKETS",
    "bucket_index",
    "bucket_lower",
    "bucket_upper",
    "bucket_mid",
    "rank_for",
    "percentile_of_counts",
    "percentiles_of_counts",
    "check_arrays",
    "as_int_array",
    "bucket_index_clamped",
    "IntArray",
]

IntArray = npt.NDArray[np.int64]

_SUB_BITS = 6  # 64 sub-buckets per power of two -> 1/128 relative error at midpoints
_SUB = 1 << _SUB_BITS
MAX_US = 3_600_000_000  # one hour; anything longer is a hung request anyway


def _index_of(value: int) -> int:
    """Scalar twin of `bucket_index`, for constants."""
    shift = max(value.bit_length() - (_SUB_BITS + 1), 0)
    return (shift << _SUB_BITS) + (value >> shift)


N_BUCKETS = _index_of(MAX_US) + 1  # 1708


def bucket_index(values: npt.ArrayLike) -> IntArray:
    """Bucket index of each value (vectorised); values are clamped to [0, MAX_US]."""
    return bucket_index_clamped(np.clip(np.asarray(values, dtype=np.int64), 0, MAX_US))


def bucket_index_clamped(v: IntArray) -> IntArray:
    """`bucket_index` of int64 values already within [0, MAX_US] (no copy to clamp)."""
    # frexp gives the bit length exactly for integers < 2^53.
    _, bits = np.frexp(v.astype(np.float64))
    shift = bits.astype(np.int64)
    shift -= _SUB_BITS + 1
    np.maximum(shift, 0, out=shift)
    # For v < 128 shift is 0 and the index is v itself; above, the index is
    # 64*shift + (v >> shift) where (v >> shift) lies in [64, 128).
    idx: IntArray = (shift << _SUB_BITS) + (v >> shift)
    return idx


def _shift_of(idx: IntArray) -> IntArray:
    return np.maximum(idx // _SUB - 1, 0)


def bucket_lower(idx: npt.ArrayLike) -> IntArray:
    """Smallest value that falls into each bucket index."""
    i = np.asarray(idx, dtype=np.int64)
    shift = _shift_of(i)
    lower: IntArray = (i - (shift << _SUB_BITS)) << shift
    return lower


def bucket_upper(idx: npt.ArrayLike) -> IntArray:
    """Largest value that falls into each bucket index."""
    i = np.asarray(idx, dtype=np.int64)
    upper: IntArray = bucket_lower(i) + (np.int64(1) << _shift_of(i)) - 1
    return upper


def bucket_mid(idx: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Midpoint of each bucket (what percentiles report)."""
    i = np.asarray(idx, dtype=np.int64)
    mid: npt.NDArray[np.float64] = (bucket_lower(i) + bucket_upper(i)) / 2.0
    return mid


def rank_for(q: float | Fraction, count: int) -> int:
    """ceil(q * count) computed exactly (0.07 * 100 is 7, not 8), at least 1."""
    if not 0 <= q <= 1:
        raise ValueError(f"percentile q must be in [0, 1], got {q!r}")
    # Fraction(repr(q)) is the decimal the caller wrote, so float noise in
    # q * count cannot push the rank past an integer.
    exact = q if isinstance(q, Fraction) else Fraction(repr(float(q)))
    return max(1, math.ceil(exact * count))


def percentile_of_counts(
    counts: IntArray,
    q: float,
    lo: float | None = None,
    hi: float | None = None,
    *,
    exact_ends: bool = True,
) -> float:
    """Percentile `q` (µs) of a dense count array; 0.0 when it is empty.

    `lo`/`hi` bound the values (the result is clamped to them). With
    `exact_ends` they are the exact min and max of these very counts and are
    returned as such for q = 0 and for the top rank; pass False when they are
    only bounds (e.g. the whole run's extremes for a window of it).
    """
    cum = np.cumsum(counts)
    total = int(cum[-1]) if cum.size else 0
    if total == 0:
        return 0.0
    if exact_ends and q == 0.0 and lo is not None:
        return float(lo)
    rank = rank_for(q, total)
    if exact_ends and rank >= total and hi is not None:
        return float(hi)
    idx = int(np.searchsorted(cum, rank, side="left"))
    value = float(bucket_mid(idx))
    if lo is not None:
        value = max(value, float(lo))
    if hi is not None:
        value = min(value, float(hi))
    return value


def percentiles_of_counts(
    counts: IntArray,
    qs: Sequence[float | Fraction],
    lo: float | None = None,
    hi: float | None = None,
    *,
    exact_ends: bool = True,
) -> list[float]:
    """`percentile_of_counts` for several q at once (one cumulative sum, one search)."""
    cum = np.cumsum(counts)
    total = int(cum[-1]) if cum.size else 0
    if total == 0:
        return [0.0] * len(qs)
    ranks = np.asarray([rank_for(q, total) for q in qs], dtype=np.int64)
    values = bucket_mid(np.searchsorted(cum, ranks, side="left"))
    if lo is not None or hi is not None:
        values = np.clip(values, lo, hi)
    out: list[float] = values.tolist()
    if exact_ends:
        for i, (q, rank) in enumerate(zip(qs, ranks.tolist(), strict=True)):
            if q == 0 and lo is not None:
                out[i] = float(lo)
            elif rank >= total and hi is not None:
                out[i] = float(hi)
    return out


def as_int_array(buf: list[int]) -> IntArray:
    """A buffer of recorded values as int64, clamped to [0, MAX_US] (floats rounded)."""
    arr = np.asarray(buf)
    if arr.dtype.kind not in "iub":  # floats, or ints beyond int64 (an object array)
        arr = np.rint(np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=MAX_US, neginf=0.0))
    out: IntArray = np.clip(arr, 0, MAX_US).astype(np.int64)
    return out


class Histogram:
    """One latency distribution; see the module docstring for the layout."""

    __slots__ = ("_buf", "_counts", "_count", "_min", "_max", "_total", "record")

    def __init__(self) -> None:
        self._buf: list[int] = []
        self._counts: IntArray | None = None  # allocated at the first fold with data
        self._count = 0
        self._min = 0
        self._max = 0
        self._total = 0
        # The bound append itself, so a record is one call with no extra frame.
        self.record = self._buf.append
        """record(us): append one value (µs); binned at the next fold()."""

    # --- producing ---------------------------------------------------------

    def fold(self) -> None:
        """Bin everything recorded since the last fold into the count array."""
        if not self._buf:
            return
        arr = as_int_array(self._buf)
        self._buf.clear()  # keep the same list: `record` is bound to it
        self._add_exact(arr)

    def _add_exact(self, arr: IntArray) -> None:
        counts = self._dense()
        counts += np.bincount(bucket_index(arr), minlength=N_BUCKETS)
        lo, hi = int(arr.min()), int(arr.max())
        self._min = lo if self._count == 0 else min(self._min, lo)
        self._max = hi if self._count == 0 else max(self._max, hi)
        self._count += int(arr.size)
        self._total += int(arr.sum())

    def _dense(self) -> IntArray:
        if self._counts is None:
            self._counts = np.zeros(N_BUCKETS, dtype=np.int64)
        return self._counts

    def add_arrays(
        self,
        indices: npt.ArrayLike,
        counts: npt.ArrayLike,
        *,
        min_us: int | None = None,
        max_us: int | None = None,
        total_us: int | None = None,
    ) -> None:
        """Add (bucket index, count) pairs, e.g. decoded from the wire.

        The exact min/max/sum of those samples may be given; otherwise bucket
        bounds and midpoints stand in for them. Raises ValueError for indices
        outside [0, N_BUCKETS) or negative counts, before changing anything.
        """
        idx = np.asarray(indices, dtype=np.int64).ravel()
        cnt = np.asarray(counts, dtype=np.int64).ravel()
        check_arrays(idx, cnt)
        n = int(cnt.sum())
        if n == 0:
            return
        self.fold()
        np.add.at(self._dense(), idx, cnt)
        nz = idx[cnt > 0]
        lo = int(bucket_lower(nz.min())) if min_us is None else int(min_us)
        hi = int(bucket_upper(nz.max())) if max_us is None else int(max_us)
        if total_us is None:
            total_us = int(round(float((bucket_mid(idx) * cnt).sum())))
        self._min = lo if self._count == 0 else min(self._min, lo)
        self._max = hi if self._count == 0 else max(self._max, hi)
        self._count += n
        self._total += int(total_us)

    def merge(self, other: Histogram) -> None:
        """Add every sample of `other` (exact: bucket counts add)."""
        other.fold()
        if other._count == 0:
            return
        self.fold()
        assert other._counts is not None
        self._dense()
        self._counts += other._counts  # type: ignore[operator]
        self._min = other._min if self._count == 0 else min(self._min, other._min)
        self._max = other._max if self._count == 0 else max(self._max, other._max)
        self._count += other._count
        self._total += other._total

    # --- reading -----------------------------------------------------------

    def to_arrays(self) -> tuple[IntArray, IntArray]:
        """(indices, counts) of the non-empty buckets, both int64, indices ascending."""
        self.fold()
        if self._counts is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        idx = np.flatnonzero(self._counts).astype(np.int64)
        return idx, self._counts[idx].copy()

    def dense_counts(self) -> IntArray:
        """A copy of the full count array (N_BUCKETS int64)."""
        self.fold()
        return np.zeros(N_BUCKETS, np.int64) if self._counts is None else self._counts.copy()

    def percentile(self, q: float) -> float:
        """Percentile q in [0, 1] in µs (0.0 when empty); within 1 % of exact."""
        self.fold()
        if self._counts is None or self._count == 0:
            rank_for(q, 1)  # still validate q
            return 0.0
        return percentile_of_counts(self._counts, q, self._min, self._max)

    @property
    def count(self) -> int:
        self.fold()
        return self._count

    @property
    def min(self) -> int:
        """Smallest value (µs), 0 when empty."""
        self.fold()
        return self._min

    @property
    def max(self) -> int:
        """Largest value (µs), 0 when empty."""
        self.fold()
        return self._max

    @property
    def total(self) -> int:
        """Sum of all values (µs), for the mean."""
        self.fold()
        return self._total

    def mean(self) -> float:
        """Mean in µs, 0.0 when empty."""
        n = self.count
        return self._total / n if n else 0.0

    def reset(self) -> None:
        self._buf.clear()
        self._counts = None
        self._count = self._min = self._max = self._total = 0

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, min={self._min}, max={self._max})"


def check_arrays(idx: IntArray, cnt: IntArray) -> None:
    """Raise ValueError unless idx/cnt are a valid (index, count) pair."""
    if idx.shape != cnt.shape:
        raise ValueError(f"indices and counts differ in length: {idx.size} != {cnt.size}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= N_BUCKETS):
        raise ValueError(f"histogram bucket index outside [0, {N_BUCKETS})")
    if cnt.size and int(cnt.min()) < 0:
        raise ValueError("negative histogram count")
