"""Starting and stopping the web UI in the runner's own event loop.

    server = await start_web(controller, "127.0.0.1", 8089, auth=None, defaults=WebDefaults())
    print(server.url)
    ...
    await server.close()

The app serves the page (`/`, `/static/...`), the JSON API (`/api/...`), the
downloads (`/download/...`), the live push (`/ws`) and Prometheus metrics
(`/metrics`, horde.web.metrics), all reading one
`Controller`. Nothing in it blocks the loop: every handler reads in-memory
figures or renders a report from a snapshot.

Invariants: the server listens only where it is told (`host`, `port`; port 0
picks a free port and `url` shows the real one); it answers only its own
pages, under host names it knows (`horde.web.guard`, checked before anything
else); with `auth`, every route, the WebSocket and the assets included, needs
the credentials; `close()` closes open pages' sockets, then the listener, and
is idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from horde.errors import UsageError
from horde.runtime.control import Controller
from horde.stats.checks import CheckWatch
from horde.web.api import Api, encode_json
from horde.web.assets import Assets
from horde.web.auth import basic_auth_middleware
from horde.web.downloads import Downloads
from horde.web.guard import AllowedHosts, display_host, guard_middleware
from horde.web.metrics import MetricsEndpoint
from horde.web.payload import state_payload
from horde.web.push import LiveHub

__all__ = ["WebDefaults", "WebServer", "start_web", "build_app", "DEFAULT_WEB_PORT", "ScriptRoute"]

DEFAULT_WEB_PORT = 8089


@dataclass(frozen=True)
class WebDefaults:
    """What the start form shows first.

    A field left None was not given on the command line: the form then shows
    the UI's own default (1 user, 1 user/s, the script's host, no run time).
    """

    users: int | None = None
    spawn_rate: float | None = None
    host: str | None = None
    run_time: float | None = None
    """Seconds."""
    stages: str | None = None
    """``--stages`` as text ("30s:100,2m:100,30s:0")."""
    arrival_rate: float | None = None
    arrival_stages: str | None = None
    """``--arrival-stages`` as text."""
    max_lateness: float | None = None
    """Seconds."""

    def as_json(self) -> dict[str, object]:
        return {
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "host": self.host,
            "run_time": self.run_time,
            "stages": self.stages,
            "arrival_rate": self.arrival_rate,
            "arrival_stages": self.arrival_stages,
            "max_lateness": self.max_lateness,
        }


ScriptRoute = tuple[str, tuple[str, ...], Callable[..., Any]]
"""(path, methods, handler) a test script added; the handler returns text, bytes or JSON."""


def _script_handler(fn: Callable[..., Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        result = fn(**request.match_info)
        status = 200
        if isinstance(result, tuple) and len(result) == 2:
            result, status = result
        if isinstance(result, web.Response):
            return result
        if isinstance(result, bytes):
            return web.Response(body=result, status=status)
        if isinstance(result, str):
            return web.Response(text=result, status=status, content_type="text/html")
        return web.Response(text=encode_json(result), status=status,
                            content_type="application/json")

    return handle


def build_app(
    controller: Controller,
    defaults: WebDefaults,
    auth: tuple[str, str] | None = None,
    checks: CheckWatch | None = None,
    allowed: AllowedHosts | None = None,
    on_reset: Callable[[], None] | None = None,
    script_routes: Sequence[ScriptRoute] = (),
) -> tuple[web.Application, LiveHub]:
    """The aiohttp application and its live hub (not yet started); `checks`: the
    --check thresholds, judged live in the state and in the downloads.

    `allowed` defaults to loopback names only; `on_reset` runs before the UI
    resets the statistics (a reset, or a new test after a stop).
    """
    # The guard first: a refused request must not even reach the credentials check.
    middlewares = [guard_middleware(allowed or AllowedHosts.for_bind("127.0.0.1"))]
    if auth is not None:
        middlewares.append(basic_auth_middleware(*auth))
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    hub = LiveHub(lambda: encode_json(state_payload(controller, checks)))
    api = Api(controller, nudge=hub.nudge, checks=checks, before_reset=on_reset)
    api.add_routes(app)
    Assets().add_routes(app)
    Downloads(controller, checks).add_routes(app)
    MetricsEndpoint(controller, checks).add_routes(app)  # GET /metrics (Prometheus)
    defaults_text = encode_json(defaults.as_json())

    async def get_defaults(request: web.Request) -> web.Response:
        return web.Response(text=defaults_text, content_type="application/json")

    app.router.add_get("/api/defaults", get_defaults)
    app.router.add_get("/ws", hub.handle)
    for path, methods, fn in script_routes:  # after horde's own: a script cannot replace them
        for method in methods:
            try:
                app.router.add_route(method, path, _script_handler(fn))
            except (RuntimeError, ValueError) as exc:
                raise UsageError(f"the script's web route {method} {path}: {exc}") from None
    return app, hub


class WebServer:
    """A running web UI; see `start_web`."""

    def __init__(self, runner: web.AppRunner, hub: LiveHub, host: str, port: int) -> None:
        self._runner = runner
        self.hub = hub
        self.host = host
        self.port = port
        self._closed = False

    @property
    def url(self) -> str:
        """e.g. ``http://127.0.0.1:8089`` (no trailing slash), with the real port."""
        return f"http://{display_host(self.host)}:{self.port}"

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.hub.close()
        await self._runner.cleanup()


async def start_web(
    controller: Controller,
    host: str,
    port: int,
    auth: tuple[str, str] | None,
    defaults: WebDefaults,
    checks: CheckWatch | None = None,
    *,
    allowed_hosts: Sequence[str] = (),
    on_reset: Callable[[], None] | None = None,
    script_routes: Sequence[ScriptRoute] = (),
) -> WebServer:
    """Serve the UI for `controller` on host:port in the running loop.

    `allowed_hosts` (`--web-allowed-host`) are host names the UI answers to
    besides loopback and `host` (horde.web.guard). Raises `UsageError` when
    the address cannot be bound (in use, not local).
    """
    allowed = AllowedHosts.for_bind(host, allowed_hosts)
    app, hub = build_app(controller, defaults, auth, checks, allowed, on_reset,
                         script_routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host or None, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"the web UI cannot listen on {host or '*'}:{port}: {exc}") from exc
    addresses = runner.addresses
    real_port = int(addresses[0][1]) if addresses else port
    hub.start()
    return WebServer(runner, hub, host, real_port)
