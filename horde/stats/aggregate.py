"""The consumer side: `StatsAggregate` merges deltas into run-wide statistics.

Used by the local runner (one producer) and by the master (hundreds of
workers x dozens of endpoints per second). Merging is exact: histogram counts
add. It is also cheap at that scale because `apply` only does per-endpoint
scalar sums and queues the (index, count) arrays; the queued arrays are added
in one vectorised `np.add.at` on a flat (rows x buckets) matrix when somebody
reads (`close_second`, `snapshot`), not once per delta.

Time is the caller's test time in whole seconds (`t_s`), never a wall clock.
Deltas for a second may arrive late or several per second; each is counted in
the run totals whenever it arrives, and in the sliding window only while its
second is still kept (the last `2 * window_s` seconds).

Invariants:

* row r of `_hist`/`_ttfb` belongs to `_keys[r]` and `_cum[_keys[r]]`; rows
  are only ever added (reset() starts over);
* after `_flush()` the pending queues are empty and every matrix count is
  final; before it, scalar counters are already final;
* `apply` validates the whole delta before changing anything, so a malformed
  delta raises ValueError and leaves the aggregate as it was.
"""

from __future__ import annotations

import numpy as np

from horde.stats.delta import StatsDelta
from horde.stats.histogram import (
    N_BUCKETS,
    IntArray,
    check_arrays,
    percentile_of_counts,
    percentiles_of_counts,
)
from horde.stats.snapshot import (
    PERCENTILE_FRACTIONS,
    PERCENTILE_KEYS,
    EndpointSummary,
    ErrorSummary,
    ExceptionSummary,
    HistoryRow,
    StatsSnapshot,
)

__all__ = ["StatsAggregate", "DEFAULT_WINDOW_S"]

DEFAULT_WINDOW_S = 10

_Key = tuple[str, str]


class _Cum:
    """Cumulative scalars of one endpoint (histograms live in the matrices)."""

    __slots__ = ("row", "requests", "failures", "bytes", "min_us", "max_us", "sum_us",
                 "ttfb_sum_us")  # fmt: skip

    def __init__(self, row: int) -> None:
        self.row = row
        self.requests = self.failures = self.bytes = 0
        self.min_us = self.max_us = self.sum_us = 0
        self.ttfb_sum_us = 0


class _ExcCum:
    __slots__ = ("traceback", "count")

    def __init__(self, traceback: str) -> None:
        self.traceback = traceback
        self.count = 0


class _Second:
    """What arrived for one test-second: per-row counts; its histogram is ring row `slot`."""

    __slots__ = ("requests", "failures", "slot")

    def __init__(self, slot: int) -> None:
        self.requests: dict[int, int] = {}
        self.failures: dict[int, int] = {}
        self.slot = slot


class _Queue:
    """Pending histogram additions: (row, second slot, indices, counts) per endpoint delta.

    Draining concatenates everything once and adds it with one `np.add.at`
    per target matrix: with thousands of small arrays per second, numpy's
    per-call overhead, not the arithmetic, is the cost to avoid.
    """

    __slots__ = ("rows", "slots", "lens", "idx", "cnt")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.slots: list[int] = []  # -1: second too old for the window
        self.lens: list[int] = []
        self.idx: list[IntArray] = []
        self.cnt: list[IntArray] = []

    def push(self, row: int, slot: int, idx: IntArray, cnt: IntArray) -> None:
        if idx.size:
            self.rows.append(row)
            self.slots.append(slot)
            self.lens.append(int(idx.size))
            self.idx.append(idx)
            self.cnt.append(cnt)

    def drain_into(self, matrix: IntArray, ring: IntArray | None = None) -> None:
        """Add to matrix[row] and, when given, to ring[slot] (the per-second totals)."""
        if not self.rows:
            return
        lens = np.asarray(self.lens, dtype=np.int64)
        idx = np.concatenate(self.idx)
        cnt = np.concatenate(self.cnt)
        rows = np.repeat(np.asarray(self.rows, dtype=np.int64), lens)
        np.add.at(matrix.reshape(-1), rows * N_BUCKETS + idx, cnt)
        if ring is not None:
            slots = np.repeat(np.asarray(self.slots, dtype=np.int64), lens)
            if min(self.slots) < 0:
                keep = slots >= 0
                slots, idx, cnt = slots[keep], idx[keep], cnt[keep]
            np.add.at(ring.reshape(-1), slots * N_BUCKETS + idx, cnt)
        for part in (self.rows, self.slots, self.lens, self.idx, self.cnt):
            part.clear()


