"""The producer side: `RequestStats`, what every request is recorded into.

One instance per process. `record` is the hot path (called once per request):
one dict lookup of (method, name) to an `_Entry` with `__slots__`, a few
integer increments and list appends. Everything costly (min, max, sums,
binning into histograms) happens on whole buffers at once with numpy: when
an endpoint's buffer reaches `SLICE` requests (a bit test of the request
count, in `record` itself, so no callback is scheduled) and in `take_delta`
for what is left.

Why slices: folding is a burst during which no response is read. Folded once
per second, a busy process stalled for the whole second's samples at once
(200,000 samples: tens of ms on a shared core, see BENCHMARKS.md); folded
every `SLICE` samples, each stall is bounded by one slice (a fraction of a
millisecond) whatever the rate, and the per-second fold handles at most
`SLICE - 1` samples per endpoint. The total work is the same. `array('q')`
buffers would make the list→numpy conversion free but cost `record` about
23 ns per append (two per request), more than the whole conversion saves.

Invariants:

* between two `take_delta` calls, `_entries` holds exactly the endpoints with
  at least one request since the previous call, and each entry's latencies
  are either in its `lat` list or folded into `lat_fold` (together one per
  request: `len(lat) + lat_fold.count == requests`);
* `ttfb` (and `ttfb_fold`) hold only positive TTFBs (0 means no response
  byte came, which would drag the mean towards zero);
* latencies are ints (the RecordFn contract); anything else that numpy can
  read as a number still folds (floats truncated, NaN as 0, huge clamped).
* `take_delta` swaps in fresh containers before building the delta, so a
  record that happens while a delta is being built (there is none in a single
  event loop, but a callback could) lands in the next delta, never nowhere.
"""

from __future__ import annotations

import traceback as tb

import numpy as np

from horde.stats.delta import EndpointDelta, ErrorDelta, ExceptionDelta, StatsDelta
from horde.stats.histogram import (
    MAX_US,
    N_BUCKETS,
    IntArray,
    as_int_array,
    bucket_index_clamped,
)

__all__ = ["RequestStats", "MAX_ERROR_CHARS", "SLICE", "exception_key", "MAX_DELTA_ERRORS",
           "MAX_DELTA_EXCEPTIONS"]

SLICE = 4096
"""An endpoint's buffers are folded every SLICE requests (a power of two)."""
_SLICE_MASK = SLICE - 1

MAX_ERROR_CHARS = 500
"""Longer error strings are cut: a page-long message must not become a key per request."""
MAX_DELTA_ERRORS = 10_000
"""Distinct errors in one delta; more are pooled (the master keeps fewer per run anyway,
and a report must stay within what the wire accepts, `horde.wire.messages`)."""
MAX_DELTA_EXCEPTIONS = 1_000
_POOLED = ("", "", "(other errors: too many distinct ones to list)")
_POOLED_EXC = ("", "(other exceptions: too many distinct ones to list)")

_MAX_TRACEBACK_CHARS = 20_000


def _as_int64(values: list[int]) -> IntArray:
    """A buffer as int64 in [0, MAX_US]: one C pass (`fromiter`) for plain ints."""
    try:
        arr = np.fromiter(values, np.int64, len(values))
    except (TypeError, ValueError, OverflowError):  # NaN, inf, ints beyond int64, ...
        return as_int_array(values)
    if arr.min() < 0 or arr.max() > MAX_US:
        arr = np.clip(arr, 0, MAX_US)
    return arr


class _Fold:
    """Exact count/min/max/sum and dense bucket counts of the values folded so far."""

    __slots__ = ("count", "min", "max", "sum", "dense")

    def __init__(self) -> None:
        self.count = 0
        self.min = MAX_US
        self.max = 0
        self.sum = 0
        self.dense: IntArray = np.zeros(N_BUCKETS, dtype=np.int64)

    def add(self, values: list[int]) -> None:
        if not values:
            return
        arr = _as_int64(values)
        self.count += arr.size
        self.min = min(self.min, int(arr.min()))
        self.max = max(self.max, int(arr.max()))
        self.sum += int(arr.sum())
        self.dense += np.bincount(bucket_index_clamped(arr), minlength=N_BUCKETS)

    def arrays(self) -> tuple[IntArray, IntArray]:
        """(non-empty bucket indices, their counts), both int64."""
        idx = np.flatnonzero(self.dense).astype(np.int64)
        return idx, self.dense[idx]


