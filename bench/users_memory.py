"""Memory per idle user, measured inside one process, with an optional breakdown.

bench/users_idle.py watches the real CLI from outside; this script runs horde's
`LocalRunner` in its own process instead, so it can read the resident memory
right before the first user starts (after every import) and once the users
are connected and idle, and (`--trace`) say with tracemalloc which lines of
horde allocated what is still alive per user. tracemalloc slows the run and
adds its own memory: use the plain figure from a run without it.

    ulimit -n 20000
    .venv/bin/python bench/users_memory.py --users 6000
    .venv/bin/python bench/users_memory.py --users 3000 --trace
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import tracemalloc
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers.harness import cores, start_nginx  # noqa: E402

from horde import HttpUser, between, task  # noqa: E402
from horde.events import Events  # noqa: E402
from horde.runtime.local import LocalRunner, RunOptions  # noqa: E402


class Visitor(HttpUser):
    wait_time = between(1, 5)

    @task
    def visit(self) -> None:
        self.client.get("/")


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def measure(url: str, users: int, trace: bool, settle: float) -> None:
    runner = LocalRunner([Visitor], RunOptions(host=url), Events())
    await asyncio.sleep(0.2)
    gc.collect()
    if trace:
        tracemalloc.start(1)
    before = _rss_kb()
    await runner.start(users, 2000.0)
    await runner.population.ramp_done.wait()
    await asyncio.sleep(settle)
    after = _rss_kb()
    print(f"{users:,} users: RSS {before / 1024:.1f} -> {after / 1024:.1f} MB, "
          f"{(after - before) / users:.2f} KB per user")
    if trace:
        snapshot = tracemalloc.take_snapshot()
        stats = snapshot.statistics("lineno")
        print(f"traced (Python allocations alive): "
              f"{sum(s.size for s in stats) / users:,.0f} B per user; the largest:")
        for stat in stats[:20]:
            print(f"  {stat.size / users:7.0f} B {stat.count / users:5.2f} objects  "
                  f"{stat.traceback}")
    await runner.stop(grace=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=6000)
    parser.add_argument("--settle", type=float, default=6.0,
                        help="seconds after the ramp before measuring")
    parser.add_argument("--trace", action="store_true", help="tracemalloc breakdown")
    args = parser.parse_args()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.users + 200:
        print(f"open-file limit {soft} < users + 200: run `ulimit -n 20000` first",
              file=sys.stderr)
        return 2
    _, nginx_core = cores()
    with start_nginx(nginx_core, "nginx_many.conf.template") as nginx:
        uvloop.run(measure(nginx.url, args.users, args.trace, args.settle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
