"""Loopback test servers for the HTTP client tests, each in its own thread and loop.

* `GoodServer` — an aiohttp.web app with one route per client feature; it
  logs every request it saw (method, path) so tests can compare with what the
  client recorded. Optionally also serves TLS with a given certificate.
* `BrokenServer` — a raw asyncio server that misbehaves on purpose, chosen by
  the request path (reset mid-body, stall, garbage status line, ...).

Both bind 127.0.0.1 on a free port only, and stop when `stop()` is called.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["GoodServer", "BrokenServer"]


class _ThreadLoop:
    """An event loop running in a daemon thread; `start` runs a setup coroutine in it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class GoodServer:
    """A well-behaved aiohttp server on 127.0.0.1 (plain, and TLS if a cert is given)."""

    def __init__(self, certfile: str | None = None, keyfile: str | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        self._thread = _ThreadLoop()
        self.port, self.tls_port = self._thread.run(self._start(certfile, keyfile))
        self.url = f"http://127.0.0.1:{self.port}"
        self.tls_url = f"https://localhost:{self.tls_port}" if self.tls_port else ""

    def stop(self) -> None:
        self._thread.run(self._runner.cleanup())
        self._thread.stop()

    async def _start(self, certfile: str | None, keyfile: str | None) -> tuple[int, int]:
        app = web.Application(middlewares=[self._log])
        app.add_routes(
            [
                web.get("/", self._hello),
                web.route("*", "/echo", self._echo),
                web.route("*", "/echo/{tail:.*}", self._echo),
                web.post("/upload", self._upload),
                web.get("/gzip", self._gzip),
                web.get("/deflate", self._deflate),
                web.get("/json", self._json),
                web.post("/login", self._login),
                web.get("/private", self._private),
                web.get("/redirect/{code}", self._redirect),
                web.route("*", "/redirect-post/{code}", self._redirect),
                web.get("/chain/{n}", self._chain),
                web.get("/loop", self._loop),
                web.get("/auth", self._auth),
                web.route("*", "/status/{code}", self._status),
                web.get("/latin1", self._latin1),
                web.get("/cookie-path", self._cookie_path),
                web.get("/a/b", self._echo),
                web.get("/big", self._big),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        tls_port = 0
        if certfile:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certfile, keyfile)
            tls_site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
            await tls_site.start()
            tls_port = tls_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return port, tls_port

    @web.middleware
    async def _log(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.seen.append((request.method, request.path))
        return await handler(request)

    async def _hello(self, request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": [[k, v] for k, v in request.query.items()],
                "headers": dict(request.headers),
                "cookies": dict(request.cookies),
                "body": body.decode("latin-1"),
            }
        )

    async def _upload(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        parts: dict[str, Any] = {}
        async for part in reader:
            data = await part.read()  # type: ignore[union-attr]
            parts[part.name or ""] = {  # type: ignore[union-attr]
                "filename": part.filename,  # type: ignore[union-attr]
                "content_type": part.headers.get("Content-Type"),
                "data": data.decode("latin-1"),
            }
        return web.json_response(parts)

    async def _gzip(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"zipped " * 100), headers={"Content-Encoding": "gzip"}
        )

    async def _deflate(self, request: web.Request) -> web.Response:
        return web.Response(
            body=zlib.compress(b"deflated " * 100), headers={"Content-Encoding": "deflate"}
        )

    async def _json(self, request: web.Request) -> web.Response:
        return web.json_response({"a": 1, "b": [1, 2, 3], "s": "é"})

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("user") != "alice":
            return web.Response(status=403)
        response = web.HTTPFound("/private")
        response.set_cookie("session", "s3cret", path="/")
        raise response

    async def _private(self, request: web.Request) -> web.Response:
        if request.cookies.get("session") != "s3cret":
            return web.Response(status=401, text="who are you?")
        return web.Response(text="welcome alice")

    async def _redirect(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, headers={"Location": "/echo?from=" + str(code)})

    async def _chain(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        target = "/echo" if n <= 0 else f"/chain/{n - 1}"
        return web.Response(status=302, headers={"Location": target})

    async def _loop(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop"})

    async def _auth(self, request: web.Request) -> web.Response:
        # "alice:wonderland" in base64
        if request.headers.get("Authorization") != "Basic YWxpY2U6d29uZGVybGFuZA==":
            return web.Response(status=401)
        return web.Response(text="authorised")

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, text=None if code in (204, 304) else str(code))

    async def _latin1(self, request: web.Request) -> web.Response:
        return web.Response(
            body="café".encode("latin-1"), headers={"Content-Type": "text/plain; charset=latin-1"}
        )

    async def _cookie_path(self, request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        response.set_cookie("scoped", "yes", path="/a")
        return response

    async def _big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 300_000)


# --- the broken server -------------------------------------------------------------

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset instead of a FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class BrokenServer:
    """A raw HTTP/1.1 server; the request path picks how it misbehaves.

    Counts `connections` accepted and `requests` read per path.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.requests: dict[str, int] = {}
        self._thread = _ThreadLoop()
        self.port = self._thread.run(self._start())
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()

        self._thread.run(close())
        self._thread.stop()

    async def _start(self) -> int:
        self._writers: set[asyncio.StreamWriter] = set()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        index = 0  # requests seen on this connection
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    return
                path = head.split(b" ", 2)[1].decode()
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                self.requests[path] = self.requests.get(path, 0) + 1
                behaviour = _BEHAVIOURS.get(path.partition("?")[0], _ok)
                keep_open = await behaviour(reader, writer, index)
                index += 1
                if not keep_open:
                    return
        finally:
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()


async def _ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return True


async def _reset_mid_body(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
    await w.drain()
    await asyncio.sleep(0.05)
    _rst(w)
    return False


async def _stall(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    # Never answer; wait (bounded) for the client to give up and close.
    try:
        await asyncio.wait_for(r.read(), 20)
    except TimeoutError:
        pass
    return False


async def _stall_body(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    return await _stall(r, w, i)


async def _garbage(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTXP/9 what is this\r\n\r\n")
    await asyncio.sleep(0.5)  # leave the client time to fail on the bytes, not on EOF
    return False


async def _bad_chunk(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
    await asyncio.sleep(0.5)
    return False


async def _short(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde")
    await w.drain()
    return False  # FIN after 5 of 10 bytes


async def _close_delimited(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
    await w.drain()
    return False


async def _chunked(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for piece in (b"hello ", b"chunked ", b"world"):
        w.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        await w.drain()
    w.write(b"0\r\n\r\n")
    return True


async def _ka_then_close(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    # Answer with keep-alive, then close the idle connection right away.
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    await w.drain()
    return False


async def _drop_second(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    # The first request on a connection is answered; the second one is read and
    # then the connection closes without a byte: what a server that timed out
    # the idle connection at that very moment looks like to the client.
    if i == 0:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True
    return False


async def _no_answer(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    return False


async def _bad_gzip(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!")
    return True


async def _extra_bytes(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK")
    return True


async def _head_len(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    # For HEAD: announces a length but (correctly) sends no body.
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
    return True


async def _continue(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    w.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
    return True


async def _json_body(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int) -> bool:
    body = json.dumps({"n": i}).encode()
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    return True


_BEHAVIOURS: dict[str, Behaviour] = {
    "/ok": _ok,
    "/reset-mid-body": _reset_mid_body,
    "/stall": _stall,
    "/stall-body": _stall_body,
    "/garbage": _garbage,
    "/bad-chunk": _bad_chunk,
    "/short": _short,
    "/close-delimited": _close_delimited,
    "/chunked": _chunked,
    "/ka-then-close": _ka_then_close,
    "/drop-second": _drop_second,
    "/no-answer": _no_answer,
    "/bad-gzip": _bad_gzip,
    "/extra-bytes": _extra_bytes,
    "/head-len": _head_len,
    "/continue": _continue,
    "/json": _json_body,
}