def _ms(us: float) -> float:
    return us / 1000.0


def _pct_ms(values_us: list[float]) -> dict[str, float]:
    return {k: v / 1000.0 for k, v in zip(PERCENTILE_KEYS, values_us, strict=True)}


class StatsAggregate:
    """Run-wide statistics fed with `StatsDelta`s; read through `snapshot`."""

    def __init__(self, window_s: int = DEFAULT_WINDOW_S) -> None:
        if window_s < 1:
            raise ValueError("window_s must be >= 1")
        self.window_s = window_s
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new run, or the user pressed "reset stats")."""
        self._keys: list[_Key] = []
        self._cum: dict[_Key, _Cum] = {}
        self._hist: IntArray = np.zeros((0, N_BUCKETS), dtype=np.int64)
        self._ttfb: IntArray = np.zeros((0, N_BUCKETS), dtype=np.int64)
        self._q_hist = _Queue()
        self._q_ttfb = _Queue()
        self._errors: dict[tuple[str, str, str], int] = {}
        self._exceptions: dict[tuple[str, str], _ExcCum] = {}
        self._seconds: dict[int, _Second] = {}
        # One histogram row per kept second (slot = t_s % ring size): the kept
        # seconds span 2 * window_s, so slots never collide among them.
        self._ring: IntArray = np.zeros((2 * self.window_s + 1, N_BUCKETS), dtype=np.int64)
        self._history: list[HistoryRow] = []
        self._t0: int | None = None  # first test-second seen: start of the window
        self._latest: int | None = None  # newest test-second seen
        self._last_closed: int | None = None

    # --- feeding -----------------------------------------------------------

    def apply(self, delta: StatsDelta, t_s: int) -> None:
        """Merge one producer's delta, counted in test-second `t_s`."""
        arrays = _checked(delta)
        t_s = int(t_s)
        self._see(t_s)
        second = self._second(t_s)
        slot = -1 if second is None else second.slot
        for ep, (idx, cnt, t_idx, t_cnt) in zip(delta.endpoints, arrays, strict=True):
            cum = self._cum.get((ep.method, ep.name))
            if cum is None:
                cum = self._add_row((ep.method, ep.name))
            if cum.requests == 0:
                cum.min_us, cum.max_us = ep.min_us, ep.max_us
            else:
                cum.min_us = min(cum.min_us, ep.min_us)
                cum.max_us = max(cum.max_us, ep.max_us)
            cum.requests += ep.requests
            cum.failures += ep.failures
            cum.bytes += ep.bytes
            cum.sum_us += ep.sum_us
            cum.ttfb_sum_us += ep.ttfb_sum_us
            self._q_hist.push(cum.row, slot, idx, cnt)
            self._q_ttfb.push(cum.row, -1, t_idx, t_cnt)
            if second is not None:
                r = cum.row
                second.requests[r] = second.requests.get(r, 0) + ep.requests
                if ep.failures:
                    second.failures[r] = second.failures.get(r, 0) + ep.failures
        for err in delta.errors:
            key = (err.method, err.name, err.error)
            self._errors[key] = self._errors.get(key, 0) + err.count
        for exc in delta.exceptions:
            item = self._exceptions.get((exc.where, exc.error))
            if item is None:
                item = self._exceptions[(exc.where, exc.error)] = _ExcCum(exc.traceback)
            item.count += exc.count

    def close_second(self, t_s: int, users: int) -> HistoryRow:
        """Append (and return) the history row for test-second `t_s`."""
        t_s = int(t_s)
        self._see(t_s)
        self._flush()
        requests, failures, hist, span = self._window(t_s)
        bounds = self._bounds()
        total_requests = sum(c.requests for c in self._cum.values())
        total_failures = sum(c.failures for c in self._cum.values())
        row = HistoryRow(
            t_s=t_s,
            users=int(users),
            rps=sum(requests.values()) / span if span else 0.0,
            fail_per_s=sum(failures.values()) / span if span else 0.0,
            p50_ms=_ms(percentile_of_counts(hist, 0.50, *bounds, exact_ends=False)),
            p95_ms=_ms(percentile_of_counts(hist, 0.95, *bounds, exact_ends=False)),
            p99_ms=_ms(percentile_of_counts(hist, 0.99, *bounds, exact_ends=False)),
            total_requests=total_requests,
            total_failures=total_failures,
        )
        self._history.append(row)
        self._last_closed = t_s if self._last_closed is None else max(self._last_closed, t_s)
        self._prune()
        return row

    # --- reading -----------------------------------------------------------

    def snapshot(self, now_s: float) -> StatsSnapshot:
        """Immutable summary; rates over `now_s` seconds of test time.

        "Current" figures use the window ending at the last closed second,
        or at int(now_s) when no second was closed yet.
        """
        self._flush()
        duration = max(float(now_s), 0.0)
        end = self._last_closed if self._last_closed is not None else int(now_s)
        w_req, w_fail, w_hist, span = self._window(end)
        endpoints = []
        for key in sorted(self._keys, key=lambda k: (k[1], k[0])):
            cum = self._cum[key]
            endpoints.append(
                self._summary(
                    key,
                    cum,
                    self._hist[cum.row],
                    self._ttfb[cum.row],
                    duration,
                    w_req.get(cum.row, 0),
                    w_fail.get(cum.row, 0),
                    span,
                )
            )
        total = self._total_summary(duration, w_req, w_fail, span)
        errors = [
            ErrorSummary(m, n, e, c)
            for (m, n, e), c in sorted(self._errors.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        exceptions = [
            ExceptionSummary(w, e, item.traceback, item.count)
            for (w, e), item in sorted(
                self._exceptions.items(), key=lambda kv: (-kv[1].count, kv[0])
            )
        ]
        bounds = self._bounds()
        current = _pct_ms(
            percentiles_of_counts(w_hist, PERCENTILE_FRACTIONS, *bounds, exact_ends=False)
        )
        return StatsSnapshot(
            endpoints=endpoints,
            total=total,
            errors=errors,
            exceptions=exceptions,
            history=list(self._history),
            duration_s=duration,
            current_percentiles_ms=current,
        )

    @property
    def total_requests(self) -> int:
        return sum(c.requests for c in self._cum.values())

    # --- internals ---------------------------------------------------------

    def _bounds(self) -> tuple[float | None, float | None]:
        """Exact min and max over the whole run: valid bounds for any window of it.

        Window histograms carry no exact extremes; clamping to these keeps a
        window percentile from reporting a bucket midpoint beyond the real max.
        """
        active = [c for c in self._cum.values() if c.requests]
        if not active:
            return None, None
        return float(min(c.min_us for c in active)), float(max(c.max_us for c in active))

    def _see(self, t_s: int) -> None:
        self._t0 = t_s if self._t0 is None else min(self._t0, t_s)
        self._latest = t_s if self._latest is None else max(self._latest, t_s)

    def _second(self, t_s: int) -> _Second | None:
        """The window bucket for t_s, or None when t_s is too old to be kept."""
        assert self._latest is not None
        if t_s <= self._latest - 2 * self.window_s:
            return None
        second = self._seconds.get(t_s)
        if second is None:
            # The slot may still hold an older, now expired second: settle the
            # queue, drop expired seconds, then start the slot from zero.
            self._flush()
            self._prune()
            slot = t_s % self._ring.shape[0]
            self._ring[slot] = 0
            second = self._seconds[t_s] = _Second(slot)
        return second

    def _prune(self) -> None:
        if self._latest is None:
            return
        oldest = self._latest - 2 * self.window_s
        for t in [t for t in self._seconds if t <= oldest]:
            del self._seconds[t]

    def _add_row(self, key: _Key) -> _Cum:
        row = len(self._keys)
        if row >= self._hist.shape[0]:
            # Double the matrices; rows are rare (one per endpoint), so the copy is too.
            cap = max(16, 2 * self._hist.shape[0])
            self._flush()
            for name in ("_hist", "_ttfb"):
                old = getattr(self, name)
                new = np.zeros((cap, N_BUCKETS), dtype=np.int64)
                new[: old.shape[0]] = old
                setattr(self, name, new)
        self._keys.append(key)
        cum = self._cum[key] = _Cum(row)
        return cum

    def _flush(self) -> None:
        self._q_hist.drain_into(self._hist, self._ring)
        self._q_ttfb.drain_into(self._ttfb)

    def _window(self, end: int) -> tuple[dict[int, int], dict[int, int], IntArray, int]:
        """Per-row requests, per-row failures, total histogram and length (s) of the window."""
        requests: dict[int, int] = {}
        failures: dict[int, int] = {}
        hist = np.zeros(N_BUCKETS, dtype=np.int64)
        if self._t0 is None or end < self._t0:
            return requests, failures, hist, 0
        start = max(end - self.window_s + 1, self._t0)
        for t in range(start, end + 1):
            second = self._seconds.get(t)
            if second is None:
                continue
            for r, n in second.requests.items():
                requests[r] = requests.get(r, 0) + n
            for r, n in second.failures.items():
                failures[r] = failures.get(r, 0) + n
            hist += self._ring[second.slot]
        return requests, failures, hist, end - start + 1

    def _summary(
        self,
        key: _Key,
        cum: _Cum,
        hist: IntArray,
        ttfb: IntArray,
        duration: float,
        w_requests: int,
        w_failures: int,
        span: int,
    ) -> EndpointSummary:
        n = cum.requests
        ttfb_n = int(ttfb.sum())
        lo, hi = (cum.min_us, cum.max_us) if n else (None, None)
        pct = _pct_ms(percentiles_of_counts(hist, PERCENTILE_FRACTIONS, lo, hi))
        tpct = _pct_ms(percentiles_of_counts(ttfb, PERCENTILE_FRACTIONS))
        return EndpointSummary(
            method=key[0],
            name=key[1],
            requests=n,
            failures=cum.failures,
            rps=n / duration if duration > 0 else 0.0,
            fail_per_s=cum.failures / duration if duration > 0 else 0.0,
            current_rps=w_requests / span if span else 0.0,
            current_fail_per_s=w_failures / span if span else 0.0,
            min_ms=_ms(cum.min_us) if n else 0.0,
            max_ms=_ms(cum.max_us) if n else 0.0,
            mean_ms=_ms(cum.sum_us / n) if n else 0.0,
            avg_size_bytes=cum.bytes / n if n else 0.0,
            ttfb_mean_ms=_ms(cum.ttfb_sum_us / ttfb_n) if ttfb_n else 0.0,
            percentiles_ms=pct,
            ttfb_percentiles_ms=tpct,
        )

    def _total_summary(
        self, duration: float, w_req: dict[int, int], w_fail: dict[int, int], span: int
    ) -> EndpointSummary:
        total = _Cum(-1)
        for cum in self._cum.values():
            if cum.requests:
                if total.requests == 0:
                    total.min_us, total.max_us = cum.min_us, cum.max_us
                total.min_us = min(total.min_us, cum.min_us)
                total.max_us = max(total.max_us, cum.max_us)
            total.requests += cum.requests
            total.failures += cum.failures
            total.bytes += cum.bytes
            total.sum_us += cum.sum_us
            total.ttfb_sum_us += cum.ttfb_sum_us
        rows = len(self._keys)
        return self._summary(
            ("", "Aggregated"),
            total,
            self._hist[:rows].sum(axis=0),
            self._ttfb[:rows].sum(axis=0),
            duration,
            sum(w_req.values()),
            sum(w_fail.values()),
            span,
        )


_MAX_COUNT = 1 << 48
"""Larger bucket counts are rejected: no producer sends that many per interval."""

_Arrays = tuple[IntArray, IntArray, IntArray, IntArray]
_INT64 = np.dtype(np.int64)


def _flat(a: object) -> IntArray:
    """`a` as a 1-D int64 array; arrays from RequestStats pass through untouched."""
    if type(a) is np.ndarray and a.dtype == _INT64 and a.ndim == 1:
        return a
    out: IntArray = np.asarray(a, dtype=np.int64).ravel()
    return out


def _checked(delta: StatsDelta) -> list[_Arrays]:
    """Each endpoint's four arrays as flat int64, or ValueError if anything is off.

    Range checks run once over the whole delta (one numpy call per check, not
    per endpoint: small-array calls dominate a master's merge otherwise).
    """
    out: list[_Arrays] = []
    for ep in delta.endpoints:
        idx, cnt = _flat(ep.hist_idx), _flat(ep.hist_cnt)
        t_idx, t_cnt = _flat(ep.ttfb_idx), _flat(ep.ttfb_cnt)
        if idx.shape != cnt.shape or t_idx.shape != t_cnt.shape:
            raise ValueError(f"indices and counts differ in length for {ep.method} {ep.name}")
        if ep.requests < 0 or ep.failures < 0 or ep.failures > ep.requests or ep.bytes < 0:
            raise ValueError(f"bad request/failure/byte counts for {ep.method} {ep.name}")
        out.append((idx, cnt, t_idx, t_cnt))
    if out:
        all_idx = np.concatenate([a for arrays in out for a in (arrays[0], arrays[2])])
        all_cnt = np.concatenate([a for arrays in out for a in (arrays[1], arrays[3])])
        check_arrays(all_idx, all_cnt)
        if all_cnt.size and int(all_cnt.max()) >= _MAX_COUNT:
            raise ValueError("histogram count too large")
    return out
