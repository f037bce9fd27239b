"""How much CPU a master spends on N workers' statistics and heartbeats.

Run:  .venv/bin/python bench/master_scale.py [--workers 200,1000] [--seconds 12]
            [--endpoints 50] [--buckets 50] [--procs 2] [--breakdown]

Simulated workers are real DEALER sockets in separate processes (`--procs`;
one zmq context each, not one per worker). Each worker says `Hello`, then
every second sends a realistic `StatsReport` (`--endpoints` endpoints with
`--buckets` non-empty histogram buckets each, plus a ttfb histogram) and a
`WorkerHeartbeat`, spread evenly over the second.

The master under test runs in this process on uvloop: a `MasterChannel`
receives and decodes, `delta_from_wire` + `StatsAggregate.apply` merge with
the master's own test second, `close_second` runs once a second, and a
`MasterHeartbeat` goes to every worker once a second. A probe task sleeps
10 ms in a loop and records how late it wakes (what a UI request would wait).

Reported per fleet size: master CPU % of one core (getrusage of this process,
zmq's I/O thread included, over the steady part of the run), reports merged
per second, event-loop lag p99, frames dropped. The simulator processes are
not counted. On the shared 2-core dev machine the simulators compete with
the master for CPU, so read the numbers as an upper bound.

``--breakdown`` first times each master step in-process, per report: decode,
`delta_from_wire`, `StatsAggregate.apply`, and `close_second` after a
second's worth of reports.

The simulated-worker part (`fleet_main`, `start_fleet`) is independent of the
master loop, so it can be pointed at the real master runtime later.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import uvloop
import zmq

from horde.net import MasterChannel
from horde.stats import EndpointDelta, StatsAggregate, StatsDelta
from horde.wire import (
    PROTOCOL_VERSION,
    Hello,
    MasterHeartbeat,
    StatsReport,
    WorkerHeartbeat,
    decode_from_worker,
    delta_from_wire,
    delta_to_wire,
    encode,
)

# --- simulated workers (separate processes) ----------------------------------


def synthetic_delta(endpoints: int, buckets: int, seed: int) -> StatsDelta:
    """One second of a busy worker: every endpoint with `buckets` non-empty buckets."""
    rng = np.random.default_rng(seed)
    eps = []
    for e in range(endpoints):
        # latencies of roughly 0.3 ms .. 300 ms live in buckets ~400..1100
        idx = np.sort(rng.choice(np.arange(400, 1100), size=buckets, replace=False))
        cnt = rng.integers(1, 40, size=buckets)
        t_idx = idx[: buckets // 2]
        t_cnt = cnt[: buckets // 2]
        n = int(cnt.sum())
        eps.append(
            EndpointDelta(
                method="GET" if e % 3 else "POST",
                name=f"/api/endpoint/{e}",
                requests=n,
                failures=n // 50,
                bytes=n * 512,
                min_us=300,
                max_us=300_000,
                sum_us=n * 20_000,
                hist_idx=idx.astype(np.int64),
                hist_cnt=cnt.astype(np.int64),
                ttfb_sum_us=int(t_cnt.sum()) * 10_000,
                ttfb_idx=t_idx.astype(np.int64),
                ttfb_cnt=t_cnt.astype(np.int64),
            )
        )
    return StatsDelta(endpoints=tuple(eps))


def fleet_main(
    endpoint: str,
    worker_ids: Sequence[str],
    seconds: float,
    endpoints: int,
    buckets: int,
) -> None:
    """Run `worker_ids` as simulated workers against `endpoint` for `seconds`."""
    ctx = zmq.Context()
    socks = []
    for wid in worker_ids:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTING_ID, wid.encode())
        s.setsockopt(zmq.SNDHWM, 100)
        s.connect(endpoint)
        socks.append(s)
    # A few pre-encoded report variants: the simulator must stay cheap.
    variants = [
        encode(delta_to_wire(synthetic_delta(endpoints, buckets, seed), test_id="bench", seq=0))
        for seed in range(4)
    ]
    for wid, s in zip(worker_ids, socks, strict=True):
        s.send(encode(Hello(wid, "sim", os.getpid(), "bench", PROTOCOL_VERSION, 1, None)))
    start = time.monotonic()
    seq = 0
    n = len(socks)
    while time.monotonic() - start < seconds:
        second_start = time.monotonic()
        for i, s in enumerate(socks):
            # spread the fleet's sends evenly over the second, as real workers are
            due = second_start + i / n
            delay = due - time.monotonic()
            if delay > 0.002:
                time.sleep(delay)
            try:
                s.send(variants[(i + seq) % len(variants)], zmq.DONTWAIT)
                s.send(encode(WorkerHeartbeat("running", 50, 30.0, 0.5, 80_000_000, seq)),
                       zmq.DONTWAIT)  # fmt: skip
            except zmq.Again:
                pass
            while s.poll(0):  # drain master heartbeats
                s.recv()
        seq += 1
        rest = second_start + 1.0 - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    ctx.destroy(linger=0)


def start_fleet(
    endpoint: str, n_workers: int, seconds: float, endpoints: int, buckets: int, procs: int
) -> list[mp.process.BaseProcess]:
    """Start `n_workers` simulated workers spread over `procs` processes."""
    spawn = mp.get_context("spawn")
    ids = [f"sim-{i:05d}" for i in range(n_workers)]
    out = []
    for p in range(procs):
        part = ids[p::procs]
        proc = spawn.Process(
            target=fleet_main, args=(endpoint, part, seconds, endpoints, buckets), daemon=True
        )
        proc.start()
        out.append(proc)
    return out


# --- the master under test -----------------------------------------------------


@dataclass
class Result:
    workers: int
    cpu_percent: float
    reports_per_s: float
    lag_p99_ms: float
    dropped: int
    seen_workers: int


async def run_master(n_workers: int, args: argparse.Namespace) -> Result:
    agg = StatsAggregate()
    known: set[str] = set()
    reports = 0
    lags: list[float] = []
    async with MasterChannel("127.0.0.1", 0) as master:
        fleet = start_fleet(
            master.endpoint, n_workers, args.seconds + 2, args.endpoints, args.buckets, args.procs
        )
        t0 = time.monotonic()

        async def receive() -> None:
            nonlocal reports
            while True:
                wid, msg = await master.recv()
                known.add(wid)
                if isinstance(msg, StatsReport):
                    agg.apply(delta_from_wire(msg), int(time.monotonic() - t0))
                    reports += 1

        async def tick() -> None:
            t_s = 0
            while True:
                await asyncio.sleep(1.0 - ((time.monotonic() - t0) % 1.0))
                agg.close_second(t_s, 50 * len(known))
                t_s += 1
                hb = MasterHeartbeat(time.monotonic() - t0, "bench")
                for wid in known:
                    master.send(wid, hb)

        async def probe() -> None:
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.01)
                lags.append((time.monotonic() - before - 0.01) * 1000)

        tasks = [asyncio.ensure_future(c()) for c in (receive, tick, probe)]
        warmup = 3.0
        await asyncio.sleep(warmup)
        ru0, w0, r0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), reports
        lags.clear()
        await asyncio.sleep(args.seconds - warmup)
        ru1, w1, r1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), reports
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        dropped = master.dropped
    for proc in fleet:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return Result(
        workers=n_workers,
        cpu_percent=100 * cpu / (w1 - w0),
        reports_per_s=(r1 - r0) / (w1 - w0),
        lag_p99_ms=float(np.percentile(lags, 99)) if lags else float("nan"),
        dropped=dropped,
        seen_workers=len(known),
    )


def breakdown(endpoints: int, buckets: int, n: int = 1000) -> None:
    """In-process cost per report of each master step, without sockets."""
    frames = [
        encode(delta_to_wire(synthetic_delta(endpoints, buckets, seed), test_id="b", seq=0))
        for seed in range(4)
    ]
    agg = StatsAggregate()
    t = time.perf_counter()
    msgs = [decode_from_worker(frames[i % 4]) for i in range(n)]
    t_decode = time.perf_counter() - t
    t = time.perf_counter()
    deltas = [delta_from_wire(m) for m in msgs if isinstance(m, StatsReport)]
    t_convert = time.perf_counter() - t
    t = time.perf_counter()
    for d in deltas:
        agg.apply(d, 1)
    t_apply = time.perf_counter() - t
    t = time.perf_counter()
    agg.close_second(1, 0)
    t_close = time.perf_counter() - t
    per = 1e6 / n
    print(f"per report ({endpoints} endpoints x {buckets} buckets), {n} reports in one second:")
    print(f"  decode {t_decode * per:.0f} us, delta_from_wire {t_convert * per:.0f} us, "
          f"apply {t_apply * per:.0f} us; close_second {t_close * 1000:.0f} ms")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", default="200,1000", help="comma-separated fleet sizes")
    ap.add_argument("--seconds", type=float, default=12.0, help="per fleet size (3 s warm-up)")
    ap.add_argument("--endpoints", type=int, default=50)
    ap.add_argument("--buckets", type=int, default=50)
    ap.add_argument("--procs", type=int, default=2, help="simulator processes")
    ap.add_argument("--breakdown", action="store_true", help="also time each master step")
    args = ap.parse_args()
    if args.breakdown:
        breakdown(args.endpoints, args.buckets)
    print(f"{'workers':>8} {'master CPU %':>13} {'reports/s':>10} {'lag p99 ms':>11} "
          f"{'dropped':>8} {'seen':>6}")  # fmt: skip
    for n in (int(x) for x in args.workers.split(",")):
        r = uvloop.run(run_master(n, args))
        print(f"{r.workers:>8} {r.cpu_percent:>13.1f} {r.reports_per_s:>10.0f} "
              f"{r.lag_p99_ms:>11.2f} {r.dropped:>8} {r.seen_workers:>6}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
