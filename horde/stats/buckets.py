"""Cumulative latency counts at chosen edges: horde's histograms read as Prometheus buckets.

A Prometheus histogram is a list of cumulative counts "latency <= le". horde's
histogram (horde.stats.histogram) has 1708 fixed buckets; when every edge is
the lower bound of one of them, "values below the edge" is a sum of whole
buckets, so the counts read at those edges are exact, not estimated: the only
loss is the coarser grid, which `LatencyTable` readers (Prometheus's
`histogram_quantile`) interpolate over.

Latencies are whole microseconds, measured by truncation, so "recorded value <
E µs" is "real latency < E µs": the count below an edge equals Prometheus's
"<= le" for le = E µs up to latencies of exactly E µs, a set of measure zero.

Invariants: `LatencyTable` is immutable (its arrays are read-only copies);
row r of every array belongs to ``keys[r]``; ``below[r]`` is non-decreasing
and its last value is at most ``count[r]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from horde.stats.columns import Key
from horde.stats.histogram import MAX_US, IntArray, bucket_index, bucket_lower

__all__ = ["LatencyTable", "check_edges", "counts_below"]


@dataclass(frozen=True, slots=True)
class LatencyTable:
    """Per-endpoint counters and cumulative latency counts at `edges_us`, one moment of a run."""

    edges_us: tuple[int, ...]
    """Ascending; each the lower bound of a horde histogram bucket."""
    keys: tuple[Key, ...]
    """(method, name) of each row, in the aggregate's row order."""
    requests: IntArray
    failures: IntArray
    count: IntArray
    """Latency samples per row (equals `requests` unless a producer misbehaved)."""
    sum_us: IntArray
    """Sum of the latencies per row, in µs."""
    below: IntArray
    """(rows, len(edges_us)): samples with latency < edge."""


def check_edges(edges_us: Sequence[int]) -> IntArray:
    """The edges as int64, or ValueError unless ascending bucket lower bounds in [1, MAX_US]."""
    edges = np.asarray(list(edges_us), dtype=np.int64)
    if edges.ndim != 1 or edges.size == 0:
        raise ValueError("at least one edge is needed")
    if int(edges.min()) < 1 or int(edges.max()) > MAX_US:
        raise ValueError(f"edges must lie in [1, {MAX_US}] µs")
    if edges.size > 1 and not bool((np.diff(edges) > 0).all()):
        raise ValueError("edges must be strictly ascending")
    idx = bucket_index(edges)
    inexact = edges[bucket_lower(idx) != edges]
    if inexact.size:
        raise ValueError(f"edge {int(inexact[0])} µs is not a histogram bucket bound: "
                         "counts below it would be estimates")
    return edges


def counts_below(hist: IntArray, edges: IntArray) -> IntArray:
    """(rows, len(edges)) counts of samples < each edge, from dense (rows, N_BUCKETS) counts.

    `edges` must have passed `check_edges`. One `np.add.reduceat` over the
    row-major matrix plus a cumulative sum over the few edge columns: about
    a millisecond for 200 endpoints.
    """
    rows = hist.shape[0]
    if rows == 0:
        return np.zeros((0, edges.size), dtype=np.int64)
    starts = bucket_index(edges)  # first bucket at or above each edge; >= 1, ascending
    # reduceat over [0, s0, s1, ..., s_last] sums [0, s0), [s0, s1), ... and
    # finally [s_last, end): the last segment is above every edge, dropped.
    seg = np.add.reduceat(hist, np.concatenate(([0], starts)), axis=1)[:, :-1]
    below: IntArray = np.cumsum(seg, axis=1, dtype=np.int64)
    return below
