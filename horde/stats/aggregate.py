"""The consumer side: `StatsAggregate` merges deltas into run-wide statistics.

Used by the local runner (one producer) and by the master (hundreds of
workers x dozens of endpoints per second). Merging is exact: histogram
counts add, and both ways in share one storage, so they agree to the bit.

Two ways in:

* ``apply(delta, t_s)`` takes a `StatsDelta` (the local runner, tests);
* ``apply_columns(keys, counters, hist_idx, hist_cnt, ttfb_idx, ttfb_cnt,
  t_s, errors, exceptions)`` takes a delta in columns (`horde.stats.columns`)
  and builds no per-endpoint object at all. **The master should call
  ``requests = horde.wire.merge_report(aggregate, report, t_s)``** for every
  decoded `StatsReport` (it returns the report's request count and raises
  only `ProtocolError`): it feeds the report's buffers straight into
  `apply_columns`. Measured with bench/merge_cost.py, 50 endpoints x 50
  buckets: ~55-100 µs per report for decode + merge + amortised
  close_second and snapshot, against ~600 µs before; the old
  ``apply(delta_from_wire(report), t_s)`` keeps working at ~400 µs.

Cost model: a merge validates its columns with a fixed handful of numpy
reductions, maps its key tuple to rows (cached per distinct tuple), adds
its histograms with one `np.add.at` per target (row histograms, ttfb, the
second's window histogram) and queues its counter matrix
(`EndpointStore.push`); queued counters are added in one batch
(`EndpointStore.flush`) when a new test-second opens, when a reader needs
them (`close_second`, `snapshot`, `total_requests`), or every 65,536 rows.
Snapshots compute every endpoint's percentiles in one vectorised pass
(`horde.stats.summaries`): ~10 ms for 500 endpoints.

Time is the caller's test time in whole seconds (`t_s`), never a wall clock.
Deltas for a second may arrive late or several per second; each is counted in
the run totals whenever it arrives, and in the sliding window only while its
second is still kept (the last `2 * window_s` seconds, `SecondRing`).

Invariants:

* row r of the store belongs to ``store.keys[r]`` in the store and in the
  ring; rows are only ever added (reset() starts over);
* a merge validates everything before changing anything, so a malformed
  delta raises ValueError and leaves the aggregate as it was;
* readers flush first, so they see every merge made before them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from horde.stats.buckets import LatencyTable, check_edges, counts_below
from horde.stats.columns import (
    FAILURES,
    MAX_US_COL,
    MIN_US,
    REQUESTS,
    SUM_US,
    ErrorLike,
    ExceptionLike,
    Key,
    check_columns,
    columns_of_delta,
)
from horde.stats.delta import StatsDelta
from horde.stats.histogram import percentile_of_counts, percentiles_of_counts
from horde.stats.snapshot import (
    PERCENTILE_FRACTIONS,
    PERCENTILE_KEYS,
    ErrorSummary,
    ExceptionSummary,
    HistoryRow,
    StatsSnapshot,
)
from horde.stats.store import EndpointStore
from horde.stats.summaries import endpoint_summaries, total_summary
from horde.stats.window import SecondRing

__all__ = ["StatsAggregate", "DEFAULT_WINDOW_S", "MAX_ERRORS", "MAX_EXCEPTIONS", "OTHER_ERRORS",
           "OTHER_EXCEPTIONS"]

MAX_ERRORS = 1_000
"""Distinct (method, name, error) rows kept per run; later ones count under OTHER_ERRORS.

