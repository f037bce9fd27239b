"""Protocol and API edge cases found in review, each against a real loopback socket.

The servers here are tiny scripted asyncio servers in the test's own loop: each
request head is logged, and a handler chosen by path writes raw bytes back.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from http_helpers import Recorder, run
from http_servers import GoodServer

from horde.http import HttpSession, Response
from horde.http.request import encode_body
from horde.http.tls import make_context

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


class Scripted:
    """What a scripted server saw: request heads, bodies, connection count."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.connections = 0
        self.port = 0

    def header(self, index: int, name: str) -> str | None:
        for line in self.heads[index].split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None


async def _ok(head: bytes, w: asyncio.StreamWriter) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return True


@asynccontextmanager
async def scripted(
    handlers: dict[bytes, Handler], host: str = "127.0.0.1"
) -> AsyncIterator[Scripted]:
    seen = Scripted()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            for _ in range(50):  # bounded: no test sends more on one connection
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                seen.heads.append(head)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                seen.bodies.append(await reader.readexactly(length) if length else b"")
                path = head.split(b" ", 2)[1].partition(b"?")[0]
                if not await handlers.get(path, _ok)(head, writer):
                    return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, host, 0)
    seen.port = server.sockets[0].getsockname()[1]
    try:
        yield seen
    finally:
        server.close()


