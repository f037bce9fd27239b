"""`GET /metrics`: Prometheus metrics, on the web UI and on `--metrics-port`.

    MetricsEndpoint(controller).add_routes(app)           # inside the web UI
    server = await start_metrics_server(controller, "127.0.0.1", 9089)
    ...
    await server.close()

A scrape reads the run in the event loop (`read_metrics`: a copy of the
figures, a few ms at most for hundreds of endpoints and workers) and renders
the text in a thread from that immutable reading, so a large scrape costs
the run loop only the reading. Scrapes are served one at a time: a second
one waits for the first instead of rendering twice in parallel.

The standalone server checks the Host header as the web UI does
(`horde.web.guard`, rule 1): a DNS-rebinding page must not read the figures
under a name of its own. Its list is built from `--metrics-host` the way the
UI's is built from `--web-host` (plus the `--web-allowed-host` names): with
a wildcard bind any IP address passes, so Prometheus scraping a pod by its
address keeps working, and GETs without Origin (Prometheus, curl) pass the
other rules untouched.

Invariants: nothing here changes the run; the standalone server answers
`/metrics` only (and `/` with a pointer to it), on the address it is told,
to the host names its guard allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from horde.errors import UsageError
from horde.report.prometheus import MetricsSource, read_metrics, render_metrics
from horde.stats.checks import CheckWatch
from horde.web.guard import AllowedHosts, display_host, guard_middleware

__all__ = ["MetricsEndpoint", "MetricsServer", "start_metrics_server", "METRICS_PATH"]

METRICS_PATH = "/metrics"


class MetricsEndpoint:
    """The `/metrics` handler over one run (and its --check thresholds, if any)."""

    def __init__(self, source: MetricsSource, checks: CheckWatch | None = None) -> None:
        self._source = source
        self._checks = checks
        self._lock = asyncio.Lock()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(METRICS_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        async with self._lock:
            reading = read_metrics(self._source, self._checks)  # in the loop: live state
            loop = asyncio.get_running_loop()
            body, content_type = await loop.run_in_executor(None, render_metrics, reading)
        return web.Response(body=body, headers={"Content-Type": content_type})


class MetricsServer:
    """A running `--metrics-port` server; see `start_metrics_server`."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self._runner = runner
        self.host = host
        self.port = port
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://{display_host(self.host)}:{self.port}{METRICS_PATH}"

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._runner.cleanup()


async def start_metrics_server(source: MetricsSource, host: str, port: int,
                               checks: CheckWatch | None = None, *,
                               allowed_hosts: Sequence[str] = ()) -> MetricsServer:
    """Serve `/metrics` for `source` on host:port in the running loop (port 0: any free one).

    `allowed_hosts` are host names it answers to besides loopback and `host`
    (see the module docstring). Raises `UsageError` when the address cannot
    be bound.
    """
    guard = guard_middleware(AllowedHosts.for_bind(host, allowed_hosts), "metrics server")
    app = web.Application(middlewares=[guard], client_max_size=4096)
    MetricsEndpoint(source, checks).add_routes(app)

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=f"horde metrics: {METRICS_PATH}\n")

    app.router.add_get("/", index)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host or None, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"the metrics server cannot listen on {host or '*'}:{port}: "
                         f"{exc}") from exc
    addresses = runner.addresses
    real_port = int(addresses[0][1]) if addresses else port
    return MetricsServer(runner, host, real_port)
