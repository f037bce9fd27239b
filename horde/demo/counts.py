"""Exact request counting for the demo targets, exposed at ``GET /__counts``.

A load test is only believable when its totals can be checked against what the
target actually answered. Every app in this package installs `install_counts`,
which adds a middleware counting each request twice:

* ``received``: when the request reaches the app (before the handler runs);
* per route, per status, and per (route, status): when the handler has produced
  its answer, *before* the response is written. A client that has read a
  response therefore always finds it already counted.

Routes are keyed ``"METHOD /canonical/{pattern}"`` (for example
``"GET /items/{id}"``), requests matching no route as ``"METHOD <unmatched>"``.

Invariants:

* the counters live in the application (one `RequestCounts` per app, under
  `COUNTS_KEY`), never at module level;
* the counting routes themselves (``/__counts``) are never counted, so reading
  the counts does not change them;
* a handler cancelled before answering is counted in ``received`` only;
  ``answered`` (also served as ``total``) is the sum over every status.

``DELETE /__counts`` zeroes everything (useful between phases of a test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["COUNTS_PATH", "COUNTS_KEY", "RequestCounts", "install_counts", "route_key"]

COUNTS_PATH = "/__counts"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestCounts:
    """Counters of one application; single-threaded (the app's event loop)."""

    __slots__ = ("received", "routes", "statuses", "route_statuses")

    def __init__(self) -> None:
        self.received = 0
        self.routes: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.route_statuses: Counter[tuple[str, int]] = Counter()

    def add(self, route: str, status: int) -> None:
        self.routes[route] += 1
        self.statuses[status] += 1
        self.route_statuses[route, status] += 1

    def reset(self) -> None:
        self.received = 0
        self.routes.clear()
        self.statuses.clear()
        self.route_statuses.clear()

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready copy: status codes become strings (JSON object keys)."""
        by_route: dict[str, dict[str, int]] = {}
        for (route, status), n in sorted(self.route_statuses.items()):
            by_route.setdefault(route, {})[str(status)] = n
        answered = sum(self.statuses.values())
        return {
            "received": self.received,
            "answered": answered,
            "total": answered,
            "routes": dict(sorted(self.routes.items())),
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "by_route_status": by_route,
        }


COUNTS_KEY = web.AppKey("horde_demo_counts", RequestCounts)


def route_key(request: web.Request) -> str:
    """``"METHOD /pattern"`` of the route that matched, or ``"METHOD <unmatched>"``."""
    resource = request.match_info.route.resource
    if resource is None:
        return f"{request.method} <unmatched>"
    return f"{request.method} {resource.canonical}"


@web.middleware
async def _count(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == COUNTS_PATH:
        return await handler(request)
    counts = request.app[COUNTS_KEY]
    counts.received += 1
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # aiohttp answers these itself (404 of the router, 401 of a handler...).
        counts.add(route_key(request), exc.status)
        raise
    except Exception:
        # aiohttp turns any other exception into a 500.
        counts.add(route_key(request), 500)
        raise
    counts.add(route_key(request), response.status)
    return response


async def _get_counts(request: web.Request) -> web.Response:
    return web.json_response(request.app[COUNTS_KEY].as_json())


async def _reset_counts(request: web.Request) -> web.Response:
    request.app[COUNTS_KEY].reset()
    return web.json_response(request.app[COUNTS_KEY].as_json())


def install_counts(app: web.Application) -> RequestCounts:
    """Add the counting middleware and ``/__counts`` routes to `app` (before it starts)."""
    counts = RequestCounts()
    app[COUNTS_KEY] = counts
    app.middlewares.append(_count)
    app.router.add_get(COUNTS_PATH, _get_counts)
    app.router.add_delete(COUNTS_PATH, _reset_counts)
    return counts
