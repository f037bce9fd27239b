"""Quick self-check of horde's HTTP client throughput (not a timed test).

Runs N users x M keep-alive GETs against a local target and prints requests/s
and requests per CPU-second of this process for a bare asyncio + httptools
loop (the ceiling: no features at all), the async path (`await s.get`) and
the sync path (`s.get` inside one `horde.bridge.SyncRunner` greenlet per
user), each with all M requests in one call; then the same through real
`HttpUser` classes run by `User.run()` with one request per task (the task
loop, waits of 0 and all): `user-async` (`async def` task), `user-sync`
(`def` task: the whole loop in the user's greenlet, horde.user.syncloop) and
`user-sync-driver` (the same class forced through the async driver loop,
one greenlet entry per task: what sync users did before). The target is nginx if
`nginx` is on PATH (started with a throwaway config), else a minimal raw uvloop
server in a subprocess. With 2+ cores the target is pinned to the last core
and this process to the first, so the numbers are the client's, one core.

    .venv/bin/python bench/http_client_micro.py --users 50 --requests 400
    .venv/bin/python bench/http_client_micro.py --modes user-sync user-sync-driver --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from horde.bridge import SyncRunner
from horde.errors import StopUser
from horde.events import Events
from horde.gate import Gate
from horde.http import HttpSession
from horde.user import HttpUser, task

RAW_SERVER = r"""
import asyncio, sys, uvloop
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!"
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, data):
        buf = self.buf + data
        n = buf.count(b"\r\n\r\n")
        if n:
            self.t.write(RESPONSE * n)
            buf = buf[buf.rfind(b"\r\n\r\n") + 4:]
        self.buf = buf
async def main(port):
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    await server.serve_forever()
uvloop.run(main(int(sys.argv[1])))
"""

NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
    uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "Hello world!"; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_target(port: int) -> tuple[subprocess.Popen[bytes], str, str | None]:
    nginx = shutil.which("nginx")
    if nginx:
        workdir = tempfile.mkdtemp(prefix="horde-bench-")
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as fh:
            fh.write(NGINX_CONF.format(dir=workdir, port=port))
        proc = subprocess.Popen([nginx, "-c", conf, "-p", workdir])
        kind = "nginx"
    else:
        proc = subprocess.Popen(
            [sys.executable, "-c", RAW_SERVER, str(port)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        kind = "raw uvloop server"
        workdir = None
    cores = os.sched_getaffinity(0)
    if len(cores) >= 2:
        last = max(cores)
        os.sched_setaffinity(proc.pid, {last})
        os.sched_setaffinity(0, {min(cores)})
    for _ in range(100):  # wait until it accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, kind, workdir


def make_record() -> tuple[Callable[..., None], list[int]]:
    counts = [0, 0]

    def record(method: str, name: str, latency_us: int, size: int, error: str | None,
               ttfb_us: int) -> None:
        counts[0] += 1
        if error is not None:
            counts[1] += 1

    return record, counts


class _BareProtocol(asyncio.Protocol):
    """The floor: a bare asyncio + httptools client, no features (docs/dev/design.md's baseline)."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        assert self.waiter is not None
        self.waiter.set_result(None)


async def run_bare(url: str, users: int, requests: int) -> tuple[float, list[int]]:
    port = int(url.rsplit(":", 1)[1])
    counts = [0, 0]
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()

    async def user() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_connection(_BareProtocol, "127.0.0.1", port)
        for _ in range(requests):
            proto.waiter = loop.create_future()
            transport.write(request)
            await proto.waiter
            counts[0] += 1
        transport.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(users)))
    return time.perf_counter() - t0, counts


async def run_async(url: str, users: int, requests: int) -> tuple[float, list[int]]:
    record, counts = make_record()

    async def user() -> None:
        s = HttpSession(url, record)
        for _ in range(requests):
            await s.get("/")
        await s.aclose()

    t0 = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(users)))
    return time.perf_counter() - t0, counts


