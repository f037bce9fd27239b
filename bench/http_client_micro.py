"""Quick self-check of horde's HTTP client throughput (not a timed test).

Runs N users x M keep-alive GETs against a local target and prints requests/s
for a bare asyncio + httptools loop (the ceiling: no features at all), the
async path (`await s.get`) and the sync path (`s.get` inside one
`horde.bridge.SyncRunner` greenlet per user). The target is nginx if
`nginx` is on PATH (started with a throwaway config), else a minimal raw uvloop
server in a subprocess. With 2+ cores the target is pinned to the last core
and this process to the first, so the numbers are the client's, one core.

    .venv/bin/python bench/http_client_micro.py --users 50 --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import uvloop

from horde.bridge import SyncRunner
from horde.http import HttpSession

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
    """The floor: a bare asyncio + httptools client, no features (DESIGN.md's baseline)."""

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400, help="per user")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    proc, kind, _ = start_target(port)
    url = f"http://127.0.0.1:{port}"
    print(f"target: {kind} on {url}; {args.users} users x {args.requests} requests")
    modes = (("bare", run_bare), ("async", run_async), ("sync", run_sync))
    best = dict.fromkeys((mode for mode, _ in modes), 0.0)
    try:
        # Rounds interleave the modes, so a neighbour's load hits all of them alike.
        for _ in range(args.rounds):
            for mode, fn in modes:
                elapsed, (done, failed) = uvloop.run(fn(url, args.users, args.requests))
                assert done == args.users * args.requests and failed == 0, (done, failed)
                best[mode] = max(best[mode], done / elapsed)
        for mode, _ in modes:
            ratio = best[mode] / best["bare"]
            print(f"{mode:5}: {best[mode]:10,.0f} req/s   {ratio:5.0%} of bare"
                  f"   (best of {args.rounds} rounds)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