def _raw(data: bytes, keep_open: bool = True) -> Handler:
    async def handler(head: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(data)
        await w.drain()
        return keep_open

    return handler


# --- redirects -----------------------------------------------------------------


def test_cross_origin_redirect_drops_credentials_but_same_origin_keeps_them(
    recorder: Recorder,
) -> None:
    async def redirect(head: bytes, w: asyncio.StreamWriter) -> bool:
        target = b"/same" if b"/to-same" in head else b"http://localhost:%d/other" % seen.port
        w.write(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % target)
        return True

    async def main() -> Scripted:
        nonlocal seen
        async with scripted({b"/to-other": redirect, b"/to-same": redirect}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            s.headers["Proxy-Authorization"] = "Basic c2Vzc2lvbg=="
            s.cookies.set("mine", "localhost-only", domain="localhost")
            secret = {"Authorization": "Bearer T", "Host": "custom.test", "Cookie": "raw=1"}
            await s.get("/to-other", headers=secret, cookies={"k": "v"})
            await s.get("/to-same", headers={"Authorization": "Bearer T"}, auth=None)
            await s.aclose()
        return seen

    seen = Scripted()
    seen = run(main())
    assert seen.header(0, "Authorization") == "Bearer T"
    assert seen.header(0, "Host") == "custom.test"
    # The hop to localhost: none of what the script wrote for 127.0.0.1.
    assert seen.header(1, "Authorization") is None
    assert seen.header(1, "Proxy-Authorization") is None
    assert seen.header(1, "Host") == f"localhost:{seen.port}"
    assert seen.header(1, "Cookie") == "mine=localhost-only"  # the jar's, for that host
    # Same origin: the Authorization header follows.
    assert seen.header(3, "Authorization") == "Bearer T"
    assert recorder.errors == [None, None]


def test_303_after_post_drops_body_and_content_type(recorder: Recorder) -> None:
    async def main() -> Scripted:
        see_other = b"HTTP/1.1 303 See Other\r\nLocation: done\r\nContent-Length: 0\r\n\r\n"
        async with scripted({b"/app/form": _raw(see_other)}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}/app", recorder)
            r = await s.post("/form", data={"a": "1"})
            assert r.status_code == 200 and r.url.endswith("/app/done")
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.heads[1].startswith(b"GET /app/done ")  # relative Location, resolved
    assert seen.bodies[1] == b""
    assert seen.header(1, "Content-Type") is None and seen.header(1, "Content-Length") is None


# --- request arguments -----------------------------------------------------------


@pytest.mark.parametrize(
    "data", [(b"x" for _ in range(2)), [b"ab", b"cd"], 42, {1, 2}, iter([("a", "b")])]
)
def test_data_of_unsupported_type_is_a_clear_type_error(data: Any) -> None:
    with pytest.raises(TypeError, match=r"data= must be bytes, str, a dict, a list of"):
        encode_body(data)


def test_data_supported_types() -> None:
    assert encode_body([("a", "1"), ("a", "2")])[0] == b"a=1&a=2"
    assert encode_body((("a", "1"),))[0] == b"a=1"
    assert encode_body({"a": ["1", "2"]})[0] == b"a=1&a=2"
    assert encode_body(bytearray(b"raw")) == (b"raw", None)


def test_bad_json_and_bad_data_raise_into_the_script_and_send_nothing(recorder: Recorder) -> None:
    async def main() -> Scripted:
        async with scripted({}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            with pytest.raises(TypeError, match=r"^json=: Object of type object is not JSON"):
                await s.post("/j", json={"a": object()})
            with pytest.raises(TypeError, match="not generator"):
                await s.post("/d", data=(b"x" for _ in range(1)))
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.heads == [] and recorder.records == []


def test_params_merge_with_query_in_url_and_name_has_no_query(recorder: Recorder) -> None:
    async def main() -> Scripted:
        async with scripted({}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            await s.get("/q?a=1#frag", params={"b": "2", "c": None})
            await s.get("/q?", params=[("b", "x y")])
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.heads[0].startswith(b"GET /q?a=1&b=2 HTTP/1.1")
    assert seen.heads[1].startswith(b"GET /q?b=x+y HTTP/1.1")
    assert [r.name for r in recorder.records] == ["/q", "/q"]


def test_user_host_header_replaces_the_default(recorder: Recorder) -> None:
    async def main() -> Scripted:
        async with scripted({}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            await s.get("/", headers={"host": "virtual.test"})
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.heads[0].count(b"ost:") == 1 and seen.header(0, "Host") == "virtual.test"


def test_name_grouping_for_absolute_urls(good: GoodServer, recorder: Recorder) -> None:
    other = good.url.replace("127.0.0.1", "localhost")

    async def main() -> None:
        s = HttpSession(good.url, recorder)
        await s.get(f"{good.url}/echo?x=1")
        await s.get(f"{other}/echo?x=2")
        await s.get(f"{other}/echo?x=3", name="other echo")
        await s.aclose()

    run(main())
    assert [r.name for r in recorder.records] == ["/echo", f"{other}/echo", "other echo"]


def test_request_from_a_thread_is_a_clear_error(good: GoodServer, recorder: Recorder) -> None:
    s = HttpSession(good.url, recorder)
    raised: list[BaseException] = []

    def worker() -> None:
        for call in (lambda: s.get("/"), lambda: s.post("/echo", data=b"x")):
            try:
                call()
            except RuntimeError as exc:
                raised.append(exc)

    with _no_warnings():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(10)
    assert len(raised) == 2
    assert all("no running event loop" in str(exc) for exc in raised)
    assert recorder.records == []


class _no_warnings:  # noqa: N801 - used as a context manager name
    """Fails if a warning (such as "coroutine was never awaited") is emitted inside."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self._log = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        import gc

        gc.collect()
        self._catch.__exit__(None, None, None)
        assert not self._log, [str(w.message) for w in self._log]


def test_per_request_timeout_also_bounds_the_connect(recorder: Recorder) -> None:
    # A listener that never accepts, with its tiny backlog filled: further SYNs
    # are dropped, so a connect hangs (on loopback, with nothing leaving the host).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)

    async def main() -> Response:
        s = HttpSession(f"http://127.0.0.1:{port}", recorder, timeout=30)
        # Bounded either way: without the fix this would wait the 30 s connect timeout.
        r = await asyncio.wait_for(s.get("/", timeout=0.3), 5)
        await s.aclose()
        return r

    try:
        r = run(main())
    finally:
        for sock in (*fillers, listener):
            sock.close()
    assert r.status_code == 0
    assert recorder.errors == ["ConnectTimeout: no connection within 0.3 s"]


# --- response framing on a real socket -------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reused"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
         b"2\r\nok\r\n0\r\nX-Sum: 2\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 100_000 + b"\r\nContent-Length: 2\r\n\r\nok", True),
    ],
    ids=["connection-close", "http-1.0", "http-1.0-keep-alive", "chunked-trailers", "big-header"],
)
def test_keep_alive_honoured(recorder: Recorder, answer: bytes, reused: bool) -> None:
    async def main() -> Scripted:
        # The server keeps every connection open: only the client decides.
        async with scripted({b"/a": _raw(answer)}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            for _ in range(2):
                r = await s.get("/a")
                assert r.status_code == 200 and r.text == "ok"
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.connections == (1 if reused else 2)
    assert recorder.errors == [None, None]


def test_204_with_a_body_anyway_retires_the_connection(recorder: Recorder) -> None:
    async def main() -> Scripted:
        async with scripted(
            {b"/nc": _raw(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello")}
        ) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            first = await s.get("/nc")
            second = await s.get("/after")
            assert (first.status_code, first.content) == (204, b"")
            assert (second.status_code, second.text) == (200, "ok")
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.connections == 2 and recorder.errors == [None, None]


def test_close_delimited_body_that_never_ends_times_out(recorder: Recorder) -> None:
    async def endless(head: bytes, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\n\r\n")
        for _ in range(40):  # bounded drip, longer than the client's timeout
            w.write(b"more ")
            await asyncio.sleep(0.05)
        return False

    async def main() -> Response:
        async with scripted({b"/drip": endless}) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            r = await s.get("/drip", timeout=0.3)
            await s.aclose()
        return r

    r = run(main())
    assert r.status_code == 0 and recorder.errors == ["ReadTimeout: no response within 0.3 s"]


def test_ipv6_literal_host(recorder: Recorder) -> None:
    try:
        socket.socket(socket.AF_INET6).close()
    except OSError:  # pragma: no cover - no IPv6 on this machine
        pytest.skip("no IPv6")

    async def main() -> Scripted:
        async with scripted({}, host="::1") as seen:
            s = HttpSession(f"http://[::1]:{seen.port}", recorder)
            r = await s.get("/six")
            assert r.ok and r.url == f"http://[::1]:{seen.port}/six"
            r = await s.get(f"http://[::1]:{seen.port}/abs")
            assert r.ok
            await s.aclose()
        return seen

    seen = run(main())
    assert seen.header(0, "Host") == f"[::1]:{seen.port}"
    assert [r.name for r in recorder.records] == ["/six", "/abs"]
    assert seen.connections == 1


def test_tls_to_an_ip_address(
    good: GoodServer, recorder: Recorder, certificate: tuple[str, str]
) -> None:
    url = f"https://127.0.0.1:{good.tls_port}"
    trusting = make_context(cafile=certificate[0])  # trusts the cert; it names only localhost

    async def main() -> tuple[Response, Response]:
        verified = HttpSession(url, recorder, ssl_context=trusting)
        insecure = HttpSession(url, recorder, insecure=True)
        bad, ok = await verified.get("/"), await insecure.get("/")
        await verified.aclose()
        await insecure.aclose()
        return bad, ok

    bad, ok = run(main())
    # An IP URL is checked against IP names (no SNI host name): refused, as it must be.
    assert bad.status_code == 0 and str(bad.error).startswith("TLSError: ")
    assert "IP address mismatch" in str(bad.error)
    assert ok.status_code == 200 and ok.text == "hello"


# --- a logged-in user on the fast path -------------------------------------------


def test_fast_path_sends_the_jar_cookies_and_follows_changes(recorder: Recorder) -> None:
    async def main() -> Scripted:
        async with scripted({
            b"/login": _raw(b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=1; Path=/\r\n"
                            b"Content-Length: 2\r\n\r\nok"),
            b"/logout": _raw(b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=; Max-Age=0; Path=/\r\n"
                             b"Content-Length: 2\r\n\r\nok"),
        }) as seen:
            s = HttpSession(f"http://127.0.0.1:{seen.port}", recorder)
            for path in ("/login", "/a", "/a", "/logout", "/a"):
                await s.get(path)
            with_name = await s.get("/a", name="named")
            assert with_name.ok
            await s.aclose()
        return seen

    seen = run(main())
    cookies = [seen.header(i, "Cookie") for i in range(6)]
    assert cookies == [None, "sid=1", "sid=1", "sid=1", None, None]
    assert seen.connections == 1 and recorder.errors == [None] * 6


# --- catch_response misuse -------------------------------------------------------


def test_catch_response_misuse_is_an_error_not_a_silent_loss(
    good: GoodServer, recorder: Recorder
) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        never_entered = await s.get("/", catch_response=True)
        with pytest.raises(RuntimeError, match="context manager"):
            never_entered.failure("nope")
        async with s.get("/", catch_response=True) as r:
            r.failure("first")
            r.success()  # the last call wins
        with pytest.raises(RuntimeError, match="already recorded"):
            r.failure("too late")
        async with s.get("/status/503", catch_response=True) as r:
            r.success()
            r.failure("changed my mind")
        await s.aclose()

    run(main())
    assert recorder.errors == [None, "changed my mind"]
