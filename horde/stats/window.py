"""Per-test-second counts for the sliding window: a small ring of dense arrays.

For each kept test-second the ring holds one slot: requests and failures per
endpoint row, and the histogram of all endpoints together (window
percentiles are over all requests; per-endpoint windows only need rates, so
no per-row histogram is kept per second).

Time is the caller's test time in whole seconds. The kept seconds are those
after ``latest - 2 * window_s`` (`latest` = newest second seen), so with
``2 * window_s + 1`` slots and slot = t_s % slots they never collide.

Invariants:

* `seconds` maps each kept second to its slot, and only kept seconds;
* a slot's arrays hold exactly what was added for its current second:
  `open` zeroes it, and its caller first flushes anything still pending
  for the second that used the slot before;
* `req`/`fail` have at least as many columns as any row added to them
  (`ensure_rows`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from horde.stats.histogram import N_BUCKETS, IntArray

__all__ = ["SecondRing"]


class SecondRing:
    """The last ``2 * window_s`` test-seconds; see the module docstring."""

    __slots__ = ("window_s", "size", "hist", "req", "fail", "seconds", "t0", "latest")

    def __init__(self, window_s: int) -> None:
        self.window_s = window_s
        self.size = 2 * window_s + 1
        self.hist: IntArray = np.zeros((self.size, N_BUCKETS), dtype=np.int64)
        self.req: IntArray = np.zeros((self.size, 0), dtype=np.int64)
        self.fail: IntArray = np.zeros((self.size, 0), dtype=np.int64)
        self.seconds: dict[int, int] = {}
        self.t0: int | None = None  # first test-second seen: start of the window
        self.latest: int | None = None  # newest test-second seen

    def see(self, t_s: int) -> None:
        self.t0 = t_s if self.t0 is None else min(self.t0, t_s)
        self.latest = t_s if self.latest is None else max(self.latest, t_s)

    def expired(self, t_s: int) -> bool:
        """True when t_s is too old to be kept (its counts go to the totals only)."""
        return self.latest is not None and t_s <= self.latest - 2 * self.window_s

    def open(self, t_s: int) -> int:
        """Start kept second t_s in its slot, from zero; the caller flushed before."""
        self.prune()
        slot = t_s % self.size
        self.hist[slot] = 0
        self.req[slot] = 0
        self.fail[slot] = 0
        self.seconds[t_s] = slot
        return slot

    def prune(self) -> None:
        if self.latest is None:
            return
        oldest = self.latest - 2 * self.window_s
        for t in [t for t in self.seconds if t <= oldest]:
            del self.seconds[t]

    def ensure_rows(self, n: int) -> None:
        if n > self.req.shape[1]:
            cap = max(16, 2 * self.req.shape[1], n)
            for name in ("req", "fail"):
                old = getattr(self, name)
                new = np.zeros((self.size, cap), dtype=np.int64)
                new[:, : old.shape[1]] = old
                setattr(self, name, new)

    def add_counts(
        self, slots: IntArray, rows: IntArray, requests: IntArray, failures: IntArray
    ) -> None:
        """Add per-row requests/failures; entries with slot -1 are skipped."""
        if rows.size:
            self.ensure_rows(int(rows.max()) + 1)
        keep = slots >= 0
        if not bool(keep.all()):
            slots, rows = slots[keep], rows[keep]
            requests, failures = requests[keep], failures[keep]
        flat = slots * self.req.shape[1] + rows
        np.add.at(self.req.reshape(-1), flat, requests)
        np.add.at(self.fail.reshape(-1), flat, failures)

    def add_hist(self, slots: IntArray, idx: npt.NDArray[np.integer], counts: IntArray) -> None:
        """Add (bucket, count) pairs to each pair's slot histogram; slot -1 is skipped."""
        keep = slots >= 0
        if not bool(keep.all()):
            slots, idx, counts = slots[keep], idx[keep], counts[keep]
        np.add.at(self.hist.reshape(-1), slots * N_BUCKETS + idx, counts)

    def window(self, end: int) -> tuple[IntArray, IntArray, IntArray, int]:
        """(requests per row, failures per row, histogram, span in s) of the window ending at end.

        The window is the `window_s` seconds up to `end`, cut at the first
        second ever seen; its span is that length (0 before anything was seen).
        """
        n = self.req.shape[1]
        if self.t0 is None or end < self.t0:
            zeros = np.zeros(n, dtype=np.int64)
            return zeros, zeros.copy(), np.zeros(N_BUCKETS, dtype=np.int64), 0
        start = max(end - self.window_s + 1, self.t0)
        slots = [s for t, s in self.seconds.items() if start <= t <= end]
        req: IntArray = self.req[slots].sum(axis=0)
        fail: IntArray = self.fail[slots].sum(axis=0)
        hist: IntArray = self.hist[slots].sum(axis=0)
        return req, fail, hist, end - start + 1
