"""Every failure mode is a recorded failure (status 0), never an exception, and the user goes on.

The loop runner (conftest.run) fails a test if anything reaches the loop's
exception handler ("exception was never retrieved" included).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from typing import NoReturn

import pytest
from http_helpers import Recorder, run
from http_servers import BrokenServer, GoodServer

from horde.bridge import SyncRunner
from horde.http import HttpSession, Response


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/reset-mid-body", "ConnectionClosed: [Errno 104] Connection reset by peer"),
        ("/stall", "ReadTimeout: no response within 0.3 s"),
        ("/stall-body", "ReadTimeout: no response within 0.3 s"),
        ("/garbage", "ResponseParseError: Expected HTTP/, RTSP/ or ICE/"),
        ("/bad-chunk", "ResponseParseError: Invalid character in chunk size"),
        ("/short", "ConnectionClosed: body shorter than announced"),
        ("/no-answer", "ConnectionClosed: server closed the connection without answering"),
    ],
)
def test_broken_answer_is_recorded_failure_and_user_goes_on(
    broken: BrokenServer, recorder: Recorder, path: str, error: str
) -> None:
    async def main() -> tuple[Response, Response]:
        s = HttpSession(broken.url, recorder, timeout=0.3)
        bad = await s.get(path)
        good = await s.get("/ok")
        await s.aclose()
        return bad, good

    bad, after = run(main())
    assert bad.status_code == 0 and bad.error is not None and str(bad.error) == error
    assert not bad.ok and bad.content == b""
    assert after.status_code == 200 and after.text == "ok"
    assert recorder.errors == [error, None]
    assert recorder.records[0].name == path


def test_bad_gzip_recorded(broken: BrokenServer, recorder: Recorder) -> None:
    async def main() -> Response:
        s = HttpSession(broken.url, recorder)
        r = await s.get("/bad-gzip")
        await s.aclose()
        return r

    r = run(main())
    assert r.status_code == 0 and str(r.error).startswith("ResponseParseError: bad gzip body")


def test_close_delimited_and_chunked_bodies(broken: BrokenServer, recorder: Recorder) -> None:
    async def main() -> list[bytes]:
        s = HttpSession(broken.url, recorder)
        bodies = [(await s.get(p)).content for p in ("/close-delimited", "/chunked", "/continue")]
        await s.aclose()
        return bodies

    assert run(main()) == [b"until the end", b"hello chunked world", b"final"]
    assert recorder.errors == [None, None, None]


def test_head_with_content_length_then_reuse(broken: BrokenServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(broken.url, recorder)
        r = await s.head("/head-len")
        assert r.status_code == 200 and r.headers["content-length"] == "1234" and r.content == b""
        assert (await s.get("/ok")).text == "ok"
        assert s._pool.idle_count() == 1
        await s.aclose()

    before = broken.connections
    run(main())
    assert broken.connections - before == 1  # the HEAD left the connection reusable
    assert recorder.errors == [None, None]


def test_server_closes_idle_keep_alive_connection(broken: BrokenServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(broken.url, recorder)
        for _ in range(4):
            assert (await s.get("/ka-then-close")).text == "ok"
        await s.aclose()

    run(main())
    assert recorder.errors == [None] * 4


def test_reused_connection_closed_before_answer_is_resent_once(
    broken: BrokenServer, recorder: Recorder
) -> None:
    """The server drops every second request on a connection without a byte.

    Each drop hits a reused connection, so the client resends on a fresh one:
    all 6 requests succeed, no failure is recorded, and the server read 11
    (1 + 5 x (dropped + resent)).
    """
    before = dict(broken.requests)

    async def main() -> list[str]:
        s = HttpSession(broken.url, recorder)
        texts = [(await s.get("/drop-second")).text for _ in range(6)]
        await s.aclose()
        return texts

    assert run(main()) == ["ok"] * 6
    assert recorder.errors == [None] * 6
    assert broken.requests["/drop-second"] - before.get("/drop-second", 0) == 11


def test_extra_bytes_after_response_do_not_poison_next(
    broken: BrokenServer, recorder: Recorder
) -> None:
    async def main() -> None:
        s = HttpSession(broken.url, recorder)
        assert (await s.get("/extra-bytes")).text == "ok"
        assert (await s.get("/ok")).text == "ok"
        await s.aclose()

    run(main())
    assert recorder.errors == [None, None]


def test_refused(recorder: Recorder) -> None:
    port = free_port()

    async def main() -> Response:
        s = HttpSession(f"http://127.0.0.1:{port}", recorder)
        r = await s.get("/")
        r2 = await s.get("/again")
        assert r2.status_code == 0
        await s.aclose()
        return r

    r = run(main())
    assert r.status_code == 0
    assert str(r.error) == "ConnectError: [Errno 111] Connection refused"
    assert [rec.ttfb_us for rec in recorder.records] == [0, 0]
    assert all(e is not None and e.startswith("ConnectError") for e in recorder.errors)


def test_dns_failure(recorder: Recorder) -> None:
    """A name that does not resolve is a ConnectError. The resolver is replaced
    by one that fails at once: a test never sends a DNS query off this machine."""

    async def no_such_name(*args: object, **kwargs: object) -> NoReturn:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def main() -> Response:
        s = HttpSession("http://no-such-host.invalid", recorder, connect_timeout=5)
        r = await s.get("/")
        await s.aclose()
        return r

    loop = asyncio.new_event_loop()
    loop.getaddrinfo = no_such_name  # type: ignore[method-assign]
    try:
        r = loop.run_until_complete(main())
    finally:
        loop.close()
    assert r.status_code == 0
    assert str(r.error).startswith("ConnectError: [Errno"), r.error
    assert "Name or service not known" in str(r.error)
    assert recorder.errors == [str(r.error)]


def test_connect_timeout_during_tls_handshake(broken: BrokenServer, recorder: Recorder) -> None:
    # The broken server speaks no TLS and waits for "\r\n\r\n": the handshake stalls.
    async def main() -> Response:
        s = HttpSession(f"https://127.0.0.1:{broken.port}", recorder, connect_timeout=0.3)
        r = await s.get("/")
        await s.aclose()
        return r

    r = run(main())
    assert str(r.error) == "ConnectTimeout: no connection within 0.3 s"
    assert recorder.errors == ["ConnectTimeout: no connection within 0.3 s"]


def test_failure_in_sync_task_does_not_raise(broken: BrokenServer, recorder: Recorder) -> None:
    s = HttpSession(broken.url, recorder, timeout=0.3)

    def task() -> list[int]:
        return [s.get(p).status_code for p in ("/garbage", "/short", "/ok")]

    async def main() -> list[int]:
        runner = SyncRunner()
        try:
            return await runner.call(task)
        finally:
            runner.close()

    assert run(main()) == [0, 0, 200]


def test_cancelled_request_leaves_no_trace(broken: BrokenServer, recorder: Recorder) -> None:
    import asyncio

    async def main() -> None:
        s = HttpSession(broken.url, recorder, timeout=5)
        task = asyncio.ensure_future(s.get("/stall"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await s.get("/ok")).ok
        await s.aclose()

    run(main())
    assert recorder.errors == [None]


def test_emfile_is_too_many_open_files(good: GoodServer) -> None:
    """In a child process with a tiny open-files limit, connecting fails with a hint."""
    script = textwrap.dedent(
        f"""
        import asyncio, resource, os
        from horde.http import HttpSession
        records = []
        async def main():
            held = []
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
            try:
                while True:
                    held.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                pass
            s = HttpSession({good.url!r}, lambda *a: records.append(a))
            r = await s.get("/")
            for fd in held:
                os.close(fd)
            print(r.status_code, type(r.error).__name__, r.error)
        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("0 TooManyOpenFiles TooManyOpenFiles: [Errno 24]"), out.stdout
    assert "ulimit -n" in out.stdout


def test_shorter_timeout_on_a_reused_connection_still_fires(
    broken: BrokenServer, recorder: Recorder
) -> None:
    """One timer per connection: a later, shorter deadline must re-arm it.

    If it did not, the stall below would wait for the 60 s timer and the
    10 s guard would fail the test.
    """
    import asyncio

    async def main() -> Response:
        s = HttpSession(broken.url, recorder, timeout=60)
        assert (await s.get("/ok")).ok
        r = await asyncio.wait_for(s.get("/stall", timeout=0.3), 10)
        await s.aclose()
        return r

    r = run(main())
    assert str(r.error) == "ReadTimeout: no response within 0.3 s"
