"""Per-report cost of the master's statistics path, step by step, in one process.

Run:  .venv/bin/python bench/merge_cost.py [--workers 200,1000] [--seconds 6]
            [--endpoints 50] [--buckets 50] [--path report|delta]

Simulates N workers each sending one `StatsReport` per second (`--endpoints`
endpoints with `--buckets` non-empty latency buckets and half as many ttfb
buckets each, built like bench/master_scale.py's), as real encoded frames.
Every simulated second the master side, in this process, does for each
frame: decode (`decode_from_worker`), merge, then once `close_second`, and
every 2 s a `snapshot` (what the web UI and console read). Frames are handled
one at a time and dropped, as a master does, with the GC on.

``--path report`` merges with ``horde.wire.merge_report(agg, msg, t_s)``
(the fast path); ``--path delta`` with
``agg.apply(delta_from_wire(msg), t_s)`` (the object path, and the only one
before the fast path existed). Also timed: one snapshot with 500 endpoints.

Printed per fleet size (each figure the best of `--repeat` runs): µs per
report for decode and merge, ms per call for close_second and snapshot,
everything amortised per report, and what that makes as % of one core for
the fleet (1 report per worker per second). Wall clock on a shared 2-core
machine where other jobs run: single runs vary 2-3x; read as orders of
magnitude.

Measured (2-core dev machine shared with other jobs, load average ~2;
50 endpoints x 50 buckets; ranges over several invocations, best of 3 each):

  before (commit 7af7ff7, the only path then: apply(delta_from_wire)):
    workers   decode    merge     close_second   snapshot   per report   core
      200     24-29 us  410-445   36-46 ms       7-9 ms     640-730 us   13-15 %
     1000     22-28 us  375-495   165-177 ms     6-10 ms    570-695 us   57-69 %
    snapshot with 500 endpoints: 58-132 ms
  after (merge_report; StatsReport counters as columns):
      200     7-11 us   54-98     1.7-2.1 ms     1.1-1.7 ms  73-129 us   1.5-2.6 %
     1000     7-8 us    57-58     3.6-4.4 ms     1.1-1.5 ms  69-71 us    6.9-7.1 %
    snapshot with 500 endpoints: 8-10 ms
  after, object path kept for compatibility (--path delta):
      200     11-13 us  337-473   1.1-1.5 ms     1.2-1.4 ms  360-494 us  7-10 %

  Before, merging queued every endpoint's arrays and paid for them in the
  first reader (close_second); now histograms are added per report with a
  few numpy calls and only the counters wait for the once-a-second flush.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from horde.stats import EndpointDelta, StatsAggregate, StatsDelta
from horde.wire import StatsReport, decode_from_worker, delta_from_wire, delta_to_wire, encode

Merge = Callable[[StatsAggregate, StatsReport, int], None]


def synthetic_delta(endpoints: int, buckets: int, seed: int) -> StatsDelta:
    """One second of a busy worker: every endpoint with `buckets` non-empty buckets."""
    rng = np.random.default_rng(seed)
    eps = []
    for e in range(endpoints):
        # latencies of roughly 0.3 ms .. 300 ms live in buckets ~400..1100
        idx = np.sort(rng.choice(np.arange(400, 1100), size=buckets, replace=False))
        cnt = rng.integers(1, 40, size=buckets)
        t_idx, t_cnt = idx[: buckets // 2], cnt[: buckets // 2]
        n = int(cnt.sum())
        eps.append(
            EndpointDelta(
                method="GET" if e % 3 else "POST",
                name=f"/api/endpoint/{e}",
                requests=n,
                failures=n // 50,
                bytes=n * 512,
                min_us=300 + seed % 7,
                max_us=300_000 + seed,
                sum_us=n * 20_000,
                hist_idx=idx.astype(np.int64),
                hist_cnt=cnt.astype(np.int64),
                ttfb_sum_us=int(t_cnt.sum()) * 10_000,
                ttfb_idx=t_idx.astype(np.int64),
                ttfb_cnt=t_cnt.astype(np.int64),
            )
        )
    return StatsDelta(endpoints=tuple(eps))


def _merge_fn(path: str) -> Merge:
    if path == "report":
        try:
            from horde.wire import merge_report  # type: ignore[attr-defined,unused-ignore]
        except ImportError:
            sys.exit("this horde has no merge_report; use --path delta")
        fn: Merge = merge_report
        return fn

    def via_delta(agg: StatsAggregate, msg: StatsReport, t_s: int) -> None:
        agg.apply(delta_from_wire(msg), t_s)

    return via_delta


def run(workers: int, seconds: int, frames: list[bytes], merge: Merge) -> dict[str, float]:
    agg = StatsAggregate()
    decode = merged = close = snap = 0.0
    n_close = n_snap = reports = 0
    clock = time.perf_counter
    for t_s in range(seconds):
        for w in range(workers):
            frame = frames[(w + t_s) % len(frames)]
            t0 = clock()
            msg = decode_from_worker(frame)
            t1 = clock()
            assert isinstance(msg, StatsReport)
            merge(agg, msg, t_s)
            t2 = clock()
            decode += t1 - t0
            merged += t2 - t1
            reports += 1
            del msg
        t0 = clock()
        agg.close_second(t_s, workers * 10)
        close += clock() - t0
        n_close += 1
        if t_s % 2 == 1:
            t0 = clock()
            agg.snapshot(t_s + 1.0)
            snap += clock() - t0
            n_snap += 1
    total = decode + merged + close + snap
    return {
        "decode_us": 1e6 * decode / reports,
        "merge_us": 1e6 * merged / reports,
        "close_ms": 1e3 * close / n_close,
        "snapshot_ms": 1e3 * snap / max(n_snap, 1),
        "per_report_us": 1e6 * total / reports,
        "core_pct": 100 * total / reports * workers,
    }


def snapshot_cost(endpoints: int, frames_per_s: int = 20) -> float:
    """ms for one snapshot of an aggregate holding `endpoints` endpoints."""
    agg = StatsAggregate()
    for seed in range(frames_per_s):
        agg.apply(synthetic_delta(endpoints, 50, seed), 0)
    agg.close_second(0, 1)
    agg.snapshot(1.0)  # warm
    t0 = time.perf_counter()
    for _ in range(3):
        agg.snapshot(1.0)
    return 1e3 * (time.perf_counter() - t0) / 3


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--workers", default="200,1000", help="comma-separated fleet sizes")
    ap.add_argument("--seconds", type=int, default=6, help="simulated seconds per fleet size")
    ap.add_argument("--endpoints", type=int, default=50)
    ap.add_argument("--buckets", type=int, default=50)
    ap.add_argument("--path", choices=("report", "delta"), default="report")
    ap.add_argument("--repeat", type=int, default=3, help="runs per fleet size; best kept")
    args = ap.parse_args()
    merge = _merge_fn(args.path)
    frames = [
        encode(delta_to_wire(synthetic_delta(args.endpoints, args.buckets, s), test_id="b", seq=s))
        for s in range(8)
    ]
    print(f"horde from {Path(sys.modules['horde'].__file__ or '?').parent}, --path {args.path}, "
          f"{args.endpoints} endpoints x {args.buckets} buckets per report")  # fmt: skip
    print(f"{'workers':>8} {'decode us':>10} {'merge us':>9} {'close ms':>9} {'snap ms':>8} "
          f"{'us/report':>10} {'core %':>7}")  # fmt: skip
    for n in (int(x) for x in args.workers.split(",") if x):
        runs = [run(n, args.seconds, frames, merge) for _ in range(args.repeat)]
        r = {k: min(x[k] for x in runs) for k in runs[0]}
        print(f"{n:>8} {r['decode_us']:>10.1f} {r['merge_us']:>9.1f} {r['close_ms']:>9.2f} "
              f"{r['snapshot_ms']:>8.2f} {r['per_report_us']:>10.1f} {r['core_pct']:>7.1f}",
              flush=True)  # fmt: skip
    print(f"snapshot with 500 endpoints: {snapshot_cost(500):.1f} ms")


if __name__ == "__main__":
    main()
