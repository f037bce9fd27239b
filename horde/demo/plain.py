"""A plain, deterministic target for counting tests (``--app plain``).

Nothing here is random, so a test can predict every answer:

* ``GET /fast`` -- 200, body ``ok``;
* ``GET /fail`` -- always 500, body ``fail``;
* ``GET /slow?ms=N`` -- 200 after sleeping N ms (0..60000; 400 otherwise);
* ``GET /stall?every_ms=E&for_ms=F`` -- 200, body ``ok``, except that the
  route stalls for the last F ms of every E ms (counted from the app's
  start): a request that arrives then is answered when the stall ends (a
  server that freezes now and then: a GC pause, a failover);
* ``GET /status/{code}`` -- answers that status (200..599), body ``status N``
  (no body for 204 and 304);
* ``POST /echo`` -- 200 with the request body and its content type;
* ``GET /bytes/{n}`` -- 200 with n bytes of ``x`` (at most 16 MiB);
* ``GET /redirect/{n}`` -- 302 to ``/redirect/{n-1}``, ``/redirect/0`` to ``/fast``;
* ``GET /headers`` -- the request headers as a JSON object;
* ``GET /set-cookie?name=value`` -- sets each query pair as a cookie;
  ``GET /cookies`` -- the cookies the request carried, as JSON;
* ``GET /__counts`` -- exact counts, see `horde.demo.counts`.

Every route is counted under its pattern (``"GET /status/{code}"``), with the
status split in ``by_route_status``.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from horde.demo.counts import install_counts

__all__ = ["MAX_SLOW_MS", "MAX_BYTES", "make_plain_app"]

MAX_SLOW_MS = 60_000
MAX_BYTES = 16 * 1024 * 1024


def _int_in(raw: str | None, what: str, low: int, high: int) -> int:
    try:
        value = int(raw) if raw is not None else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{what} must be a whole number in [{low}, {high}]")
    return value


async def fast(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def fail(request: web.Request) -> web.Response:
    return web.Response(status=500, text="fail")


async def slow(request: web.Request) -> web.Response:
    ms = _int_in(request.query.get("ms"), "ms", 0, MAX_SLOW_MS)
    await asyncio.sleep(ms / 1000)
    return web.Response(text=f"slept {ms} ms")


_STARTED = web.AppKey("stall_started", float)


async def stall(request: web.Request) -> web.Response:
    every = _int_in(request.query.get("every_ms"), "every_ms", 1, MAX_SLOW_MS) / 1000
    freeze = _int_in(request.query.get("for_ms"), "for_ms", 0, MAX_SLOW_MS) / 1000
    phase = (time.monotonic() - request.app[_STARTED]) % every
    if phase >= every - freeze:
        await asyncio.sleep(every - phase)
    return web.Response(text="ok")


async def status(request: web.Request) -> web.Response:
    code = _int_in(request.match_info["code"], "code", 200, 599)
    if code in (204, 304):
        return web.Response(status=code)
    return web.Response(status=code, text=f"status {code}")


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(body=body, content_type=request.content_type)


async def some_bytes(request: web.Request) -> web.Response:
    n = _int_in(request.match_info["n"], "n", 0, MAX_BYTES)
    return web.Response(body=b"x" * n, content_type="application/octet-stream")


async def redirect(request: web.Request) -> web.Response:
    n = _int_in(request.match_info["n"], "n", 0, 100)
    raise web.HTTPFound("/fast" if n == 0 else f"/redirect/{n - 1}")


async def headers(request: web.Request) -> web.Response:
    return web.json_response({k: v for k, v in request.headers.items()})


async def set_cookie(request: web.Request) -> web.Response:
    response = web.json_response(dict(request.query))
    for name, value in request.query.items():
        response.set_cookie(name, value, path="/")
    return response


async def cookies(request: web.Request) -> web.Response:
    return web.json_response(dict(request.cookies))


def make_plain_app() -> web.Application:
    """The plain target as an aiohttp application (not started)."""
    app = web.Application(client_max_size=MAX_BYTES)
    install_counts(app)
    app.router.add_get("/fast", fast)
    app.router.add_get("/fail", fail)
    app.router.add_get("/slow", slow)
    app[_STARTED] = time.monotonic()
    app.router.add_get("/stall", stall)
    app.router.add_get("/status/{code}", status)
    app.router.add_post("/echo", echo)
    app.router.add_get("/bytes/{n}", some_bytes)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_get("/headers", headers)
    app.router.add_get("/set-cookie", set_cookie)
    app.router.add_get("/cookies", cookies)
    return app
