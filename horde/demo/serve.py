"""Serving a demo application on a TCP port, in-process or as a command.

`serve_app` starts an aiohttp application and returns its runner and the port
it really got (ask for port 0 to get a free one). `run_until_signalled` is what
the ``python -m horde.demo.app`` command runs: it serves until SIGINT/SIGTERM,
after printing one line ``listening on HOST:PORT`` (``[HOST]:PORT`` for IPv6)
on stdout, flushed, so a parent process knows the port and that the socket is
already accepting connections when the line arrives.

Keep-alive stays on (aiohttp's default); the access log is off because a load
test would otherwise spend the target's CPU on formatting log lines.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

from horde.errors import UsageError

__all__ = ["serve_app", "run_until_signalled", "listen_line", "parse_listen_line"]

# Load tests open many connections at once; the default backlog of 128 makes
# the kernel drop SYNs during a ramp-up, which would show as connect latency.
_BACKLOG = 1024
_SHUTDOWN_GRACE_S = 2.0


def listen_line(host: str, port: int) -> str:
    """The announcement printed once the socket listens."""
    shown = f"[{host}]" if ":" in host else host
    return f"listening on {shown}:{port}"


def parse_listen_line(line: str) -> tuple[str, int]:
    """(host, port) from a `listen_line`; ValueError if it is not one."""
    prefix = "listening on "
    if not line.startswith(prefix):
        raise ValueError(f"not a listen line: {line!r}")
    host, sep, port = line[len(prefix) :].strip().rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not a listen line: {line!r}")
    return host.strip("[]"), int(port)


async def serve_app(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start `app` on host:port; returns (runner, actual port). Call `runner.cleanup()` to stop.

    Raises `UsageError` when the address cannot be bound.
    """
    # A short shutdown grace: a stopping target must not wait a minute for a
    # slow handler (aiohttp's default), tests stop targets often.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_GRACE_S)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=_BACKLOG)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    actual = runner.addresses[0][1]
    return runner, int(actual)


async def run_until_signalled(
    app: web.Application,
    host: str,
    port: int,
    announce: Callable[[str], None],
) -> None:
    """Serve `app` until SIGINT or SIGTERM; `announce` receives the listen line."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner, actual = await serve_app(app, host, port)
    try:
        announce(listen_line(host, actual))
        await stop.wait()
    finally:
        await runner.cleanup()