A peer (or a script) producing unique error texts must not grow the master
without bound: 50,000 unique errors once took a master from 59 MB to 990 MB.
"""
MAX_EXCEPTIONS = 200
"""Distinct (where, error) exceptions kept per run, each with one traceback."""
OTHER_ERRORS = "(other errors: too many distinct ones to list)"
OTHER_EXCEPTIONS = "(other exceptions: too many distinct ones to list)"
_MAX_KEPT_TRACEBACK = 20_000

DEFAULT_WINDOW_S = 10


class _ExcCum:
    __slots__ = ("traceback", "count")

    def __init__(self, traceback: str) -> None:
        self.traceback = traceback
        self.count = 0


def _ms(us: float) -> float:
    return us / 1000.0


class StatsAggregate:
    """Run-wide statistics fed with deltas; read through `snapshot`."""

    def __init__(self, window_s: int = DEFAULT_WINDOW_S) -> None:
        if window_s < 1:
            raise ValueError("window_s must be >= 1")
        self.window_s = window_s
        self.reset()

    @property
    def names_overflowed(self) -> bool:
        """More than MAX_ENDPOINTS distinct names came; the rest count as OTHER_NAME."""
        return self._store.overflowed

    @property
    def errors_overflowed(self) -> bool:
        """More than MAX_ERRORS errors or MAX_EXCEPTIONS exceptions came; the rest were pooled."""
        return self._errors_overflowed

    def reset(self) -> None:
        """Forget everything (a new run, or the user pressed "reset stats")."""
        self._store = EndpointStore()
        self._ring = SecondRing(self.window_s)
        self._errors: dict[tuple[str, str, str], int] = {}
        self._exceptions: dict[tuple[str, str], _ExcCum] = {}
        self._errors_overflowed = False
        self._history: list[HistoryRow] = []
        self._last_closed: int | None = None

    # --- feeding -----------------------------------------------------------

    def apply(self, delta: StatsDelta, t_s: int) -> None:
        """Merge one producer's delta, counted in test-second `t_s`."""
        keys, counters, idx, cnt, t_idx, t_cnt = columns_of_delta(delta)
        self.apply_columns(
            keys, counters, idx, cnt, t_idx, t_cnt, t_s, delta.errors, delta.exceptions
        )

    def apply_columns(
        self,
        keys: Sequence[Key],
        counters: npt.ArrayLike,
        hist_idx: npt.ArrayLike,
        hist_cnt: npt.ArrayLike,
        ttfb_idx: npt.ArrayLike,
        ttfb_cnt: npt.ArrayLike,
        t_s: int,
        errors: Iterable[ErrorLike] = (),
        exceptions: Iterable[ExceptionLike] = (),
    ) -> int:
        """Merge one producer's delta given in columns; return its number of requests.

        `counters` is (len(keys), 9) in `COUNTER_FIELDS` order; endpoint k
        owns the next ``counters[k, N_HIST]`` pairs of hist_idx/hist_cnt and
        ``counters[k, N_TTFB]`` of ttfb_idx/ttfb_cnt. Arrays are only read,
        never modified, and may be kept until the next flush (so read-only
        views of a received frame are fine). Raises ValueError, changing
        nothing, if any part is malformed (see `horde.stats.columns`).
        """
        c, idx, cnt, t_idx, t_cnt, requests = check_columns(
            keys, counters, hist_idx, hist_cnt, ttfb_idx, ttfb_cnt
        )
        t_s = int(t_s)
        slot = self._slot(t_s)
        store = self._store
        store.push(store.rows_for(keys), c, slot, idx, cnt, t_idx, t_cnt, self._ring)
        errs = self._errors
        for err in errors:
            key = (err.method, err.name, err.error)
            if key not in errs and len(errs) >= MAX_ERRORS:
                key = ("", "", OTHER_ERRORS)
                self._errors_overflowed = True
            errs[key] = errs.get(key, 0) + err.count
        excs = self._exceptions
        for exc in exceptions:
            ekey = (exc.where, exc.error)
            item = excs.get(ekey)
            if item is None:
                if len(excs) >= MAX_EXCEPTIONS:
                    ekey = ("", OTHER_EXCEPTIONS)
                    self._errors_overflowed = True
                    item = excs.get(ekey)
                if item is None:
                    item = excs[ekey] = _ExcCum(
                        exc.traceback[-_MAX_KEPT_TRACEBACK:] if ekey[1] != OTHER_EXCEPTIONS
                        else "")
            item.count += exc.count
        return requests

    def close_second(self, t_s: int, users: int) -> HistoryRow:
        """Append (and return) the history row for test-second `t_s`."""
        t_s = int(t_s)
        self._ring.see(t_s)
        self._flush()
        req, fail, hist, span = self._ring.window(t_s)
        bounds = self._bounds()
        totals = self._store.totals[:, : self._store.n]
        row = HistoryRow(
            t_s=t_s,
            users=int(users),
            rps=int(req.sum()) / span if span else 0.0,
            fail_per_s=int(fail.sum()) / span if span else 0.0,
            p50_ms=_ms(percentile_of_counts(hist, 0.50, *bounds, exact_ends=False)),
            p95_ms=_ms(percentile_of_counts(hist, 0.95, *bounds, exact_ends=False)),
            p99_ms=_ms(percentile_of_counts(hist, 0.99, *bounds, exact_ends=False)),
            total_requests=int(totals[REQUESTS].sum()),
            total_failures=int(totals[FAILURES].sum()),
        )
        self._history.append(row)
        self._last_closed = t_s if self._last_closed is None else max(self._last_closed, t_s)
        self._ring.prune()
        return row

    # --- reading -----------------------------------------------------------

    def snapshot(self, now_s: float) -> StatsSnapshot:
        """Immutable summary; rates over `now_s` seconds of test time.

        "Current" figures use the window ending at the last closed second,
        or at int(now_s) when no second was closed yet.
        """
        self._flush()
        store = self._store
        duration = max(float(now_s), 0.0)
        end = self._last_closed if self._last_closed is not None else int(now_s)
        w_req, w_fail, w_hist, span = self._ring.window(end)
        rows = store.n
        by_row = endpoint_summaries(
            store.keys, store.totals, store.hist, store.ttfb, duration, w_req, w_fail, span
        )
        order = sorted(range(rows), key=lambda r: (store.keys[r][1], store.keys[r][0]))
        total = total_summary(
            store.totals,
            store.hist,
            store.ttfb,
            rows,
            duration,
            int(w_req[:rows].sum()),
            int(w_fail[:rows].sum()),
            span,
        )
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
        current = percentiles_of_counts(
            w_hist, PERCENTILE_FRACTIONS, *self._bounds(), exact_ends=False
        )
        return StatsSnapshot(
            endpoints=[by_row[r] for r in order],
            total=total,
            errors=errors,
            exceptions=exceptions,
            history=list(self._history),
            duration_s=duration,
            current_percentiles_ms={
                k: v / 1000.0 for k, v in zip(PERCENTILE_KEYS, current, strict=True)
            },
        )

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        """Per-endpoint counters and latency counts below each edge (horde.stats.buckets).

        Cheaper than `snapshot` (no percentile, no sorting): what a metrics
        scrape needs. Raises ValueError for edges that are not bucket bounds.
        """
        edges = check_edges(edges_us)
        self._flush()
        store = self._store
        n = store.n
        hist = store.hist[:n]
        totals = store.totals[:, :n]

        def frozen(a: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
            out = np.array(a, dtype=np.int64)  # a copy: later merges must not show through
            out.flags.writeable = False
            return out

        return LatencyTable(
            edges_us=tuple(int(e) for e in edges),
            keys=tuple(store.keys),
            requests=frozen(totals[REQUESTS]),
            failures=frozen(totals[FAILURES]),
            count=frozen(hist.sum(axis=1)),
            sum_us=frozen(totals[SUM_US]),
            below=frozen(counts_below(hist, edges)),
        )

    @property
    def total_requests(self) -> int:
        self._flush()
        return int(self._store.totals[REQUESTS].sum())

    # --- internals ---------------------------------------------------------

    def _flush(self) -> None:
        self._store.flush(self._ring)
        self._ring.ensure_rows(self._store.n)

    def _slot(self, t_s: int) -> int:
        """The ring slot counting test-second t_s, or -1 when t_s is too old for the window."""
        ring = self._ring
        ring.see(t_s)
        slot = ring.seconds.get(t_s)
        if slot is not None:
            return slot
        if ring.expired(t_s):
            return -1
        # The slot may still hold an older, now expired second, and queued
        # counts may point at it: add those first, then start the slot anew.
        self._flush()
        return ring.open(t_s)

    def _bounds(self) -> tuple[float | None, float | None]:
        """Exact min and max over the whole run: valid bounds for any window of it.

        Window histograms carry no exact extremes; clamping to these keeps a
        window percentile from reporting a bucket midpoint beyond the real max.
        """
        store = self._store
        t = store.totals[:, : store.n]
        live = t[REQUESTS] > 0
        if not live.any():
            return None, None
        return float(t[MIN_US][live].min()), float(t[MAX_US_COL][live].max())
