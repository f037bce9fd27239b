"""One HTTP/1.1 connection as an `asyncio.Protocol`: send a request, await its response.

`open_connection` connects (TCP, optionally TLS with SNI) within a connect
timeout and translates every failure into a `RequestError` subclass.
`Connection.send` writes one request and returns a future that resolves (never
with an exception) when the response is complete or failed; the outcome is in
`conn.error` and the parser fields. Timestamps are taken inside the protocol
callbacks (`perf_counter_ns`): first byte written, first response byte read,
last body byte read. So the latency does not include the time the awaiting
task then waits for its turn on a busy loop (it does include the loop's delay
in reading bytes that had already arrived, which no single loop can avoid).

State (one request at a time):

    IDLE --send()--> BUSY --response complete / error / timeout--> IDLE or DEAD

Invariants:

* the waiter future is only ever resolved with `set_result(None)`; errors go
  to `self.error`, so nothing can reach asyncio's "exception was never
  retrieved" handler, even when the awaiting task was cancelled;
* `reusable` is True only for an open, idle connection whose last response
  allowed keep-alive; anything unexpected (bytes while idle, EOF, a parse
  error, a timeout) makes the connection DEAD and it is aborted;
* `response_started` tells the session whether a failure on a reused
  connection happened before any response byte: the one case that is retried
  on a fresh connection without counting a failure;
* the read timeout is one `loop.call_later` timer per connection, not per
  request (a timer costs ~1 µs): it stays armed across requests, and when it
  fires it either fails the request whose deadline passed or re-arms itself for
  the current request's deadline. A request with an earlier deadline than the
  armed timer re-arms it at once, so no timeout ever fires late.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from time import perf_counter_ns

from ..errors import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    ReadTimeout,
    RequestError,
    ResponseParseError,
    TLSError,
    TooManyOpenFiles,
)
from .origin import Origin
from .response import ResponseParser
from .source import bound_socket

__all__ = ["Connection", "open_connection", "translate_os_error", "too_many_open_files"]


def too_many_open_files(exc: OSError) -> TooManyOpenFiles:
    return TooManyOpenFiles(
        f"TooManyOpenFiles: [Errno 24] {exc.strerror or 'Too many open files'}; "
        "raise the open-files limit (ulimit -n) or use more processes"
    )


def translate_os_error(exc: BaseException, during_connect: bool) -> RequestError:
    """A RequestError for an exception raised by the socket layer."""
    if isinstance(exc, RequestError):
        return exc
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        return TLSError(f"TLSError: {reason}")
    if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
        return too_many_open_files(exc)
    if isinstance(exc, socket.gaierror):
        return ConnectError(f"ConnectError: [Errno {exc.errno}] {exc.strerror}")
    if during_connect:
        return ConnectError(f"ConnectError: {exc}")
    if isinstance(exc, OSError) and exc.errno is not None:
        return ConnectionClosed(f"ConnectionClosed: [Errno {exc.errno}] {exc.strerror}")
    return ConnectionClosed(f"ConnectionClosed: {exc or type(exc).__name__}")


class Connection(asyncio.Protocol):
    """The protocol object of one TCP (or TLS) connection; see module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0  # perf_counter_ns when self.timer fires
        self.deadline = 0  # perf_counter_ns by which the current response must be complete
        self.timeout = 0.0
        self.error: RequestError | None = None
        self.closed = False
        self.requests = 0  # requests sent on this connection
        self.t_start = 0
        self.t_first = 0
        self.t_done = 0

    # --- used by the pool and the session -----------------------------------

    @property
    def reusable(self) -> bool:
        return not self.closed and self.waiter is None and self.parser.reusable

    @property
    def response_started(self) -> bool:
        return self.parser.started

    def send(self, data: bytes, head: bool, timeout: float) -> asyncio.Future[None]:
        """Write one request; the future resolves when its response is complete or failed."""
        self.parser.start(head)
        self.error = None
        self.t_first = 0
        self.requests += 1
        waiter = self.loop.create_future()
        self.waiter = waiter
        self.timeout = timeout
        now = perf_counter_ns()
        deadline = self.deadline = now + int(timeout * 1e9)
        # One timer per connection, not per request: it stays armed across
        # requests and re-arms itself for the current deadline when it fires
        # (see _on_timer). Only a deadline earlier than the armed one re-arms now.
        timer = self.timer
        if timer is None or self.timer_at > deadline:
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_later(timeout, self._on_timer)
            self.timer_at = deadline
        self.t_start = now
        self.transport.write(data)  # type: ignore[union-attr]
        return waiter

    def abort(self) -> None:
        """Drop the connection at once (RST if possible); a pending request fails."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        self._resolve(ConnectionClosed("ConnectionClosed: connection aborted"))

    def close(self) -> None:
        self.closed = True
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.t_first:
            self.t_first = perf_counter_ns()
        try:
            done = self.parser.feed(data)
        except ResponseParseError as exc:
            self._fail(exc)
            return
        if done:
            self.t_done = perf_counter_ns()
            self._resolve(None)
        elif self.waiter is None:
            # Bytes nobody asked for (the parser noted it): never reuse this connection.
            self._fail(ConnectionClosed("ConnectionClosed: unexpected data"))

    def eof_received(self) -> bool:
        self.closed = True
        if self.waiter is not None:
            try:
                if self.parser.feed_eof():
                    self.t_done = perf_counter_ns()
                    self._resolve(None)
            except ConnectionClosed as exc:
                self._resolve(exc)
            except ResponseParseError as exc:  # bad gzip in a close-delimited body
                self._resolve(exc)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        if self.waiter is not None:
            if exc is None:
                try:
                    if self.parser.feed_eof():
                        self.t_done = perf_counter_ns()
                        self._resolve(None)
                        return
                except RequestError as err:
                    self._resolve(err)
                    return
                self._resolve(ConnectionClosed("ConnectionClosed: connection closed"))
            else:
                self._resolve(translate_os_error(exc, during_connect=False))

    # --- internals -----------------------------------------------------------

    def _on_timer(self) -> None:
        self.timer = None
        if self.waiter is None or self.closed:
            return  # idle: the next send arms a new timer
        now = perf_counter_ns()
        if now >= self.deadline:
            self._fail(ReadTimeout(f"ReadTimeout: no response within {self.timeout:g} s"))
        else:
            # Armed for an earlier request: wait for what is left of this one's time.
            self.timer = self.loop.call_later((self.deadline - now) / 1e9, self._on_timer)
            self.timer_at = self.deadline

    def _cancel_timer(self) -> None:
        timer = self.timer
        if timer is not None:
            timer.cancel()
            self.timer = None

    def _fail(self, exc: RequestError) -> None:
        self.closed = True
        self._resolve(exc)
        if self.transport is not None:
            self.transport.abort()

    def _resolve(self, exc: RequestError | None) -> None:
        waiter = self.waiter
        if waiter is None:
            return
        self.waiter = None
        if exc is not None:
            self.error = exc
            self.t_done = perf_counter_ns()
        if not waiter.done():
            waiter.set_result(None)


async def open_connection(
    loop: asyncio.AbstractEventLoop,
    origin: Origin,
    timeout: float,
    ssl_context: ssl.SSLContext | None,
    local: str | None = None,
) -> Connection:
    """A connected `Connection` to `origin`, or a RequestError raised within `timeout` s.

    `local`: the source address to send from (horde/http/source.py), None for
    the kernel's choice.
    """
    conn = Connection(loop, origin)
    sock = None
    try:
        async with asyncio.timeout(timeout):
            if local is None:
                await loop.create_connection(
                    lambda: conn,
                    origin.host,
                    origin.port,
                    ssl=ssl_context if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                )
            else:
                sock = bound_socket(local)
                try:
                    await loop.sock_connect(sock, (origin.host, origin.port))
                except OSError as exc:
                    # Worded as create_connection words it ("Connect call failed
                    # ('127.0.0.1', 8080)" would make one failure a key per port).
                    if exc.errno is None:
                        raise
                    raise OSError(exc.errno, os.strerror(exc.errno)) from None
                await loop.create_connection(
                    lambda: conn,
                    sock=sock,
                    ssl=ssl_context if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                )
    except TimeoutError:
        conn.close()
        if sock is not None:
            sock.close()
        raise ConnectTimeout(f"ConnectTimeout: no connection within {timeout:g} s") from None
    except (OSError, ssl.SSLError, ssl.CertificateError, ValueError) as exc:
        conn.close()
        if sock is not None:
            sock.close()
        raise translate_os_error(exc, during_connect=True) from None
    except BaseException:
        if sock is not None:
            sock.close()  # cancelled mid-connect: the transport never took it
        raise
    return conn
