"""HttpSession against a well-behaved loopback server: every feature, both call styles."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from http_helpers import Recorder, run
from http_servers import GoodServer

from horde.bridge import SyncRunner
from horde.errors import HTTPStatusError
from horde.http import HttpSession, Response, ResponseContextManager


def sync(fn: Any) -> Any:
    """Run `fn` as a sync task would run: inside a SyncRunner greenlet."""

    async def main() -> Any:
        runner = SyncRunner()
        try:
            return await runner.call(fn)
        finally:
            runner.close()

    return run(main())


def test_async_get_records_one_success(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> Response:
        s = HttpSession(good.url, recorder)
        r = await s.get("/?x=1")
        await s.aclose()
        return r

    r = run(main())
    assert r.status_code == 200 and r.ok and r.text == "hello" and r.reason == "OK"
    assert r.headers["content-type"].startswith("text/plain") and "CONTENT-LENGTH" in r.headers
    assert r.url == good.url + "/?x=1" and r.error is None
    assert r.elapsed.total_seconds() > 0 and r.request.method == "GET"
    [rec] = recorder.records
    assert (rec.method, rec.name, rec.size, rec.error) == ("GET", "/", 5, None)
    assert rec.latency_us >= rec.ttfb_us > 0


def test_sync_get_inside_greenlet(good: GoodServer, recorder: Recorder) -> None:
    s = HttpSession(good.url, recorder)

    def task() -> list[int]:
        return [s.get("/").status_code for _ in range(5)]

    assert sync(task) == [200] * 5
    assert [r.error for r in recorder.records] == [None] * 5


def test_keep_alive_reuses_one_connection(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> int:
        s = HttpSession(good.url, recorder)
        for _ in range(5):
            await s.get("/")
        count = s._pool.idle_count()
        await s.aclose()
        return count

    assert run(main()) == 1


def test_json_form_params_and_methods(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        assert (await s.get("/json")).json() == {"a": 1, "b": [1, 2, 3], "s": "é"}
        echo = (await s.post("/echo", json={"k": "v"})).json()
        assert (
            echo["body"] == '{"k": "v"}' and echo["headers"]["Content-Type"] == "application/json"
        )
        echo = (await s.post("/echo", data={"a": "1", "b": "x y"})).json()
        assert echo["body"] == "a=1&b=x+y"
        assert echo["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        echo = (await s.get("/echo", params={"q": "a b", "n": [1, 2]})).json()
        assert echo["query"] == [["q", "a b"], ["n", "1"], ["n", "2"]]
        for method in ("put", "patch", "delete", "options"):
            echo = (await getattr(s, method)("/echo")).json()
            assert echo["method"] == method.upper()
        head = await s.head("/")
        assert head.status_code == 200 and head.content == b""
        echo = (await s.get("/echo", headers={"X-Custom": "1", "User-Agent": "mine"})).json()
        assert echo["headers"]["X-Custom"] == "1" and echo["headers"]["User-Agent"] == "mine"
        await s.aclose()

    run(main())
    assert all(r.error is None for r in recorder.records)


def test_name_groups_statistics(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        await s.get("/echo?id=1")
        await s.get("/echo/7", name="/echo/[id]")
        await s.aclose()

    run(main())
    assert [r.name for r in recorder.records] == ["/echo", "/echo/[id]"]


def test_cookies_across_login_and_redirect(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        assert (await s.get("/private")).status_code == 401
        r = await s.post("/login", data={"user": "alice"})
        assert r.status_code == 200 and r.text == "welcome alice"
        assert [h.status_code for h in r.history] == [302]
        assert r.history[0].cookies == {"session": "s3cret"}
        assert s.cookies["session"] == "s3cret"
        assert (await s.get("/private")).text == "welcome alice"
        other = HttpSession(good.url, recorder)  # another user: no shared login
        assert (await other.get("/private")).status_code == 401
        await s.get("/cookie-path")
        assert "scoped" not in (await s.get("/echo")).json()["cookies"]
        assert (await s.get("/a/b")).json()["cookies"]["scoped"] == "yes"
        echo = (await s.get("/echo", cookies={"extra": "1"})).json()
        assert echo["cookies"] == {"session": "s3cret", "extra": "1"}
        await s.aclose()
        await other.aclose()

    run(main())
    assert recorder.errors == ["HTTP 401", None, None, "HTTP 401", None, None, None, None]


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_methods(good: GoodServer, recorder: Recorder, code: int) -> None:
    async def main() -> tuple[Response, Response]:
        s = HttpSession(good.url, recorder)
        get = await s.get(f"/redirect/{code}")
        post = await s.post(f"/redirect-post/{code}", data=b"payload")
        await s.aclose()
        return get, post

    get, post = run(main())
    assert get.json()["path"] == "/echo" and get.json()["method"] == "GET"
    assert [h.status_code for h in get.history] == [code]
    echo = post.json()
    if code in (307, 308):
        assert (echo["method"], echo["body"]) == ("POST", "payload")
    else:
        assert (echo["method"], echo["body"]) == ("GET", "")
    assert [(r.method, r.name, r.error) for r in recorder.records] == [
        ("GET", f"/redirect/{code}", None),
        ("POST", f"/redirect-post/{code}", None),
    ]


def test_redirect_not_followed_and_too_many(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder, max_redirects=3)
        r = await s.get("/redirect/302", allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].startswith("/echo")
        r = await s.get("/chain/2")
        assert r.ok and len(r.history) == 3
        r = await s.get("/loop")
        assert r.status_code == 0 and "TooManyRedirects" in str(r.error)
        await s.aclose()

    run(main())
    assert recorder.errors[:2] == [None, None]
    assert recorder.errors[2] == "TooManyRedirects: more than 3 redirects"


def test_gzip_deflate_decoded_and_size_after_decoding(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        assert (await s.get("/gzip")).content == b"zipped " * 100
        assert (await s.get("/deflate")).content == b"deflated " * 100
        await s.aclose()

    run(main())
    assert [r.size for r in recorder.records] == [700, 900]


def test_multipart_upload_echoed(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> Any:
        s = HttpSession(good.url, recorder)
        r = await s.post(
            "/upload",
            data={"title": "report"},
            files={
                "doc": ("notes.txt", io.BytesIO(b"line one\nline two"), "text/plain"),
                "blob": b"\x00\x01binary",
            },
        )
        await s.aclose()
        return r.json()

    parts = run(main())
    assert parts["title"]["data"] == "report"
    assert parts["doc"] == {
        "filename": "notes.txt",
        "content_type": "text/plain",
        "data": "line one\nline two",
    }
    assert parts["blob"]["data"] == "\x00\x01binary"


def test_basic_auth_per_request_and_session(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        assert (await s.get("/auth")).status_code == 401
        assert (await s.get("/auth", auth=("alice", "wonderland"))).text == "authorised"
        s.auth = ("alice", "wonderland")
        assert (await s.get("/auth")).ok
        await s.aclose()

    run(main())


def test_status_codes_text_charset_and_raise_for_status(
    good: GoodServer, recorder: Recorder
) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        r = await s.get("/status/503")
        assert r.status_code == 503 and not r.ok and r.error is None
        with pytest.raises(HTTPStatusError, match="HTTP 503"):
            r.raise_for_status()
        assert (await s.get("/status/204")).content == b""
        assert (await s.get("/latin1")).text == "café"
        assert len((await s.get("/big")).content) == 300_000
        await s.aclose()

    run(main())
    assert recorder.errors == ["HTTP 503", None, None, None]


def test_absolute_url_to_other_origin_gets_own_pool(good: GoodServer, recorder: Recorder) -> None:
    other = f"http://localhost:{good.port}"

    async def main() -> int:
        s = HttpSession(good.url, recorder)
        await s.get("/")
        r = await s.get(other + "/echo?x=1")
        assert r.json()["headers"]["Host"] == f"localhost:{good.port}"
        count = s._pool.idle_count()
        await s.aclose()
        return count

    assert run(main()) == 2
    assert recorder.records[1].name == f"{other}/echo"


def test_no_base_url_absolute_only(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(None, recorder)
        assert (await s.get(good.url + "/")).ok
        r = await s.get("/relative")
        assert r.status_code == 0 and "InvalidURL" in str(r.error)
        for n in range(3):  # generated URLs do not make a statistics line each
            await s.get(f"/relative?id={n}")
        await s.aclose()

    run(main())
    assert [r.name for r in recorder.records[1:]] == ["/relative"] * 4


# --- catch_response ---------------------------------------------------------


def test_catch_response_async(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        s = HttpSession(good.url, recorder)
        async with s.get("/status/404", catch_response=True) as r:
            assert isinstance(r, ResponseContextManager) and r.status_code == 404
            r.success()
        async with s.get("/", catch_response=True) as r:
            if r.text != "goodbye":
                r.failure("wrong text")
        async with s.get("/status/500", catch_response=True):
            pass
        async with s.get("/", catch_response=True):
            pass
        with pytest.raises(ValueError):
            async with s.get("/", catch_response=True):
                raise ValueError("bad json")
        r2 = await s.get("/", catch_response=True)
        with r2:
            r2.failure(RuntimeError("boom"))
        await s.aclose()

    run(main())
    assert recorder.errors == [
        None,
        "wrong text",
        "HTTP 500",
        None,
        "ValueError: bad json",
        "RuntimeError: boom",
    ]


def test_catch_response_sync(good: GoodServer, recorder: Recorder) -> None:
    s = HttpSession(good.url, recorder)

    def task() -> None:
        with s.get("/status/404", catch_response=True) as r:
            assert r.status_code == 404
            r.success()
        with s.post("/echo", json={"a": 1}, catch_response=True) as r:
            if r.json()["body"] != "{}":
                r.failure("unexpected body")
        try:
            with s.get("/", catch_response=True):
                raise KeyError("k")
        except KeyError:
            pass

    sync(task)
    assert recorder.errors == [None, "unexpected body", "KeyError: 'k'"]
    assert [r.method for r in recorder.records] == ["GET", "POST", "GET"]


def test_catch_response_cancelled_inside_the_block_keeps_the_answer(
        good: GoodServer, recorder: Recorder) -> None:
    """A hard stop cancels a user inside its `with` block: the 200 it already got
    is recorded as a success, not as a "CancelledError" failure."""

    async def main() -> None:
        s = HttpSession(good.url, recorder)
        entered = asyncio.Event()

        async def task() -> None:
            async with s.get("/", catch_response=True):
                entered.set()
                await asyncio.sleep(30)

        running = asyncio.ensure_future(task())
        await entered.wait()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await s.aclose()

    run(main())
    assert recorder.errors == [None]
