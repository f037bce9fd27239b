"""A real local run with its web UI, in a background thread with its own event loop.

Playwright's sync API wants the main thread, and the runner wants a loop; so
`LiveUI` runs a `LocalRunner` and `start_web` on 127.0.0.1:0 in a thread, and
the test talks to it over HTTP (urllib, the browser) like a person would.
`call(fn)` runs `fn()` inside the loop for the rare look at the runner itself.

Bounded: start-up and teardown wait at most a few seconds; on exit the run is
stopped (then forced) and the server closed, whatever the test did.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from horde.events import Events
from horde.runtime.local import LocalRunner, RunOptions
from horde.user import User
from horde.web import WebDefaults, WebServer, start_web

__all__ = ["LiveUI", "http_json", "HttpAnswer"]

T = TypeVar("T")

# Loopback only, never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpAnswer:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    def json(self) -> Any:
        return json.loads(self.body)


def http_json(url: str, method: str = "GET", body: Any = None, raw: bytes | None = None,
              headers: dict[str, str] | None = None) -> HttpAnswer:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = dict(headers or {})
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=10) as resp:
            return HttpAnswer(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return HttpAnswer(err.code, err.read(), dict(err.headers))


class LiveUI:
    def __init__(self, classes: Sequence[type[User]], host: str | None,
                 auth: tuple[str, str] | None = None,
                 defaults: WebDefaults | None = None,
                 controller: Callable[[], Any] | None = None,
                 allowed_hosts: Sequence[str] = (), plan: Any = None) -> None:
        self._make_controller = controller
        self._plan = plan  # e.g. an ArrivalRate: the run follows it (the open model)
        self._allowed_hosts = tuple(allowed_hosts)
        self._classes = classes
        self._host = host
        self._auth = auth
        self._defaults = defaults or WebDefaults(host=host)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-ui",
                                        daemon=True)
        self.runner: LocalRunner | None = None
        self.server: WebServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def api(self, path: str, body: Any = None, method: str | None = None,
            headers: dict[str, str] | None = None, own_origin: bool = True,
            **kw: Any) -> HttpAnswer:
        """A request as the UI's own page makes it: a POST names the UI as its Origin
        (unless `headers` give another, or `own_origin` is False)."""
        method = method or ("POST" if body is not None else "GET")
        headers = dict(headers or {})
        if method == "POST" and own_origin:
            headers.setdefault("Origin", self.url)
        return http_json(self.url + path, method, body, headers=headers, **kw)

    async def _setup(self) -> None:
        if self._make_controller is not None:
            # A stand-in Controller (e.g. 500 endpoints, a fleet) instead of a real run.
            self.server = await start_web(self._make_controller(), "127.0.0.1", 0, self._auth,
                                          self._defaults, allowed_hosts=self._allowed_hosts)
            return
        self.runner = LocalRunner(self._classes, RunOptions(host=self._host, stop_timeout=2.0,
                                                            request_timeout=5.0), Events(),
                                  plan=self._plan)
        self.server = await start_web(self.runner, "127.0.0.1", 0, self._auth, self._defaults,
                                      allowed_hosts=self._allowed_hosts)

    async def _teardown(self) -> None:
        if self.runner is not None:
            self.runner.request_stop()
            try:
                await asyncio.wait_for(self.runner.wait_stopped(), 8)
            except TimeoutError:
                self.runner.force_stop()
        if self.server is not None:
            await self.server.close()

    def __enter__(self) -> LiveUI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._setup(), self._loop).result(10)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._teardown(), self._loop).result(15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            if not self._thread.is_alive():
                self._loop.close()
