"""Dense per-endpoint storage of a `StatsAggregate`, fed in batches.

One row per (method, name), allocated on first sight and kept until reset:

* ``totals``: (7, cap) int64, one line per counter (`COUNTER_FIELDS` order
  up to ttfb_sum_us); the min line holds `NO_MIN` while a row has no request;
* ``hist`` / ``ttfb``: (cap, N_BUCKETS) int64 bucket counts of the whole run.

Merging is batched: `push` (once per delta or report) only appends the
checked arrays and their rows to a pending list; `flush` concatenates every
pending batch and adds them with one `np.add.at` per target. A master merges
hundreds of reports a second, and numpy's per-call overhead, not the
arithmetic, is what costs there; one flush per second (or per
`MAX_PENDING` buckets, which bounds the memory held) pays it once.

Invariants:

* `row_of[keys[r]] == r`; rows are only ever added;
* after `flush()` nothing is pending and every array is final; before it,
  pending batches are complete, checked and only waiting to be added;
* `flush` adds window counts into the `SecondRing` slots recorded at push
  time; the caller flushes before recycling a slot (`StatsAggregate._second`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from horde.stats.columns import (
    FAILURES,
    MAX_US_COL,
    MIN_US,
    N_HIST,
    N_TTFB,
    REQUESTS,
    Key,
)
from horde.stats.histogram import N_BUCKETS, IntArray
from horde.stats.window import SecondRing

__all__ = ["EndpointStore", "NO_MIN", "MAX_PENDING", "ADDITIVE"]

NO_MIN = np.iinfo(np.int64).max
"""Min line of a row without requests (so np.minimum.at needs no special case)."""

MAX_PENDING = 1 << 20
"""Flush once this many bucket pairs are pending (about 16 MB of arrays)."""

ADDITIVE = (0, 1, 2, 5, 6)
"""Counter columns that merge by addition (requests, failures, bytes, sum_us, ttfb_sum_us)."""

_N_TOTALS = 7


class _Batch:
    __slots__ = ("rows", "counters", "slot", "idx", "cnt", "t_idx", "t_cnt")

    def __init__(
        self,
        rows: IntArray,
        counters: IntArray,
        slot: int,
        idx: npt.NDArray[np.integer],
        cnt: IntArray,
        t_idx: npt.NDArray[np.integer],
        t_cnt: IntArray,
    ) -> None:
        self.rows = rows
        self.counters = counters
        self.slot = slot
        self.idx = idx
        self.cnt = cnt
        self.t_idx = t_idx
        self.t_cnt = t_cnt


def _cat(parts: list[npt.NDArray[np.integer]]) -> IntArray:
    out: IntArray = np.concatenate(parts).astype(np.int64, copy=False)
    return out


class EndpointStore:
    """Rows of per-endpoint totals and histograms; see the module docstring."""

    __slots__ = ("keys", "row_of", "totals", "hist", "ttfb", "_pending", "_n_pending")

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.row_of: dict[Key, int] = {}
        self.totals: IntArray = self._new_totals(0)
        self.hist: IntArray = np.zeros((0, N_BUCKETS), dtype=np.int64)
        self.ttfb: IntArray = np.zeros((0, N_BUCKETS), dtype=np.int64)
        self._pending: list[_Batch] = []
        self._n_pending = 0

    @staticmethod
    def _new_totals(cap: int) -> IntArray:
        totals = np.zeros((_N_TOTALS, cap), dtype=np.int64)
        totals[MIN_US] = NO_MIN
        return totals

    @property
    def n(self) -> int:
        """Number of rows in use."""
        return len(self.keys)

    @property
    def capacity(self) -> int:
        return int(self.hist.shape[0])

    def rows_for(self, keys: Sequence[Key]) -> IntArray:
        """Row of each key, adding rows for new keys (growing the arrays)."""
        row_of = self.row_of
        try:
            rows = [row_of[k] for k in keys]
        except KeyError:
            rows = [row_of[k] if k in row_of else self._add_row(k) for k in keys]
        out: IntArray = np.array(rows, dtype=np.int64)
        return out

    def _add_row(self, key: Key) -> int:
        row = len(self.keys)
        if row >= self.capacity:
            # Double the arrays: rows are rare (one per endpoint), so copies are too.
            # Pending batches hold row numbers, not views, so they stay valid.
            cap = max(16, 2 * self.capacity)
            totals = self._new_totals(cap)
            totals[:, :row] = self.totals[:, :row]
            self.totals = totals
            for name in ("hist", "ttfb"):
                old = getattr(self, name)
                new = np.zeros((cap, N_BUCKETS), dtype=np.int64)
                new[:row] = old[:row]
                setattr(self, name, new)
        self.keys.append(key)
        self.row_of[key] = row
        return row

    def push(
        self,
        rows: IntArray,
        counters: IntArray,
        slot: int,
        idx: npt.NDArray[np.integer],
        cnt: IntArray,
        t_idx: npt.NDArray[np.integer],
        t_cnt: IntArray,
        ring: SecondRing,
    ) -> None:
        """Queue checked columns for `rows`, counted in ring slot `slot` (-1: totals only)."""
        if not rows.size:
            return
        self._pending.append(_Batch(rows, counters, slot, idx, cnt, t_idx, t_cnt))
        self._n_pending += int(idx.size + t_idx.size) + int(rows.size)
        if self._n_pending >= MAX_PENDING:
            self.flush(ring)

    def flush(self, ring: SecondRing) -> None:
        """Add everything pending; afterwards every array is final."""
        pending, self._pending = self._pending, []
        self._n_pending = 0
        if not pending:
            return
        rows = _cat([b.rows for b in pending])
        counters = np.concatenate([b.counters for b in pending])
        lens = np.array([b.rows.size for b in pending], dtype=np.int64)
        slots = np.repeat(np.array([b.slot for b in pending], dtype=np.int64), lens)
        cap = self.capacity
        flat_totals = self.totals.reshape(-1)
        has = counters[:, REQUESTS] > 0
        for col in ADDITIVE:
            np.add.at(flat_totals, col * cap + rows, counters[:, col])
        np.minimum.at(flat_totals, MIN_US * cap + rows[has], counters[has, MIN_US])
        np.maximum.at(flat_totals, MAX_US_COL * cap + rows[has], counters[has, MAX_US_COL])
        ring.add_counts(slots, rows, counters[:, REQUESTS], counters[:, FAILURES])

        n_hist = counters[:, N_HIST]
        idx = _cat([b.idx for b in pending])
        cnt = _cat([b.cnt for b in pending])
        np.add.at(self.hist.reshape(-1), np.repeat(rows * N_BUCKETS, n_hist) + idx, cnt)
        ring.add_hist(np.repeat(slots, n_hist), idx, cnt)

        t_idx = _cat([b.t_idx for b in pending])
        t_cnt = _cat([b.t_cnt for b in pending])
        n_ttfb = counters[:, N_TTFB]
        np.add.at(self.ttfb.reshape(-1), np.repeat(rows * N_BUCKETS, n_ttfb) + t_idx, t_cnt)