class _Entry:
    __slots__ = ("requests", "failures", "bytes", "lat", "ttfb", "lat_fold", "ttfb_fold")

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        self.bytes = 0
        self.lat: list[int] = []
        self.ttfb: list[int] = []
        # Made by the first slice (busy endpoints only), else by take_delta.
        self.lat_fold: _Fold | None = None
        self.ttfb_fold: _Fold | None = None

    def fold_slice(self) -> _Fold:
        """Fold both buffers into the running folds and empty them; returns lat's fold."""
        lat_fold = self.lat_fold
        if lat_fold is None:
            lat_fold = self.lat_fold = _Fold()
        lat_fold.add(self.lat)
        self.lat = []
        if self.ttfb:
            ttfb_fold = self.ttfb_fold
            if ttfb_fold is None:
                ttfb_fold = self.ttfb_fold = _Fold()
            ttfb_fold.add(self.ttfb)
            self.ttfb = []
        return lat_fold


class _Exc:
    __slots__ = ("traceback", "count")

    def __init__(self, traceback: str) -> None:
        self.traceback = traceback
        self.count = 0


def exception_key(exc: BaseException) -> str:
    """The "ExcType: message" string that groups equal exceptions."""
    message = str(exc)
    name = type(exc).__name__
    text = f"{name}: {message}" if message else name
    return text[:MAX_ERROR_CHARS]


class RequestStats:
    """Per-process recorder; `record` matches `horde.stats.RecordFn`."""

    __slots__ = ("_entries", "_errors", "_exceptions")

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._errors: dict[tuple[str, str, str], int] = {}
        self._exceptions: dict[tuple[str, str], _Exc] = {}

    def record(
        self,
        method: str,
        name: str,
        latency_us: int,
        size: int,
        error: str | None,
        ttfb_us: int,
    ) -> None:
        """Record one request (see docs/dev/contracts.md for the arguments)."""
        key = (method, name)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        requests = entry.requests + 1
        entry.requests = requests
        entry.bytes += size
        entry.lat.append(latency_us)
        if ttfb_us > 0:
            entry.ttfb.append(ttfb_us)
        if error is not None:
            entry.failures += 1
            ekey = (method, name, error[:MAX_ERROR_CHARS])
            errors = self._errors
            if ekey not in errors and len(errors) >= MAX_DELTA_ERRORS:
                ekey = _POOLED
            errors[ekey] = errors.get(ekey, 0) + 1
        if not requests & _SLICE_MASK:
            entry.fold_slice()

    def record_exception(self, where: str, exc: BaseException) -> None:
        """Count a task that raised; the first traceback of each kind is kept."""
        key = (where, exception_key(exc))
        item = self._exceptions.get(key)
        if item is None and len(self._exceptions) >= MAX_DELTA_EXCEPTIONS:
            key = _POOLED_EXC
            item = self._exceptions.get(key)
        if item is None:
            text = "".join(tb.format_exception(exc))[-_MAX_TRACEBACK_CHARS:]
            item = self._exceptions[key] = _Exc(text)
        item.count += 1

    @property
    def pending_requests(self) -> int:
        """Requests recorded since the last delta (cheap; for tests and flushing)."""
        return sum(e.requests for e in self._entries.values())

    def take_delta(self) -> StatsDelta:
        """Everything since the previous call, binned; then forget it."""
        entries, self._entries = self._entries, {}
        errors, self._errors = self._errors, {}
        exceptions, self._exceptions = self._exceptions, {}
        endpoints = []
        for (method, name), e in sorted(entries.items()):
            lat = e.fold_slice()
            idx, cnt = lat.arrays()
            ttfb = e.ttfb_fold
            if ttfb is not None:
                t_idx, t_cnt = ttfb.arrays()
                ttfb_sum = ttfb.sum
            else:
                t_idx = t_cnt = np.zeros(0, dtype=np.int64)
                ttfb_sum = 0
            endpoints.append(
                EndpointDelta(
                    method=method,
                    name=name,
                    requests=e.requests,
                    failures=e.failures,
                    bytes=e.bytes,
                    min_us=lat.min,
                    max_us=lat.max,
                    sum_us=lat.sum,
                    hist_idx=idx,
                    hist_cnt=cnt,
                    ttfb_sum_us=ttfb_sum,
                    ttfb_idx=t_idx,
                    ttfb_cnt=t_cnt,
                )
            )
        return StatsDelta(
            endpoints=tuple(endpoints),
            errors=tuple(ErrorDelta(m, n, err, c) for (m, n, err), c in sorted(errors.items())),
            exceptions=tuple(
                ExceptionDelta(where, err, x.traceback, x.count)
                for (where, err), x in sorted(exceptions.items())
            ),
        )
