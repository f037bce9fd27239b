"""The plain counting target (horde/demo/plain.py) and serve helpers, in-process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from horde.demo.app import start_demo_target
from horde.demo.plain import make_plain_app
from horde.demo.serve import listen_line, parse_listen_line, serve_app
from horde.errors import UsageError
from tests.support.aio import run_async


@asynccontextmanager
async def plain() -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(make_plain_app(), host="127.0.0.1")) as client:
        yield client


async def counts(client: TestClient[Any, Any]) -> dict[str, Any]:
    body: dict[str, Any] = await (await client.get("/__counts")).json()
    return body


@run_async
async def test_fast_fail_slow() -> None:
    async with plain() as client:
        r = await client.get("/fast")
        assert (r.status, await r.text()) == (200, "ok")
        r = await client.get("/fail")
        assert (r.status, await r.text()) == (500, "fail")
        r = await client.get("/slow", params={"ms": "5"})
        assert (r.status, await r.text()) == (200, "slept 5 ms")
        for bad in ("-1", "x", "60001"):
            assert (await client.get("/slow", params={"ms": bad})).status == 400
        assert (await client.get("/slow")).status == 400


@run_async
async def test_status_route() -> None:
    async with plain() as client:
        for code in (200, 201, 302, 404, 418, 503, 599):
            r = await client.get(f"/status/{code}", allow_redirects=False)
            assert r.status == code
            assert await r.text() == f"status {code}"
        r = await client.get("/status/204")
        assert r.status == 204 and await r.read() == b""
        for bad in ("99", "600", "abc"):
            assert (await client.get(f"/status/{bad}")).status == 400
        c = await counts(client)
        assert c["by_route_status"]["GET /status/{code}"] == {
            "200": 1, "201": 1, "204": 1, "302": 1, "400": 3, "404": 1,
            "418": 1, "503": 1, "599": 1,
        }


@run_async
async def test_echo_and_bytes() -> None:
    async with plain() as client:
        payload = bytes(range(256)) * 40
        r = await client.post("/echo", data=payload,
                              headers={"content-type": "application/x-test"})
        assert r.status == 200 and r.content_type == "application/x-test"
        assert await r.read() == payload
        r = await client.get("/bytes/12345")
        assert await r.read() == b"x" * 12345
        assert (await client.get("/bytes/0")).content_length == 0


@run_async
async def test_redirect_chain_is_counted_per_hop() -> None:
    async with plain() as client:
        r = await client.get("/redirect/3")
        assert r.status == 200 and await r.text() == "ok"
        assert len(r.history) == 4
        c = await counts(client)
        assert c["by_route_status"] == {"GET /redirect/{n}": {"302": 4}, "GET /fast": {"200": 1}}


@run_async
async def test_headers_and_cookies() -> None:
    async with plain() as client:
        r = await client.get("/headers", headers={"X-Probe": "42"})
        assert (await r.json())["X-Probe"] == "42"
        r = await client.get("/set-cookie", params={"a": "1", "b": "two"})
        assert r.cookies["a"].value == "1"
        assert (await (await client.get("/cookies")).json()) == {"a": "1", "b": "two"}


@run_async
async def test_plain_counts_exact_under_concurrency() -> None:
    async with plain() as client:

        async def hit(path: str) -> int:
            return (await client.get(path)).status

        statuses = await asyncio.gather(
            *(hit("/fast") for _ in range(50)),
            *(hit("/fail") for _ in range(20)),
            *(hit("/slow?ms=1") for _ in range(10)),
        )
        assert statuses.count(200) == 60 and statuses.count(500) == 20
        c = await counts(client)
        assert c["received"] == c["answered"] == 80
        assert c["routes"] == {"GET /fast": 50, "GET /fail": 20, "GET /slow": 10}
        assert c["statuses"] == {"200": 60, "500": 20}


def test_listen_line_round_trip() -> None:
    assert listen_line("127.0.0.1", 8080) == "listening on 127.0.0.1:8080"
    assert parse_listen_line("listening on 127.0.0.1:8080\n") == ("127.0.0.1", 8080)
    assert listen_line("::1", 9) == "listening on [::1]:9"
    assert parse_listen_line(listen_line("::1", 9)) == ("::1", 9)
    for bad in ("", "hello", "listening on 127.0.0.1", "listening on host:port"):
        with pytest.raises(ValueError):
            parse_listen_line(bad)


@run_async
async def test_start_demo_target_serves_on_loopback() -> None:
    runner, port = await start_demo_target(latency_scale=0.0, seed=1)
    try:
        assert port > 0
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/items/1") as r:
                assert r.status == 200
            async with session.get(f"http://127.0.0.1:{port}/__counts") as r:
                assert (await r.json())["routes"] == {"GET /items/{id}": 1}
    finally:
        await runner.cleanup()


@run_async
async def test_serve_app_reports_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve_app(make_plain_app(), "127.0.0.1", port)
