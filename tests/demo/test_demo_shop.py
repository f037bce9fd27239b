"""The demo shop (horde/demo/app.py), served in-process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from horde.demo.app import CATALOGUE_SIZE, DEMO_PASSWORD, PAGE_SIZE, SESSION_COOKIE, make_app
from tests.support.aio import run_async


@asynccontextmanager
async def shop(seed: int | None = 7, **kwargs: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """A client (with its own cookie jar) of a fresh shop without simulated latency."""
    app = make_app(seed, latency_scale=0.0, **kwargs)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def log_in(client: TestClient[Any, Any], user: str = "ann") -> None:
    r = await client.post("/login", data={"username": user, "password": DEMO_PASSWORD})
    assert r.status == 200


async def counts(client: TestClient[Any, Any]) -> dict[str, Any]:
    r = await client.get("/__counts")
    assert r.status == 200
    body: dict[str, Any] = await r.json()
    return body


@run_async
async def test_home_is_html() -> None:
    async with shop() as client:
        r = await client.get("/")
        assert r.status == 200
        assert r.content_type == "text/html"
        assert "horde demo shop" in await r.text()


@run_async
async def test_items_are_paginated() -> None:
    async with shop() as client:
        pages = CATALOGUE_SIZE // PAGE_SIZE
        first = await (await client.get("/items")).json()
        assert first["page"] == 1 and first["pages"] == pages
        assert first["total"] == CATALOGUE_SIZE
        assert [i["id"] for i in first["items"]] == list(range(1, PAGE_SIZE + 1))
        last = await (await client.get("/items", params={"page": pages})).json()
        assert last["items"][-1]["id"] == CATALOGUE_SIZE
        past = await (await client.get("/items", params={"page": pages + 1})).json()
        assert past["items"] == []
        for bad in ("0", "-1", "two"):
            assert (await client.get("/items", params={"page": bad})).status == 400


@run_async
async def test_item_detail_and_unknown_ids() -> None:
    async with shop() as client:
        r = await client.get("/items/5")
        assert r.status == 200
        item = await r.json()
        assert item["id"] == 5 and item["name"] and item["price"] > 0
        assert "description" in item and "stock" in item
        for unknown in (0, CATALOGUE_SIZE + 1, "abc"):
            r = await client.get(f"/items/{unknown}")
            assert r.status == 404
            assert "error" in await r.json()


@run_async
async def test_login_sets_cookie_only_with_the_right_password() -> None:
    async with shop() as client:
        r = await client.post("/login", data={"username": "ann", "password": "wrong"})
        assert r.status == 401
        assert SESSION_COOKIE not in r.cookies
        r = await client.post("/login", data={"password": DEMO_PASSWORD})
        assert r.status == 401
        r = await client.post("/login", json={"username": "ann", "password": DEMO_PASSWORD})
        assert r.status == 200
        assert (await r.json()) == {"user": "ann"}
        assert r.cookies[SESSION_COOKIE].value
        json_type = {"content-type": "application/json"}
        r = await client.post("/login", data="{not json", headers=json_type)
        assert r.status == 400


@run_async
async def test_cart_needs_the_cookie() -> None:
    async with shop() as client:
        assert (await client.get("/cart")).status == 401
        assert (await client.post("/cart", data={"item_id": "1"})).status == 401
        r = await client.get("/cart", cookies={SESSION_COOKIE: "forged"})
        assert r.status == 401
        await log_in(client)
        r = await client.get("/cart")
        assert r.status == 200
        assert (await r.json())["count"] == 0


@run_async
async def test_cart_adds_items() -> None:
    async with shop() as client:
        await log_in(client)
        r = await client.post("/cart", data={"item_id": "3", "quantity": "2"})
        assert r.status == 200
        r = await client.post("/cart", json={"item_id": 3})
        cart = await r.json()
        assert cart["count"] == 3
        assert cart["items"][0]["id"] == 3 and cart["items"][0]["quantity"] == 3
        assert cart["total"] == pytest.approx(3 * cart["items"][0]["price"])
        assert (await client.post("/cart", data={"item_id": "9999"})).status == 404
        assert (await client.post("/cart", data={"item_id": "x"})).status == 400
        assert (await client.post("/cart", data={})).status == 400
        assert (await client.post("/cart", data={"item_id": "1", "quantity": "0"})).status == 400
        assert (await (await client.get("/cart")).json())["count"] == 3


@run_async
async def test_sessions_are_separate() -> None:
    async with shop() as client:
        await log_in(client, "ann")
        await client.post("/cart", data={"item_id": "1"})
        jar = aiohttp.CookieJar(unsafe=True)  # unsafe: accept cookies from an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as other:
            login = {"username": "bob", "password": DEMO_PASSWORD}
            async with other.post(client.make_url("/login"), data=login) as r:
                assert r.status == 200
            async with other.get(client.make_url("/cart")) as r:
                assert (await r.json())["count"] == 0
        assert (await (await client.get("/cart")).json())["count"] == 1


@run_async
async def test_checkout_success_clears_the_cart() -> None:
    async with shop(checkout_failure_rate=0.0) as client:
        assert (await client.post("/checkout")).status == 401
        await log_in(client)
        assert (await client.post("/checkout")).status == 400  # empty cart
        await client.post("/cart", data={"item_id": "2", "quantity": "4"})
        r = await client.post("/checkout")
        assert r.status == 200
        order = await r.json()
        assert order["order"] == 1 and order["count"] == 4
        assert (await (await client.get("/cart")).json())["count"] == 0


@run_async
async def test_checkout_502_keeps_the_cart() -> None:
    async with shop(checkout_failure_rate=1.0) as client:
        await log_in(client)
        await client.post("/cart", data={"item_id": "2"})
        for _ in range(3):
            r = await client.post("/checkout")
            assert r.status == 502
            assert "payment" in await r.text()
        assert (await (await client.get("/cart")).json())["count"] == 1


@run_async
async def test_checkout_fails_about_five_percent_of_the_time() -> None:
    n = 1000
    async with shop(seed=2024) as client:
        await log_in(client)
        failures = 0
        for _ in range(n):
            await client.post("/cart", data={"item_id": "1"})
            r = await client.post("/checkout")
            assert r.status in (200, 502)
            failures += r.status == 502
        # 5% of 1000 is 50 (sd about 7); the seed makes the run repeatable.
        assert 25 <= failures <= 80
        c = await counts(client)
        assert c["by_route_status"]["POST /checkout"] == {"200": n - failures, "502": failures}


@run_async
async def test_the_seed_makes_failures_repeatable() -> None:
    async def statuses(seed: int) -> list[int]:
        async with shop(seed=seed, checkout_failure_rate=0.5) as client:
            await log_in(client)
            out = []
            for _ in range(40):
                await client.post("/cart", data={"item_id": "1"})
                out.append((await client.post("/checkout")).status)
            return out

    first = await statuses(11)
    assert first == await statuses(11)
    assert set(first) == {200, 502}


@run_async
async def test_search() -> None:
    async with shop() as client:
        r = await client.get("/search", params={"q": "LAMP"})
        assert r.status == 200
        found = await r.json()
        assert found["count"] > 0
        assert all("lamp" in i["name"].lower() for i in found["items"])
        assert (await (await client.get("/search", params={"q": "zzz"})).json())["count"] == 0
        assert (await client.get("/search")).status == 400


@run_async
async def test_counts_are_exact() -> None:
    async with shop() as client:
        await client.get("/")
        for i in (1, 2, 3, 999):
            await client.get(f"/items/{i}")
        await client.get("/nowhere")
        await client.get("/cart")
        await log_in(client)
        c = await counts(client)
        assert c == {
            "received": 8,
            "answered": 8,
            "total": 8,
            "routes": {
                "GET /": 1,
                "GET /items/{id}": 4,
                "GET <unmatched>": 1,
                "GET /cart": 1,
                "POST /login": 1,
            },
            "statuses": {"200": 5, "401": 1, "404": 2},
            "by_route_status": {
                "GET /": {"200": 1},
                "GET /items/{id}": {"200": 3, "404": 1},
                "GET <unmatched>": {"404": 1},
                "GET /cart": {"401": 1},
                "POST /login": {"200": 1},
            },
        }
        # Reading the counts does not count.
        assert (await counts(client))["received"] == 8
        r = await client.delete("/__counts")
        assert (await r.json())["received"] == 0
        await client.get("/")
        assert (await counts(client))["routes"] == {"GET /": 1}


def test_make_app_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        make_app(latency_scale=-1)
    with pytest.raises(ValueError):
        make_app(checkout_failure_rate=1.5)


@run_async
async def test_simulated_latency_path_answers() -> None:
    # Only that the sleeping path works; its duration is not asserted (noisy machine).
    app = make_app(seed=3, latency_scale=0.01)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for path in ("/", "/items", "/items/1", "/search?q=pen"):
            assert (await client.get(path)).status == 200
