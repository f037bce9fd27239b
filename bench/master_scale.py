"""How much CPU a master spends on N workers' statistics and heartbeats.

Run:  .venv/bin/python bench/master_scale.py [--workers 200,1000] [--seconds 12]
            [--endpoints 50] [--buckets 50] [--procs 2] [--breakdown]

Simulated workers are real DEALER sockets in separate processes (`--procs`;
one zmq context each, not one per worker). Each worker says `Hello`, then
every second sends a realistic `StatsReport` (`--endpoints` endpoints with
`--buckets` non-empty histogram buckets each, plus a ttfb histogram) and a
`WorkerHeartbeat`, spread evenly over the second.

The master under test is the real one (`horde.runtime.master.MasterRunner`)
in this process on uvloop: the simulated workers say `Hello` with the
master's files' sha256, are welcomed, get their `Start` share of a test, and
send their reports under that test's id; the master merges them at its own
test second, closes a second of history once a second, heartbeats every
worker and watches for silent ones, exactly as in a real run. A probe task
sleeps 10 ms in a loop and records how late it wakes (what a web UI request
would wait). "Keeping up" means merging one report per worker per second;
the knee is the first fleet size where fewer than 95% are merged.

Reported per fleet size: master CPU % of one core (getrusage of this process,
zmq's I/O thread included, over the steady part of the run), reports merged
per second, event-loop lag p99, frames dropped. The simulator processes are
not counted. On the shared 2-core dev machine the simulators compete with
the master for CPU, so read the numbers as an upper bound.

``--breakdown`` first times each master step in-process, per report: decode,
`delta_from_wire`, `StatsAggregate.apply`, and `close_second` after a
second's worth of reports.

`--bare` measures the earlier hand-written master loop instead (channel +
merge only), for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import uvloop
import zmq

from horde._version import __version__
from horde.events import Events
from horde.net import MasterChannel
from horde.runtime.local import RunOptions
from horde.runtime.master import MasterRunner
from horde.stats import EndpointDelta, StatsAggregate, StatsDelta
from horde.user import User
from horde.wire import (
    PROTOCOL_VERSION,
    Hello,
    MasterHeartbeat,
    Start,
    StatsReport,
    WorkerHeartbeat,
    bundle_from_contents,
    decode,
    decode_from_worker,
    delta_from_wire,
    delta_to_wire,
    encode,
    sha_map,
)

SCRIPT = {"hordefile.py": b"from horde import User\n"}

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


def _wait_for_test_id(socks: Sequence[zmq.Socket[bytes]], timeout: float) -> str:
    """Read until a Start arrives (the master starts once all joined); its test id."""
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    test_id = None
    deadline = time.monotonic() + timeout
    next_beat = 0.0
    while test_id is None and time.monotonic() < deadline:
        if time.monotonic() >= next_beat:  # stay alive while the others join
            next_beat = time.monotonic() + 1.0
            for s in socks:
                s.send(encode(WorkerHeartbeat("ready", 0, 1.0, 0.1, 80_000_000, 0)), zmq.DONTWAIT)
        for sock, _ in poller.poll(200):
            while sock.poll(0):
                msg = decode(sock.recv())
                if isinstance(msg, Start):
                    test_id = msg.test_id
    return test_id or "bench"


def fleet_main(
    endpoint: str,
    worker_ids: Sequence[str],
    seconds: float,
    endpoints: int,
    buckets: int,
    files_sha: dict[str, str] | None = None,
) -> None:
    """Run `worker_ids` as simulated workers against `endpoint` for `seconds`.

    With `files_sha` (a real master), wait for the Start and use its test id.
    """
    ctx = zmq.Context()
    socks = []
    for wid in worker_ids:
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTING_ID, wid.encode())
        s.setsockopt(zmq.SNDHWM, 100)
        s.connect(endpoint)
        socks.append(s)
    for wid, s in zip(worker_ids, socks, strict=True):
        s.send(encode(Hello(wid, "sim", os.getpid(), __version__, PROTOCOL_VERSION, 1,
                            files_sha)))
    test_id = _wait_for_test_id(socks, 120.0) if files_sha is not None else "bench"
    # A few pre-encoded report variants: the simulator must stay cheap.
    variants = [
        encode(delta_to_wire(synthetic_delta(endpoints, buckets, seed), test_id=test_id, seq=0))
        for seed in range(4)
    ]
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
                s.send(encode(WorkerHeartbeat("running", 50, 30.0, 0.5, 80_000_000, seq,
                                              test_id)), zmq.DONTWAIT)
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
    endpoint: str, n_workers: int, seconds: float, endpoints: int, buckets: int, procs: int,
    files_sha: dict[str, str] | None = None,
) -> list[mp.process.BaseProcess]:
    """Start `n_workers` simulated workers spread over `procs` processes."""
    spawn = mp.get_context("spawn")
    ids = [f"sim-{i:05d}" for i in range(n_workers)]
    out: list[mp.process.BaseProcess] = []
    for p in range(procs):
        part = ids[p::procs]
        proc = spawn.Process(
            target=fleet_main, args=(endpoint, part, seconds, endpoints, buckets, files_sha),
            daemon=True,
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


class SimUser(User):
    """The master only needs a class to split users by; the simulators run nothing."""


async def run_real_master(n_workers: int, args: argparse.Namespace) -> Result:
    """The real `MasterRunner` with `n_workers` simulated workers."""
    lags: list[float] = []
    bundle = bundle_from_contents(SCRIPT, "hordefile.py")
    async with MasterChannel("127.0.0.1", 0) as channel:
        master = MasterRunner([SimUser], RunOptions(host="http://sim"), Events(), channel, bundle)
        reports = 0
        merge = master._report  # count what the real merge path handles

        def counting(record: object, report: StatsReport) -> None:
            nonlocal reports
            reports += 1
            merge(record, report)  # type: ignore[arg-type]

        master._report = counting  # type: ignore[method-assign]
        master.serve()
        fleet = start_fleet(channel.endpoint, n_workers, args.seconds + 2, args.endpoints,
                            args.buckets, args.procs, sha_map(SCRIPT))
        if not await master.wait_for_workers(n_workers, 120.0):
            print(f"only {len(master.fleet.active())} of {n_workers} simulated workers joined")
        await master.start(50 * n_workers, 1000.0 * n_workers)

        async def probe() -> None:
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.01)
                lags.append((time.monotonic() - before - 0.01) * 1000)

        probe_task = asyncio.ensure_future(probe())
        warmup = 3.0
        await asyncio.sleep(warmup)
        ru0, w0, r0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), reports
        lags.clear()
        await asyncio.sleep(args.seconds - warmup)
        ru1, w1, r1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), reports
        probe_task.cancel()
        missing = sum(1 for w in master.fleet.all() if w.state in ("missing", "lost"))
        master.force_stop()
        await master.wait_stopped()
        seen = len(master.fleet.all())
        master.close()
        dropped = channel.dropped
    for proc in fleet:
        proc.join(timeout=15)
        if proc.is_alive():
            proc.terminate()
    if missing:
        print(f"  ({missing} simulated workers were missing at the end of the measurement)")
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return Result(
        workers=n_workers,
        cpu_percent=100 * cpu / (w1 - w0),
        reports_per_s=(r1 - r0) / (w1 - w0),
        lag_p99_ms=float(np.percentile(lags, 99)) if lags else float("nan"),
        dropped=dropped,
        seen_workers=seen,
    )


async def run_master(n_workers: int, args: argparse.Namespace) -> Result:
    """The earlier bare loop: channel + merge only (``--bare``)."""
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
    ap.add_argument("--bare", action="store_true",
                    help="measure the bare channel+merge loop instead of the real master")
    args = ap.parse_args()
    # One line per worker going missing or coming back would drown the table.
    logging.getLogger("horde.runtime.master").setLevel(os.environ.get("BENCH_MASTER_LOG", "ERROR"))
    if args.breakdown:
        breakdown(args.endpoints, args.buckets)
    print(f"{'workers':>8} {'master CPU %':>13} {'reports/s':>10} {'lag p99 ms':>11} "
          f"{'dropped':>8} {'seen':>6}")  # fmt: skip
    knee = None
    for n in (int(x) for x in args.workers.split(",")):
        r = uvloop.run(run_master(n, args) if args.bare else run_real_master(n, args))
        print(f"{r.workers:>8} {r.cpu_percent:>13.1f} {r.reports_per_s:>10.0f} "
              f"{r.lag_p99_ms:>11.2f} {r.dropped:>8} {r.seen_workers:>6}", flush=True)  # fmt: skip
        if knee is None and r.reports_per_s < 0.95 * n:
            knee = n
    print("keeps up with every fleet size tried" if knee is None
          else f"stops keeping up (< 95% of reports merged per second) at {knee} workers")


if __name__ == "__main__":
    main()
