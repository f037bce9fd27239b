"""Dense per-endpoint storage of a `StatsAggregate`: histograms per delta, counters batched.

One row per (method, name), allocated on first sight and kept until reset:

* ``totals``: (7, cap) int64, one line per counter (`COUNTER_FIELDS` order
  up to ttfb_sum_us); the min line holds `NO_MIN` while a row has no request;
* ``hist`` / ``ttfb``: (cap, N_BUCKETS) int64 bucket counts of the whole run.

Merging (`push`, once per delta or report) adds the histograms at once,
with one `np.add.at` per target over the whole delta, and queues the small
counter matrix; `flush` adds every queued counter matrix in one batch. A
master merges hundreds of reports a second: per-endpoint numpy calls would
cost far more than the arithmetic, and the 7 counter updates per report
would too, so they run once per second (or per `MAX_PENDING` rows).

Invariants:

* `row_of[keys[r]] == r`; rows are only ever added, so the rows cached per
  key tuple by `rows_for` stay right until the store is replaced (reset);
* histograms (`hist`, `ttfb`, the ring's) are final after every `push`;
  counters after `flush()`; pending batches are checked, only waiting;
* `flush` adds window counts into the `SecondRing` slots recorded at push
  time; the caller flushes before recycling a slot (`StatsAggregate._slot`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from horde.stats.columns import (
    BYTES,
    FAILURES,
    MAX_US_COL,
    MIN_US,
    N_HIST,
    N_TTFB,
    REQUESTS,
    SUM_US,
    TTFB_SUM_US,
    Key,
)
from horde.stats.histogram import N_BUCKETS, IntArray
from horde.stats.window import SecondRing

__all__ = ["EndpointStore", "NO_MIN", "MAX_PENDING", "ADDITIVE", "MAX_ENDPOINTS", "OTHER_NAME"]

MAX_ENDPOINTS = 2_000
"""Distinct (method, name) rows kept; later names are counted under OTHER_NAME.

Each row holds two dense histograms (~27 KB). A script that requests
generated URLs without `name=` would otherwise grow memory and snapshot time
without bound (20,000 names: ~1 GB and a second per snapshot)."""
OTHER_NAME = "(other names)"

NO_MIN = np.iinfo(np.int64).max
"""Min line of a row without requests (so np.minimum.at needs no special case)."""

MAX_PENDING = 1 << 16
"""Flush once this many endpoint rows are pending (about 5 MB of counters)."""

ADDITIVE = (REQUESTS, FAILURES, BYTES, SUM_US, TTFB_SUM_US)
"""Counter columns that merge by addition (requests, failures, bytes, sum_us, ttfb_sum_us)."""

_N_TOTALS = 7
_MAX_CACHED = 4096
"""Distinct endpoint-key tuples remembered by `rows_for` (a few per worker)."""


class _Batch:
    __slots__ = ("rows", "counters", "slot")

    def __init__(self, rows: IntArray, counters: IntArray, slot: int) -> None:
        self.rows = rows
        self.counters = counters
        self.slot = slot


class EndpointStore:
    """Rows of per-endpoint totals and histograms; see the module docstring."""

    __slots__ = (
        "keys", "row_of", "totals", "hist", "ttfb", "_pending", "_n_pending", "_rows_cache",
        "_overflowed",
    )  # fmt: skip

    def __init__(self) -> None:
        self.keys: list[Key] = []
        self.row_of: dict[Key, int] = {}
        self._overflowed = False
        self.totals: IntArray = self._new_totals(0)
        self.hist: IntArray = np.zeros((0, N_BUCKETS), dtype=np.int64)
        self.ttfb: IntArray = np.zeros((0, N_BUCKETS), dtype=np.int64)
        self._pending: list[_Batch] = []
        self._n_pending = 0
        self._rows_cache: dict[tuple[Key, ...], IntArray] = {}

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
        """Row of each key, adding rows for new keys (growing the arrays).

        A worker sends the same endpoints in the same order report after
        report, so the answer is cached by the whole key tuple: one hash of
        the tuple instead of a lookup per key and a new array each time.
        """
        whole = tuple(keys)
        cached = self._rows_cache.get(whole)
        if cached is not None:
            return cached
        row_of = self.row_of
        rows = [row_of[k] if k in row_of else self._add_row(k) for k in whole]
        out: IntArray = np.array(rows, dtype=np.int64)
        out.flags.writeable = False  # shared by every later call with these keys
        if len(self._rows_cache) >= _MAX_CACHED:
            self._rows_cache.clear()  # a producer with ever-changing endpoint sets
        self._rows_cache[whole] = out
        return out

    @property
    def overflowed(self) -> bool:
        """True once a name beyond MAX_ENDPOINTS was folded into OTHER_NAME."""
        return self._overflowed

    def _add_row(self, key: Key) -> int:
        if len(self.keys) >= MAX_ENDPOINTS and key[1] != OTHER_NAME:
            self._overflowed = True
            other = (key[0], OTHER_NAME)
            row = self.row_of[other] if other in self.row_of else self._add_row(other)
            self.row_of[key] = row  # later reports of this name go straight there
            return row
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
        """Merge checked columns for `rows`, counted in ring slot `slot` (-1: totals only).

        Histograms are added at once: a report's few thousand pairs fit in
        cache, and adding them here beats concatenating a second's worth
        (measured 2x, bench/merge_cost.py). The counters are a 9-column
        matrix per delta and are queued until `flush`.
        """
        if not rows.size:
            return
        base = rows * N_BUCKETS
        if idx.size:
            flat = np.repeat(base, counters[:, N_HIST])
            flat += idx
            np.add.at(self.hist.reshape(-1), flat, cnt)
            if slot >= 0:
                np.add.at(ring.hist[slot], idx, cnt)
        if t_idx.size:
            flat = np.repeat(base, counters[:, N_TTFB])
            flat += t_idx
            np.add.at(self.ttfb.reshape(-1), flat, t_cnt)
        self._pending.append(_Batch(rows, counters, slot))
        self._n_pending += int(rows.size)
        if self._n_pending >= MAX_PENDING:
            self.flush(ring)

    def flush(self, ring: SecondRing) -> None:
        """Add every queued counter; afterwards every array is final."""
        pending, self._pending = self._pending, []
        self._n_pending = 0
        if not pending:
            return
        rows: IntArray = np.concatenate([b.rows for b in pending])
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
