"""Statistics: histograms, per-endpoint entries, deltas, merge. stdlib + numpy only.

Producer: `RequestStats.record` (the `RecordFn` every request goes through),
`take_delta()` once per interval. Consumer: `StatsAggregate.apply(delta, t_s)`
or, without per-endpoint objects, `apply_columns(...)` (a delta as columns,
see `horde.stats.columns`; the master reaches it through
`horde.wire.merge_report`), then `close_second`, `snapshot` -> `StatsSnapshot`,
which reports read.
"""

from __future__ import annotations

from collections.abc import Callable

from horde.stats.aggregate import DEFAULT_WINDOW_S, StatsAggregate
from horde.stats.buckets import LatencyTable
from horde.stats.columns import COUNTER_FIELDS
from horde.stats.delta import EndpointDelta, ErrorDelta, ExceptionDelta, StatsDelta
from horde.stats.histogram import MAX_US, N_BUCKETS, Histogram
from horde.stats.recorder import RequestStats
from horde.stats.snapshot import (
    PERCENTILE_KEYS,
    EndpointSummary,
    ErrorSummary,
    ExceptionSummary,
    HistoryRow,
    StatsSnapshot,
)

__all__ = [
    "RecordFn",
    "Histogram",
    "MAX_US",
    "N_BUCKETS",
    "RequestStats",
    "StatsDelta",
    "EndpointDelta",
    "ErrorDelta",
    "ExceptionDelta",
    "StatsAggregate",
    "LatencyTable",
    "DEFAULT_WINDOW_S",
    "COUNTER_FIELDS",
    "StatsSnapshot",
    "EndpointSummary",
    "ErrorSummary",
    "ExceptionSummary",
    "HistoryRow",
    "PERCENTILE_KEYS",
]

RecordFn = Callable[[str, str, int, int, "str | None", int], None]
"""record(method, name, latency_us, size, error, ttfb_us) -- see docs/dev/contracts.md."""
