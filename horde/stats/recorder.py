"""The producer side: `RequestStats`, what every request is recorded into.

One instance per process. `record` is the hot path (called once per request):
one dict lookup of (method, name) to an `_Entry` with `__slots__`, a few
integer increments and list appends. Everything costly (min, max, sums,
binning into histograms) happens once per interval in `take_delta`, on whole
buffers at once with numpy.

Invariants:

* between two `take_delta` calls, `_entries` holds exactly the endpoints with
  at least one request since the previous call, and each entry's `lat` list
  holds one latency per request (`len(lat) == requests`);
* `ttfb` holds only positive TTFBs (0 means no response byte came, which
  would drag the mean towards zero);
* `take_delta` swaps in fresh containers before building the delta, so a
  record that happens while a delta is being built (there is none in a single
  event loop, but a callback could) lands in the next delta, never nowhere.
"""

from __future__ import annotations

import traceback as tb

import numpy as np

from horde.stats.delta import EndpointDelta, ErrorDelta, ExceptionDelta, StatsDelta
from horde.stats.histogram import N_BUCKETS, IntArray, as_int_array, bucket_index

__all__ = ["RequestStats", "MAX_ERROR_CHARS", "exception_key"]

MAX_ERROR_CHARS = 500
"""Longer error strings are cut: a page-long message must not become a key per request."""

_MAX_TRACEBACK_CHARS = 20_000


class _Entry:
    __slots__ = ("requests", "failures", "bytes", "lat", "ttfb")

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        self.bytes = 0
        self.lat: list[int] = []
        self.ttfb: list[int] = []


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


def _binned(values: list[int]) -> tuple[IntArray, IntArray, IntArray]:
    """(clamped values, non-empty bucket indices, their counts) of a buffer."""
    arr = as_int_array(values)
    dense = np.bincount(bucket_index(arr), minlength=N_BUCKETS)
    idx = np.flatnonzero(dense).astype(np.int64)
    return arr, idx, dense[idx].astype(np.int64)


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
        entry.requests += 1
        entry.bytes += size
        entry.lat.append(latency_us)
        if ttfb_us > 0:
            entry.ttfb.append(ttfb_us)
        if error is not None:
            entry.failures += 1
            ekey = (method, name, error[:MAX_ERROR_CHARS])
            errors = self._errors
            errors[ekey] = errors.get(ekey, 0) + 1

    def record_exception(self, where: str, exc: BaseException) -> None:
        """Count a task that raised; the first traceback of each kind is kept."""
        key = (where, exception_key(exc))
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
            lat, idx, cnt = _binned(e.lat)
            if e.ttfb:
                ttfb, t_idx, t_cnt = _binned(e.ttfb)
                ttfb_sum = int(ttfb.sum())
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
                    min_us=int(lat.min()),
                    max_us=int(lat.max()),
                    sum_us=int(lat.sum()),
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
