"""What a Prometheus scrape costs the run loop: 200 endpoints and 100 workers, in one process.

Run:  .venv/bin/python bench/metrics_scrape.py [--endpoints 200] [--workers 100]
            [--buckets 50] [--scrapes 30]

Builds a master's state in-process: a real `StatsAggregate` fed 10 s of
synthetic reports from every worker (`--buckets` non-empty latency buckets
per endpoint and worker, spread over 0.3 ms .. 300 ms), and a real
`horde.runtime.fleet.Fleet` of `--workers` workers with a few heartbeats each.
A source object hands them to the collector exactly as `MasterRunner` does.

Printed (best and worst of `--scrapes`, in ms):

* read: `read_metrics` (runs in the event loop: what a scrape blocks it for);
* render: `render_metrics` on that reading (text format; runs in a thread);
* served: scrapes through the real `--metrics-port` server over loopback,
  from a client process, while a 1 ms probe timer runs in the loop: the worst
  lateness of that timer is how long the loop was held up, once rendering
  in a thread (as served) and once rendering in the loop (for comparison).

Wall clock on a shared 2-core machine: read as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Mapping, Sequence

import numpy as np

from horde.report.model import WorkerSummary
from horde.report.prometheus import BUCKET_EDGES_US, read_metrics, render_metrics
from horde.runtime.fleet import Fleet
from horde.runtime.health import HealthSample
from horde.stats import EndpointDelta, LatencyTable, StatsAggregate, StatsDelta
from horde.web.metrics import start_metrics_server


def synthetic_delta(endpoints: int, buckets: int, rng: np.random.Generator) -> StatsDelta:
    eps = []
    for e in range(endpoints):
        idx = np.sort(rng.choice(np.arange(400, 1100), size=buckets, replace=False))
        cnt = rng.integers(1, 40, size=buckets)
        n = int(cnt.sum())
        eps.append(EndpointDelta(
            method="GET" if e % 3 else "POST", name=f"/api/endpoint/{e}", requests=n,
            failures=n // 50, bytes=n * 512, min_us=300, max_us=300_000, sum_us=n * 20_000,
            hist_idx=idx.astype(np.int64), hist_cnt=cnt.astype(np.int64),
            ttfb_sum_us=0, ttfb_idx=np.zeros(0, np.int64), ttfb_cnt=np.zeros(0, np.int64)))
    return StatsDelta(endpoints=tuple(eps))


class Source:
    """What `MasterRunner` gives the collector, over a real aggregate and fleet."""

    def __init__(self, aggregate: StatsAggregate, fleet: Fleet) -> None:
        self.aggregate, self.fleet = aggregate, fleet
        self.state = "running"
        self.target_users = sum(w.users for w in fleet.active())

    def counts(self) -> Mapping[str, int]:
        return self.fleet.class_users(["Shopper"])

    def workers(self) -> list[WorkerSummary]:
        return self.fleet.summaries(time.monotonic())

    def current_health(self) -> HealthSample:
        return self.fleet.current_health()

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        return self.aggregate.latency_table(edges_us)


def build(endpoints: int, workers: int, buckets: int) -> Source:
    rng = np.random.default_rng(7)
    aggregate = StatsAggregate()
    deltas = [synthetic_delta(endpoints, buckets, rng) for _ in range(4)]
    for t in range(10):
        for w in range(workers):
            aggregate.apply(deltas[(t + w) % len(deltas)], t)
        aggregate.close_second(t, workers * 500)
    fleet = Fleet()
    now = time.monotonic()
    for w in range(workers):
        record = fleet.add(f"pod-{w}-{1000 + w}-abcdef", f"horde-worker-{w}", 1000 + w, now)
        record.state = "running"
        record.class_users = {"Shopper": 500}
        for beat in range(10):
            record.heartbeat(40.0 + beat, 1.5 + beat / 10, 500, 80_000_000, "running")
        record.requests = 123_456
    return Source(aggregate, fleet)


def ms_range(values: list[float]) -> str:
    return f"best {min(values):7.2f}  median {statistics.median(values):7.2f}  " \
           f"worst {max(values):7.2f}"


_CLIENT = """
import sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    with opener.open(sys.argv[1], timeout=30) as resp:
        resp.read()
    print((time.perf_counter() - t0) * 1000, flush=True)
"""


async def served(source: Source, scrapes: int, in_loop: bool) -> tuple[list[float], float]:
    """Scrape times seen by a client process, and the probe timer's worst lateness (ms)."""
    server = await start_metrics_server(source, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    if in_loop:  # the comparison: render in the loop instead of a thread

        async def inline(func, *args):  # type: ignore[no-untyped-def]
            return func(*args)

        loop.run_in_executor = lambda _ex, func, *args: inline(func, *args)  # type: ignore
    # The scraper is another process, as Prometheus is: it must not share our GIL.
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CLIENT, server.url, str(scrapes),
        stdout=asyncio.subprocess.PIPE)
    assert client.stdout is not None
    reader = asyncio.ensure_future(client.stdout.read())
    worst = 0.0
    while not reader.done():
        t0 = loop.time()
        await asyncio.sleep(0.001)
        worst = max(worst, (loop.time() - t0 - 0.001) * 1000)
    await client.wait()
    await server.close()
    return [float(x) for x in reader.result().split()], worst


async def probe_only(seconds: float) -> float:
    loop = asyncio.get_running_loop()
    end, worst = loop.time() + seconds, 0.0
    while loop.time() < end:
        t0 = loop.time()
        await asyncio.sleep(0.001)
        worst = max(worst, (loop.time() - t0 - 0.001) * 1000)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--buckets", type=int, default=50)
    parser.add_argument("--scrapes", type=int, default=30)
    args = parser.parse_args()
    source = build(args.endpoints, args.workers, args.buckets)
    reads, renders = [], []
    body = b""
    for _ in range(args.scrapes):
        t0 = time.perf_counter()
        reading = read_metrics(source)
        t1 = time.perf_counter()
        body, _ = render_metrics(reading)
        t2 = time.perf_counter()
        reads.append((t1 - t0) * 1000)
        renders.append((t2 - t1) * 1000)
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    print(f"{args.endpoints} endpoints, {args.workers} workers, {len(BUCKET_EDGES_US)} edges: "
          f"{samples} samples, {len(body) / 1024:.0f} KiB per scrape")
    print(f"read (in the loop)        ms: {ms_range(reads)}")
    print(f"render (in a thread)      ms: {ms_range(renders)}")
    baseline = asyncio.run(probe_only(1.0))
    print(f"no scrape: loop held up at most {baseline:.1f} ms over 1 s (machine noise)")
    for in_loop in (False, True):
        times, worst = asyncio.run(served(source, args.scrapes, in_loop))
        where = "in the loop " if in_loop else "in a thread"
        print(f"served, rendered {where} ms: {ms_range(times)}; "
              f"loop held up at most {worst:.1f} ms")


if __name__ == "__main__":
    main()
