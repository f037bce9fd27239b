"""`HttpSession`: the requests-like client of one simulated user (`self.client`).

One session = one user: its own keep-alive pool (one per origin), its own
cookie jar. Every request is recorded exactly once through the `RecordFn`
(docs/dev/contracts.md), redirects included (one record for the whole chain,
under the first method and name), and no network failure ever raises into the
script: it comes back as a Response with `status_code == 0` and `.error`.

Sync/async duality: inside a sync task (`horde.bridge.in_sync_context()`),
`request` blocks through `await_` and returns the Response; elsewhere it
returns an awaitable. The gate is checked before anything else, so a closed
gate raises StopUser with nothing sent.

Hot path (a GET to the base origin with no extra headers): a gate check, a
cache hit for the URL, one bytes join for the request, a pool pop, one write,
one future, one timer, one record call, one Response. Everything else
(headers, bodies, cookies, auth, redirects) takes the general path.

Redirect following and the header list of the general path live in
`horde.http.redirects`.

Invariants: a connection goes back to the pool only after a complete response
that allows keep-alive, and only after its parser fields were read; a failure
on a reused connection before any response byte (the server had closed it
while idle) is retried once on a fresh connection and not counted.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import _get_running_loop
from collections.abc import Mapping
from random import randrange
from threading import get_ident
from time import perf_counter_ns
from typing import Any

from mypy_extensions import mypyc_attr

from ..bridge import await_, in_sync_context
from ..errors import RequestError, StopUser, UsageError
from ..gate import Gate
from ..stats import RecordFn
from .catch import PendingCatch
from .connection import Connection, open_connection
from .cookies import CookieJar
from .hop import Hop, finish, finish_invalid
from .models import Response
from .origin import Origin
from .pool import Pool
from .redirects import REDIRECTS, follow, request_headers
from .request import (
    HeadersArg,
    add_params,
    build_request,
    encode_body,
    header_block,
)
from .source import AUTO_LOOPBACK_COUNT, LocalAddresses
from .tls import client_context
from .urlcache import for_base

__all__ = ["HttpSession"]

_AUTO_LOCAL = LocalAddresses()  # immutable: --local-ips auto


# Compiled with mypyc (docs/dev/compiled.md), a class refuses interpreted subclasses
# unless it says otherwise; horde.compat.users.HttpSession (Locust's constructor) is one.
@mypyc_attr(allow_interpreted_subclasses=True)
class HttpSession:
    """A user's HTTP client. See the module docstring and docs/http-client.md."""

    def __init__(
        self,
        base_url: str | None,
        record: RecordFn,
        *,
        gate: Gate | None = None,
        timeout: float = 60.0,
        connect_timeout: float | None = None,
        insecure: bool = False,
        max_redirects: int = 10,
        ssl_context: ssl.SSLContext | None = None,
        local_addresses: LocalAddresses | None = None,
    ) -> None:
        self.base_url = base_url
        self.record = record
        self.gate = gate
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.insecure = insecure
        self.max_redirects = max_redirects
        self.cookies = CookieJar()
        self.headers: dict[str, str] = {}  # sent with every request (session defaults)
        self.auth: tuple[str, str] | None = None  # basic auth for every request
        self._ssl_context = ssl_context
        try:
            # Shared by the process's sessions of this base URL: bounded per
            # process, not per user (horde/http/urlcache.py).
            cache = for_base(base_url or None)
        except ValueError as exc:
            raise UsageError(f"invalid host {base_url!r}: {exc}") from None
        self._url_cache = cache
        self._urls = cache.urls  # read directly on the hot path
        self._origins = cache.origins
        self._base = cache.base
        self._pool = Pool()
        # Source addresses for new connections (--local-ips; source.py): the
        # policy is the process's, the round-robin position this session's own,
        # starting anywhere so that a process's users spread evenly.
        self._local = _AUTO_LOCAL if local_addresses is None else local_addresses
        self._local_next = randrange(AUTO_LOOPBACK_COUNT)
        self._loop_thread = 0  # the thread where a running loop was last seen (_check_loop)

    # --- public API ------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str | None = None,
        params: Any = None,
        headers: HeadersArg | None = None,
        data: Any = None,
        json: Any = None,
        files: Any = None,
        cookies: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        allow_redirects: bool = True,
        timeout: float | None = None,
        catch_response: bool = False,
    ) -> Any:
        """Send one request (see docs/http-client.md).

        Returns a Response in a sync task, else an awaitable of one; with
        `catch_response=True` a ResponseContextManager (sync) or something to
        `await` / `async with` (async).
        """
        gate = self.gate
        if gate is not None and gate.closed:
            raise StopUser()
        coro = self._request(
            method.upper(), url, name, params, headers, data, json, files, cookies, auth,
            allow_redirects, timeout, catch_response,
        )
        if in_sync_context():
            return await_(coro)
        if get_ident() != self._loop_thread:
            self._check_loop(coro)
        if catch_response:
            return PendingCatch(coro)
        return coro

    def get(self, url: str, **kwargs: Any) -> Any:
        if not kwargs or (len(kwargs) == 1 and "name" in kwargs):
            # The hot path: no arguments that change the request bytes.
            gate = self.gate
            if gate is not None and gate.closed:
                raise StopUser()
            coro = self._simple("GET", url, kwargs.get("name"))
            if in_sync_context():
                return await_(coro)
            if get_ident() != self._loop_thread:
                self._check_loop(coro)
            return coro
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        # As requests: HEAD does not follow redirects unless asked to.
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Any:
        return self.request("OPTIONS", url, **kwargs)

    def _check_loop(self, coro: Any) -> None:
        """A call from a thread other than the last one seen with a running loop: check it.

        (`asyncio._get_running_loop()` costs ~170 ns on Python 3.11, a thread id
        compare ~30 ns, so the full check runs only when the thread changes.)
        """
        if _get_running_loop() is None:
            coro.close()  # never started: no "never awaited" warning on top of this error
            raise RuntimeError(
                "an HttpSession request was made with no running event loop (from another "
                "thread, or outside the user's tasks); call it from a task of the user that "
                "owns the client"
            )
        self._loop_thread = get_ident()

    async def aclose(self) -> None:
        """Close this user's idle connections."""
        self._pool.close_all()

    # --- the request pipeline ----------------------------------------------

    def _resolve(self, url: str) -> tuple[Origin, str, str]:
        return self._url_cache.resolve(url)

    async def _request(
        self,
        method: str,
        url: str,
        name: str | None,
        params: Any,
        headers: HeadersArg | None,
        data: Any,
        json: Any,
        files: Any,
        cookies: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        allow_redirects: bool,
        timeout: float | None,
        catch: bool,
    ) -> Response:
        try:
            origin, target, default_name = self._resolve(url)
        except ValueError as exc:
            return finish_invalid(self.record, method, url, name, exc, catch)
        if name is None:
            name = default_name
        if params is not None:
            target = add_params(target, params)
        if timeout is None:
            timeout = self.timeout
        body, content_type = (None, None) if data is None and json is None and files is None \
            else encode_body(data, json, files)
        if auth is None:
            auth = self.auth
        jar = self.cookies
        if (headers is None and content_type is None and auth is None and not cookies
                and not self.headers):
            # The common case: the origin's prebuilt header block as is (plus
            # the jar's cached Cookie line, if any).
            fixed = origin.fixed + jar.line(origin.host, target, origin.tls) if jar \
                else origin.fixed
            hop = await self._exchange(
                origin, build_request(method, target, fixed, body), method == "HEAD", timeout,
            )
            sent_headers = None
        else:
            sent_headers = request_headers(
                self, origin, target, headers, content_type, auth, cookies
            )
            hop = await self._exchange(
                origin, build_request(method, target, header_block(sent_headers), body),
                method == "HEAD", timeout,
            )
        return await self._complete(method, name, origin, target, hop, headers, body,
                                    content_type, auth, cookies, allow_redirects, timeout,
                                    catch, sent_headers)

    async def _complete(
        self,
        method: str,
        name: str,
        origin: Origin,
        target: str,
        hop: Hop,
        headers: HeadersArg | None,
        body: bytes | None,
        content_type: str | None,
        auth: tuple[str, str] | None,
        cookies: Mapping[str, str] | None,
        allow_redirects: bool,
        timeout: float,
        catch: bool,
        sent_headers: list[tuple[str, str]] | None,
    ) -> Response:
        """After the first hop: store cookies, follow redirects, record."""
        if hop.set_cookies is not None:
            self.cookies.extract(hop.set_cookies, origin.host, target.partition("?")[0])
        if allow_redirects and hop.status in REDIRECTS:
            return await follow(
                self, method, name, origin, target, headers, body, content_type, auth, cookies,
                timeout, catch, hop,
            )
        return finish(self.record, method, name, origin.url_prefix + target, hop, hop, catch,
                            sent_headers, body, [])

    async def _simple(self, method: str, url: str, name: str | None) -> Response:
        """A request with no options, on a pooled connection: the measured hot path.

        Anything unusual (cookies to send, session headers, a new connection,
        a failure, a redirect, Set-Cookie) falls back to the general code.
        """
        hit = self._urls.get(url)
        if hit is None or self.headers or self.auth is not None:
            return await self._request(method, url, name, None, None, None, None, None, None,
                                       None, True, None, False)
        origin, target, default_name = hit
        if name is None:
            name = default_name
        jar = self.cookies
        if jar:
            # A logged-in user: the jar's cached Cookie line keeps it on this path.
            data = b"".join((f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), origin.fixed,
                             jar.line(origin.host, target, origin.tls), b"\r\n"))
        else:
            data = f"{method} {target} HTTP/1.1\r\n".encode("latin-1") + origin.fixed + b"\r\n"
        head = method == "HEAD"
        pool = self._pool
        conn = pool.take(origin.key)
        if conn is None:
            hop = await self._exchange(origin, data, head, self.timeout)
        else:
            waiter = conn.send(data, head, self.timeout)
            try:
                await waiter
            except BaseException:
                conn.abort()  # cancelled mid-response: never reusable
                raise
            error = conn.error
            if error is None:
                parser = conn.parser
                status = parser.status_code
                if parser.set_cookies is None and status not in REDIRECTS:
                    body = parser.body
                    t_start = conn.t_start
                    latency_us = (conn.t_done - t_start) // 1000
                    ttfb_us = (conn.t_first - t_start) // 1000
                    response = Response(status, parser.raw_head, body, origin.url_prefix + target,
                                        latency_us, ttfb_us, None, method)
                    pool.give_back(origin.key, conn)
                    self.record(method, name, latency_us, len(body),
                                None if status < 400 else f"HTTP {status}", ttfb_us)
                    return response
                hop = Hop(conn, None)
                pool.give_back(origin.key, conn)
            else:
                conn.close()
                if conn.response_started:
                    hop = Hop(conn, error)
                else:
                    # Closed by the server while idle: resend once on a fresh connection.
                    hop = await self._exchange(origin, data, head, self.timeout, fresh=True)
        return await self._complete(method, name, origin, target, hop, None, None, None, None,
                                    None, True, self.timeout, False, None)

    async def _exchange(
        self, origin: Origin, data: bytes, head: bool, timeout: float, fresh: bool = False
    ) -> Hop:
        """Send `data` on a pooled (unless `fresh`) or new connection; wait for the response."""
        pool = self._pool
        conn = None if fresh else pool.take(origin.key)
        reused = conn is not None
        for _attempt in (0, 1):
            if conn is None:
                # A per-request timeout shorter than the connect timeout bounds the connect too.
                conn_or_hop = await self._connect(origin, min(timeout, self.connect_timeout))
                if isinstance(conn_or_hop, Hop):
                    return conn_or_hop
                conn = conn_or_hop
            waiter = conn.send(data, head, timeout)
            try:
                await waiter
            except BaseException:
                # Cancelled while waiting (the user is being stopped): the
                # connection is mid-response and can never be reused.
                conn.abort()
                raise
            error = conn.error
            if error is None:
                hop = Hop(conn, None)
                pool.give_back(origin.key, conn)
                return hop
            conn.close()
            if not (reused and not conn.response_started):
                return Hop(conn, error)
            # The server closed this idle keep-alive connection just as we
            # reused it: nothing was answered, so resend once on a fresh one.
            conn = None
            reused = False
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self, origin: Origin, connect_timeout: float) -> Connection | Hop:
        loop = asyncio.get_running_loop()
        context = None
        if origin.tls:
            context = self._ssl_context or client_context(self.insecure)
        sources = self._local.for_host(origin.host)
        local = None
        if sources:
            local = sources[self._local_next % len(sources)]
            self._local_next += 1
        t0 = perf_counter_ns()
        try:
            return await open_connection(loop, origin, connect_timeout, context, local)
        except RequestError as exc:
            hop = Hop(None, exc, t0)
            hop.t_done = perf_counter_ns()
            return hop
