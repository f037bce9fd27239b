"""Cost of recording a request: `RequestStats.record`, the histogram alone, and a master merge.

Run:  .venv/bin/python bench/record_cost.py [--samples 1000000] [--endpoints 20]

Prints µs per sample for
  * a no-op function with the same signature (loop + call overhead),
  * `RequestStats.record` amortised with `take_delta()` every 50,000 calls
    (the closed model's whole recording path: a user's client calls it directly),
  * the open model's path (a paced slot adds the iteration's lateness and
    records into the corrected and the service statistics),
  * the latency histogram alone: `Histogram.record` + `fold()`,
  * `hdrhistogram.record_value` and `ddsketch.add` when those are importable,
and the time to merge one second of deltas from 200 workers x 50 endpoints
into a `StatsAggregate` (plus close_second), once through `apply(delta)` and
once from encoded frames through `decode_from_worker` + `merge_report`,
which is what a master does.

Timings are best-of-3 wall clock with the GC disabled during each run; on a
shared machine, read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import time
from collections.abc import Callable

import numpy as np

from horde.stats import Histogram, RequestStats, StatsAggregate
from horde.stats.openmodel import PacedRecorder
from horde.wire import StatsReport, decode_from_worker, delta_to_wire, encode, merge_report

Row = tuple[str, str, int, int, "str | None", int]


def best_of(runs: int, fn: Callable[[], None]) -> float:
    """Smallest wall time of `runs` calls, GC off (it is not what we measure)."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        finally:
            gc.enable()
    return best