async def run_sync(url: str, users: int, requests: int) -> tuple[float, list[int]]:
    record, counts = make_record()

    async def user() -> None:
        s = HttpSession(url, record)
        runner = SyncRunner()

        def task() -> None:
            for _ in range(requests):
                s.get("/")

        await runner.call(task)
        runner.close()
        await s.aclose()

    t0 = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(users)))
    return time.perf_counter() - t0, counts


class BenchEnv:
    """A `UserEnvironment` that ends the user after `tasks` task runs.

    `wait` behaves as the runtime's (horde/runtime/environment.py): a wait of 0
    still yields to the loop once.
    """

    def __init__(self, url: str, record: Callable[..., None], tasks: int) -> None:
        self.host = url
        self.record = record
        self.gate = Gate()
        self.events = Events()
        self.tags: frozenset[str] | None = None
        self.exclude_tags: frozenset[str] | None = None
        self.request_timeout = 60.0
        self.left = tasks

    async def wait(self, seconds: float) -> None:
        self.left -= 1
        if self.left <= 0:
            raise StopUser()
        await asyncio.sleep(seconds if seconds > 0 else 0)

    def record_exception(self, where: str, exc: BaseException) -> None:
        raise SystemExit(f"task {where} raised {exc!r}")

    def clock(self) -> float:
        return time.monotonic()


class SyncIndex(HttpUser):
    @task
    def index(self) -> None:
        self.client.get("/")


class AsyncIndex(HttpUser):
    @task
    async def index(self) -> None:
        await self.client.get("/")


def _users(user_cls: type[HttpUser], driver: bool = False) -> Callable[
        [str, int, int], Coroutine[Any, Any, tuple[float, list[int]]]]:
    async def run_users(url: str, users: int, requests: int) -> tuple[float, list[int]]:
        record, counts = make_record()
        made = [user_cls(BenchEnv(url, record, requests)) for _ in range(users)]
        if driver:
            # Private switch, for this comparison only: the pre-syncloop path.
            for user in made:
                user._horde_sync_only = False
        t0 = time.perf_counter()
        await asyncio.gather(*(user.run() for user in made))
        return time.perf_counter() - t0, counts

    return run_users


MODES = {
    "bare": run_bare,
    "async": run_async,
    "sync": run_sync,
    "user-async": _users(AsyncIndex),
    "user-sync": _users(SyncIndex),
    "user-sync-driver": _users(SyncIndex, driver=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400, help="per user")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = parser.parse_args()
    port = free_port()
    proc, kind, workdir = start_target(port)
    url = f"http://127.0.0.1:{port}"
    print(f"target: {kind} on {url}; {args.users} users x {args.requests} requests")
    modes = [(mode, MODES[mode]) for mode in args.modes]
    rps: dict[str, list[float]] = {mode: [] for mode, _ in modes}
    per_cpu: dict[str, list[float]] = {mode: [] for mode, _ in modes}
    try:
        # Rounds interleave the modes (order reversed every other round), so a
        # neighbour's load hits all of them alike.
        for r in range(args.rounds):
            for mode, fn in modes if r % 2 == 0 else modes[::-1]:
                cpu0 = time.process_time()
                elapsed, (done, failed) = uvloop.run(fn(url, args.users, args.requests))
                cpu = time.process_time() - cpu0
                assert done == args.users * args.requests and failed == 0, (done, failed)
                rps[mode].append(done / elapsed)
                per_cpu[mode].append(done / cpu)
        first = modes[0][0]
        print(f"{'mode':16} {'req/s best':>10} {'req/cpu-s median':>16} {'best':>8}"
              f"   vs {first} (median req/cpu-s); per round")
        for mode, _ in modes:
            med = statistics.median(per_cpu[mode])
            ratio = med / statistics.median(per_cpu[first])
            rounds = " · ".join(f"{v:,.0f}" for v in per_cpu[mode])
            print(f"{mode:16} {max(rps[mode]):10,.0f} {med:16,.0f} {max(per_cpu[mode]):8,.0f}"
                  f"   {ratio:5.0%}   {rounds}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
