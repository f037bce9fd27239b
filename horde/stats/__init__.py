"""Statistics: histograms, per-endpoint entries, deltas, merge. stdlib + numpy only."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RecordFn"]

RecordFn = Callable[[str, str, int, int, "str | None", int], None]
"""record(method, name, latency_us, size, error, ttfb_us) -- see docs/dev/contracts.md."""
