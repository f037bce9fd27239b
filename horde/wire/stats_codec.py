"""`horde.stats.StatsDelta` <-> `StatsReport`, the columnar wire form of a delta.

On the master, **`merge_report(aggregate, report, t_s)` is the one call per
received report**: it hands the report's buffers, read in place, to
`StatsAggregate.apply_columns`, without building a `StatsDelta` or any
object per endpoint, and returns the number of requests merged.
`delta_from_wire` remains for whoever wants the delta itself.

Invariants:

* ``delta_from_wire(delta_to_wire(d, ...))`` equals ``d`` field for field
  (arrays compared by value);
* `delta_to_wire` sends the column form of `StatsReport`; both readers also
  accept the row form (``endpoints``) and treat both alike;
* reading a report costs a fixed handful of numpy calls whatever its
  endpoint count (plus, for `delta_from_wire`, one slice per endpoint);
* both readers validate everything with `horde.stats.columns.check_columns`
  and raise `horde.errors.ProtocolError`, never anything else, for a report
  the aggregate would refuse; `merge_report` then changes nothing, and it
  merges exactly what ``apply(delta_from_wire(report), t_s)`` merges.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import numpy.typing as npt
from msgspec.structs import astuple

from horde.errors import ProtocolError
from horde.stats import (
    EndpointDelta,
    ErrorDelta,
    ExceptionDelta,
    StatsAggregate,
    StatsDelta,
)
from horde.stats.columns import (
    N_HIST,
    N_TTFB,
    Key,
    check_columns,
    columns_of_delta,
)
from horde.stats.histogram import IntArray
from horde.wire.messages import (
    CNT_DTYPE,
    IDX_DTYPE,
    N_COUNTERS,
    ErrorCount,
    ExceptionCount,
    StatsReport,
)

__all__ = ["delta_to_wire", "delta_from_wire", "merge_report"]


def delta_to_wire(delta: StatsDelta, *, test_id: str, seq: int) -> StatsReport:
    """The report a worker sends for ``delta`` (its ``seq``-th of test ``test_id``).

    Raises ValueError for a delta the master would refuse (e.g. a bucket
    index beyond the histogram layout): better found where it was made.
    """
    keys, counters, idx, cnt, t_idx, t_cnt = columns_of_delta(delta)
    check_columns(keys, counters, idx, cnt, t_idx, t_cnt)
    return StatsReport(
        test_id=test_id,
        seq=seq,
        methods=[k[0] for k in keys],
        names=[k[1] for k in keys],
        counters=counters.astype(CNT_DTYPE, copy=False).tobytes(),
        hist_idx=idx.astype(IDX_DTYPE).tobytes(),
        hist_cnt=cnt.astype(CNT_DTYPE, copy=False).tobytes(),
        ttfb_idx=t_idx.astype(IDX_DTYPE).tobytes(),
        ttfb_cnt=t_cnt.astype(CNT_DTYPE, copy=False).tobytes(),
        errors=[ErrorCount(e.method, e.name, e.error, e.count) for e in delta.errors],
        exceptions=[
            ExceptionCount(x.where, x.error, x.traceback, x.count) for x in delta.exceptions
        ],
    )


_Raw = tuple[list[Key], npt.NDArray[np.integer], npt.NDArray[np.integer],
             npt.NDArray[np.integer], npt.NDArray[np.integer], npt.NDArray[np.integer]]  # fmt: skip


def _columns(report: StatsReport) -> _Raw:
    """The report's columns as read-only arrays over its buffers, not yet range-checked."""
    if report.endpoints:  # the row form
        rows = [astuple(ep) for ep in report.endpoints]
        keys: list[Key] = [r[:2] for r in rows]
        # EndpointCounters' numeric fields are COUNTER_FIELDS, in order.
        counters: npt.NDArray[np.integer] = np.fromiter(
            chain.from_iterable([r[2:] for r in rows]),
            dtype=np.int64,
            count=N_COUNTERS * len(rows),
        ).reshape(len(rows), N_COUNTERS)
    else:
        keys = list(zip(report.methods, report.names, strict=True))
        counters = np.frombuffer(report.counters, dtype=CNT_DTYPE).reshape(len(keys), N_COUNTERS)
    return (
        keys,
        counters,
        np.frombuffer(report.hist_idx, dtype=IDX_DTYPE),
        np.frombuffer(report.hist_cnt, dtype=CNT_DTYPE),
        np.frombuffer(report.ttfb_idx, dtype=IDX_DTYPE),
        np.frombuffer(report.ttfb_cnt, dtype=CNT_DTYPE),
    )


def _refused(report: StatsReport, exc: Exception) -> ProtocolError:
    return ProtocolError(f"stats report {report.seq}: {exc}")


def merge_report(aggregate: StatsAggregate, report: StatsReport, t_s: int) -> int:
    """Merge ``report`` into ``aggregate`` in test-second ``t_s``; return its request count.

    ``t_s`` is the master's test time. Equivalent to
    ``aggregate.apply(delta_from_wire(report), t_s)`` at a fraction of the
    cost. Raises `ProtocolError`, leaving the aggregate unchanged, for
    anything the aggregate would refuse (bucket index beyond the layout,
    negative or absurd counts, buffers not matching the bucket counts).
    """
    try:
        keys, counters, idx, cnt, t_idx, t_cnt = _columns(report)
        # apply_columns checks everything before changing anything
        return aggregate.apply_columns(
            keys, counters, idx, cnt, t_idx, t_cnt, t_s, report.errors, report.exceptions
        )
    except (ValueError, OverflowError) as exc:  # OverflowError: a counter beyond int64
        raise _refused(report, exc) from None


def delta_from_wire(report: StatsReport) -> StatsDelta:
    """The `StatsDelta` a report carries, ready for `StatsAggregate.apply`."""
    try:
        keys, *arrays = _columns(report)
        counters, idx, cnt, t_idx, t_cnt, _ = check_columns(keys, *arrays)
    except (ValueError, OverflowError) as exc:
        raise _refused(report, exc) from None
    idx64: IntArray = idx.astype(np.int64)
    t_idx64: IntArray = t_idx.astype(np.int64)
    ends = np.cumsum(counters[:, N_HIST]).tolist()
    t_ends = np.cumsum(counters[:, N_TTFB]).tolist()
    endpoints = []
    a = b = 0
    for (method, name), c, a2, b2 in zip(keys, counters.tolist(), ends, t_ends, strict=True):
        endpoints.append(
            EndpointDelta(
                method=method,
                name=name,
                requests=c[0],
                failures=c[1],
                bytes=c[2],
                min_us=c[3],
                max_us=c[4],
                sum_us=c[5],
                hist_idx=idx64[a:a2],
                hist_cnt=cnt[a:a2],
                ttfb_sum_us=c[6],
                ttfb_idx=t_idx64[b:b2],
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