def make_rows(n: int, endpoints: int, seed: int = 1) -> list[Row]:
    rng = np.random.default_rng(seed)
    names = [f"/api/item/{i}" for i in range(endpoints)]
    which = rng.integers(0, endpoints, n).tolist()
    lat = rng.lognormal(7.5, 1.0, n).astype(np.int64).tolist()
    fail = (rng.random(n) < 0.01).tolist()
    return [
        ("GET", names[w], v, 1234, "HTTP 500" if f else None, v // 2)
        for w, v, f in zip(which, lat, fail, strict=True)
    ]


def bench_noop(rows: list[Row]) -> float:
    def noop(m: str, n: str, lat: int, size: int, err: str | None, ttfb: int) -> None:
        return None

    def run() -> None:
        for m, n, lat, size, err, ttfb in rows:
            noop(m, n, lat, size, err, ttfb)

    return best_of(3, run)


def bench_record(rows: list[Row], every: int = 50_000) -> float:
    def run() -> None:
        stats = RequestStats()
        rec = stats.record
        for i, (m, n, lat, size, err, ttfb) in enumerate(rows):
            rec(m, n, lat, size, err, ttfb)
            if i % every == every - 1:
                stats.take_delta()
        stats.take_delta()

    return best_of(3, run)


def bench_paced(rows: list[Row], every: int = 50_000) -> float:
    """The open model's path: a paced slot's record -> corrected + service statistics."""

    class Slot:  # what horde.runtime.environment.PacedSlot._record does per request
        __slots__ = ("late_us", "_charge", "_paced_record")

        def __init__(self, paced: PacedRecorder) -> None:
            self.late_us, self._charge, self._paced_record = 1500, 0, paced.record

        def record(self, m: str, n: str, lat: int, size: int, err: str | None,
                   ttfb: int) -> None:
            charge, self._charge = self._charge, 0
            self._paced_record(m, n, lat, size, err, ttfb, self.late_us, charge)

    def run() -> None:
        stats = RequestStats()
        paced = PacedRecorder(stats.record)
        rec = Slot(paced).record
        for i, (m, n, lat, size, err, ttfb) in enumerate(rows):
            rec(m, n, lat, size, err, ttfb)
            if i % every == every - 1:
                stats.take_delta()
                paced.take_delta(0, 0)
        stats.take_delta()
        paced.take_delta(0, 0)

    return best_of(3, run)


def bench_histogram(values: list[int], every: int = 50_000) -> float:
    def run() -> None:
        h = Histogram()
        rec = h.record
        for i, v in enumerate(values):
            rec(v)
            if i % every == every - 1:
                h.fold()
        h.fold()

    return best_of(3, run)


def bench_foreign(values: list[int]) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        hdr = importlib.import_module("hdrh.histogram")

        def run_hdr() -> None:
            h = hdr.HdrHistogram(1, 3_600_000_000, 2)
            rec = h.record_value
            for v in values:
                rec(max(v, 1))

        out["hdrhistogram.record_value"] = best_of(3, run_hdr)
    except ImportError:
        print("  (hdrhistogram not installed: skipped)")
    try:
        dd = importlib.import_module("ddsketch")

        def run_dd() -> None:
            sk = dd.DDSketch(0.01)
            add = sk.add
            for v in values:
                add(v)

        out["ddsketch.add"] = best_of(3, run_dd)
    except ImportError:
        print("  (ddsketch not installed: skipped)")
    return out


def bench_merge(
    workers: int = 200, endpoints: int = 50, per_endpoint: int = 60
) -> tuple[float, float]:
    """One second of deltas from `workers` workers into one aggregate, plus close_second.

    Returns (object path: `apply(delta)`, wire path: decode + `merge_report`
    of the encoded frames, what a master does; bench/merge_cost.py breaks it down).
    """
    rng = np.random.default_rng(3)
    deltas = []
    for _ in range(workers):
        stats = RequestStats()
        for e in range(endpoints):
            name = f"/e{e}"
            for v in rng.lognormal(8, 1.0, per_endpoint).astype(np.int64).tolist():
                stats.record("GET", name, v, 100, None, v // 2)
        deltas.append(stats.take_delta())
    frames = [encode(delta_to_wire(d, test_id="b", seq=0)) for d in deltas]
    buckets = np.mean([len(ep.hist_idx) for d in deltas for ep in d.endpoints])
    print(f"  merge input: {workers} workers x {endpoints} endpoints, "
          f"{buckets:.0f} non-empty buckets each")  # fmt: skip

    def objects() -> None:
        agg = StatsAggregate()
        for d in deltas:
            agg.apply(d, 0)
        agg.close_second(0, 0)

    def wire() -> None:
        agg = StatsAggregate()
        for f in frames:
            msg = decode_from_worker(f)
            assert isinstance(msg, StatsReport)
            merge_report(agg, msg, 0)
        agg.close_second(0, 0)

    return best_of(3, objects), best_of(3, wire)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--endpoints", type=int, default=20)
    args = parser.parse_args()
    n = args.samples

    rows = make_rows(n, args.endpoints)
    values = [r[2] for r in rows]
    print(f"{n:,} samples over {args.endpoints} endpoints (best of 3)")

    noop = bench_noop(rows)
    record = bench_record(rows)
    hist = bench_histogram(values)
    print(f"  no-op call, same signature      {noop / n * 1e6:6.3f} µs/sample")
    print(f"  RequestStats.record + deltas    {record / n * 1e6:6.3f} µs/sample"
          f"  ({(record - noop) / n * 1e6:.3f} above the no-op call)")  # fmt: skip
    paced = bench_paced(rows)
    print(f"  open model: paced slot record   {paced / n * 1e6:6.3f} µs/sample"
          "  (corrected + service; the closed model's path is the line above)")
    print(f"  Histogram.record + fold         {hist / n * 1e6:6.3f} µs/sample")
    for name, secs in bench_foreign(values).items():
        print(f"  {name:<31} {secs / n * 1e6:6.3f} µs/sample")
    objects, wire = bench_merge()
    print(f"  merge of one second, apply      {objects * 1e3:6.1f} ms")
    print(f"  same from frames, merge_report  {wire * 1e3:6.1f} ms  (decode included)")


if __name__ == "__main__":
    main()
