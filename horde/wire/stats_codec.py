"""`horde.stats.StatsDelta` <-> `StatsReport`, the columnar wire form of a delta.

On the master, `merge_report(aggregate, report, t_s)` is the one call per
received report: it hands the report's columns to
`StatsAggregate.apply_columns` without building a `StatsDelta` or any other
per-endpoint object beyond one tuple each (the buffers are read in place).
`delta_from_wire` remains for whoever wants the delta itself.

Invariants:

* ``delta_from_wire(delta_to_wire(d, ...))`` equals ``d`` field for field
  (arrays compared by value);
* reading a report costs a fixed handful of numpy calls plus one slice per
  endpoint: all histograms of a report share four buffers;
* `delta_from_wire` raises `horde.errors.ProtocolError` (never anything else)
  for bucket indices outside the histogram layout or negative counts, so the
  master can hand the result to `StatsAggregate.apply` as is;
* `merge_report` merges exactly what ``apply(delta_from_wire(report), t_s)``
  merges, or raises `ProtocolError` and changes nothing.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
from msgspec.structs import astuple

from horde.errors import ProtocolError
from horde.stats import (
    N_BUCKETS,
    EndpointDelta,
    ErrorDelta,
    ExceptionDelta,
    StatsAggregate,
    StatsDelta,
)
from horde.stats.columns import COUNTER_FIELDS
from horde.stats.histogram import IntArray
from horde.wire.messages import (
    CNT_DTYPE,
    IDX_DTYPE,
    EndpointCounters,
    ErrorCount,
    ExceptionCount,
    StatsReport,
)

__all__ = ["delta_to_wire", "delta_from_wire", "merge_report"]

_N_COUNTERS = len(COUNTER_FIELDS)


def _join(arrays: list[IntArray], dtype: str) -> bytes:
    if not arrays:
        return b""
    return np.concatenate(arrays).astype(dtype, copy=False).tobytes()


def delta_to_wire(delta: StatsDelta, *, test_id: str, seq: int) -> StatsReport:
    """The report a worker sends for ``delta`` (its ``seq``-th of test ``test_id``)."""
    endpoints = []
    for ep in delta.endpoints:
        if ep.hist_idx.size and int(ep.hist_idx.max()) >= N_BUCKETS:
            raise ValueError(f"bucket index beyond the histogram layout in {ep.name!r}")
        endpoints.append(
            EndpointCounters(
                method=ep.method,
                name=ep.name,
                requests=ep.requests,
                failures=ep.failures,
                bytes=ep.bytes,
                min_us=ep.min_us,
                max_us=ep.max_us,
                sum_us=ep.sum_us,
                ttfb_sum_us=ep.ttfb_sum_us,
                n_hist=int(ep.hist_idx.size),
                n_ttfb=int(ep.ttfb_idx.size),
            )
        )
    return StatsReport(
        test_id=test_id,
        seq=seq,
        endpoints=endpoints,
        hist_idx=_join([ep.hist_idx for ep in delta.endpoints], IDX_DTYPE),
        hist_cnt=_join([ep.hist_cnt for ep in delta.endpoints], CNT_DTYPE),
        ttfb_idx=_join([ep.ttfb_idx for ep in delta.endpoints], IDX_DTYPE),
        ttfb_cnt=_join([ep.ttfb_cnt for ep in delta.endpoints], CNT_DTYPE),
        errors=[ErrorCount(e.method, e.name, e.error, e.count) for e in delta.errors],
        exceptions=[
            ExceptionCount(x.where, x.error, x.traceback, x.count) for x in delta.exceptions
        ],
    )


def _columns(idx_buf: bytes, cnt_buf: bytes, what: str) -> tuple[IntArray, IntArray]:
    idx: IntArray = np.frombuffer(idx_buf, dtype=IDX_DTYPE).astype(np.int64)
    cnt: IntArray = np.frombuffer(cnt_buf, dtype=CNT_DTYPE).astype(np.int64)
    if idx.shape != cnt.shape:  # StatsReport checks this; a hand-built one might not
        raise ProtocolError(f"{what}: {idx.size} indices but {cnt.size} counts")
    if idx.size and int(idx.max()) >= N_BUCKETS:
        raise ProtocolError(f"{what}: bucket index beyond the histogram layout")
    if cnt.size and int(cnt.min()) < 0:
        raise ProtocolError(f"{what}: negative bucket count")
    return idx, cnt


def delta_from_wire(report: StatsReport) -> StatsDelta:
    """The `StatsDelta` a report carries, ready for `StatsAggregate.apply`."""
    idx, cnt = _columns(report.hist_idx, report.hist_cnt, "histogram")
    t_idx, t_cnt = _columns(report.ttfb_idx, report.ttfb_cnt, "ttfb histogram")
    if (
        sum(ep.n_hist for ep in report.endpoints) != idx.size
        or sum(ep.n_ttfb for ep in report.endpoints) != t_idx.size
    ):
        raise ProtocolError("histogram buffers do not match the endpoints' bucket counts")
    endpoints = []
    a = b = 0
    for ep in report.endpoints:
        a2, b2 = a + ep.n_hist, b + ep.n_ttfb
        endpoints.append(
            EndpointDelta(
                method=ep.method,
                name=ep.name,
                requests=ep.requests,
                failures=ep.failures,
                bytes=ep.bytes,
                min_us=ep.min_us,
                max_us=ep.max_us,
                sum_us=ep.sum_us,
                hist_idx=idx[a:a2],
                hist_cnt=cnt[a:a2],
                ttfb_sum_us=ep.ttfb_sum_us,
                ttfb_idx=t_idx[b:b2],
                ttfb_cnt=t_cnt[b:b2],
            )
        )
        a, b = a2, b2
    return StatsDelta(
        endpoints=tuple(endpoints),
        errors=tuple(ErrorDelta(e.method, e.name, e.error, e.count) for e in report.errors),
        exceptions=tuple(
            ExceptionDelta(x.where, x.error, x.traceback, x.count) for x in report.exceptions
        ),
    )


def merge_report(aggregate: StatsAggregate, report: StatsReport, t_s: int) -> None:
    """Merge ``report`` into ``aggregate`` in test-second ``t_s`` (the master's clock).

    Equivalent to ``aggregate.apply(delta_from_wire(report), t_s)``, at a
    fraction of the cost. Raises `ProtocolError`, leaving the aggregate
    unchanged, for anything the aggregate would refuse (bucket index beyond
    the layout, negative or absurd counts, buffers not matching the counts).
    """
    rows = [astuple(ep) for ep in report.endpoints]
    keys = [(r[0], r[1]) for r in rows]
    try:
        # EndpointCounters' numeric fields are COUNTER_FIELDS, in order.
        counters = np.fromiter(
            chain.from_iterable([r[2:] for r in rows]),
            dtype=np.int64,
            count=_N_COUNTERS * len(rows),
        ).reshape(len(rows), _N_COUNTERS)
        aggregate.apply_columns(
            keys,
            counters,
            np.frombuffer(report.hist_idx, dtype=IDX_DTYPE),
            np.frombuffer(report.hist_cnt, dtype=CNT_DTYPE),
            np.frombuffer(report.ttfb_idx, dtype=IDX_DTYPE),
            np.frombuffer(report.ttfb_cnt, dtype=CNT_DTYPE),
            t_s,
            report.errors,
            report.exceptions,
        )
    except (ValueError, OverflowError) as exc:  # OverflowError: a counter beyond int64
        raise ProtocolError(f"stats report {report.seq}: {exc}") from None
