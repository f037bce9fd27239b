"""The demo target: a small shop-like HTTP API to point horde at.

Routes (all answers JSON unless said otherwise):

* ``GET /`` -- a small HTML home page;
* ``GET /items?page=N`` -- the catalogue, `PAGE_SIZE` items a page (1-based;
  a page past the end is empty, a non-number is 400);
* ``GET /items/{id}`` -- one item, 404 for an unknown id;
* ``POST /login`` -- form or JSON ``username``/``password``; any non-empty
  user name with password `DEMO_PASSWORD` gets a ``session`` cookie, else 401;
* ``GET /cart``, ``POST /cart`` (``item_id``, optional ``quantity``) -- need
  the cookie (401 without);
* ``POST /checkout`` -- needs the cookie; fails with 502 a configurable share of
  the time (5% by default, a flaky "payment service"), 400 on an empty cart;
* ``GET /search?q=`` -- slower (tens of ms);
* ``GET /__counts`` -- what the app answered, see `horde.demo.counts`.

Each handler sleeps a random, lognormally distributed time (a few ms, search
tens of ms) times ``latency_scale``; ``latency_scale=0`` removes the sleeps.
``seed`` makes the latencies, the 502s and the session tokens repeatable.

Invariants: all state (sessions, random generator, counters) belongs to the
application object; sessions are capped at `MAX_SESSIONS` (the oldest is
forgotten), so a long load test cannot grow the target's memory without bound.

Run it by hand with ``python -m horde.demo.app --port 8080`` (``--app plain``
serves `horde.demo.plain` instead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from horde.demo.counts import install_counts
from horde.demo.serve import run_until_signalled, serve_app
from horde.errors import HordeError

__all__ = [
    "DEMO_PASSWORD",
    "PAGE_SIZE",
    "CATALOGUE_SIZE",
    "MAX_SESSIONS",
    "SESSION_COOKIE",
    "make_app",
    "start_demo_target",
    "main",
]

DEMO_PASSWORD = "secret"
PAGE_SIZE = 20
CATALOGUE_SIZE = 120
MAX_SESSIONS = 50_000
SESSION_COOKIE = "session"

# Median latency per route in milliseconds; the spread is lognormal.
_MEDIAN_MS = {
    "home": 2.0,
    "items": 4.0,
    "item": 3.0,
    "login": 8.0,
    "cart": 3.0,
    "checkout": 15.0,
    "search": 40.0,
}
_SIGMA = 0.5
# Cap one sleep at this many medians: the tail stays realistic but bounded.
_MAX_MEDIANS = 20.0

_ADJECTIVES = ("Red", "Blue", "Quiet", "Rapid", "Sturdy", "Tiny", "Golden", "Woolen")
_NOUNS = ("Kettle", "Lamp", "Backpack", "Notebook", "Teapot", "Blanket", "Chair", "Clock",
          "Umbrella", "Mug", "Scarf", "Pen", "Bicycle", "Candle", "Basket")


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    name: str
    price_cents: int
    stock: int

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "price": self.price_cents / 100}

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "stock": self.stock,
            "description": f"A fine {self.name.lower()}, item number {self.id}.",
        }


def _catalogue() -> dict[int, Item]:
    """A fixed catalogue (independent of the seed, so scripts can rely on ids)."""
    items: dict[int, Item] = {}
    for i in range(1, CATALOGUE_SIZE + 1):
        adjective = _ADJECTIVES[i % len(_ADJECTIVES)]
        noun = _NOUNS[(i * 7) % len(_NOUNS)]
        items[i] = Item(i, f"{adjective} {noun}", 199 + (i * 137) % 9800, (i * 13) % 50)
    return items


class Shop:
    """The state of one demo application."""

    def __init__(
        self, seed: int | None, latency_scale: float, checkout_failure_rate: float
    ) -> None:
        self.rng = random.Random(seed)
        self.latency_scale = latency_scale
        self.checkout_failure_rate = checkout_failure_rate
        self.items = _catalogue()
        self.sessions: OrderedDict[str, Counter[int]] = OrderedDict()
        self.orders = 0

    async def pause(self, route: str) -> None:
        if self.latency_scale <= 0:
            return
        median = _MEDIAN_MS[route]
        ms = min(median * math.exp(_SIGMA * self.rng.gauss()), median * _MAX_MEDIANS)
        await asyncio.sleep(ms * self.latency_scale / 1000)

    def new_session(self) -> str:
        token = f"{self.rng.getrandbits(128):032x}"
        self.sessions[token] = Counter()
        if len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)
        return token

    def cart_of(self, request: web.Request) -> Counter[int]:
        token = request.cookies.get(SESSION_COOKIE)
        cart = self.sessions.get(token) if token else None
        if cart is None:
            raise _error(web.HTTPUnauthorized, "log in first (POST /login)")
        return cart

    def cart_json(self, cart: Counter[int]) -> dict[str, Any]:
        lines = [
            {**self.items[i].summary(), "quantity": q} for i, q in sorted(cart.items())
        ]
        total = sum(self.items[i].price_cents * q for i, q in cart.items())
        return {"items": lines, "count": sum(cart.values()), "total": total / 100}


SHOP_KEY = web.AppKey("horde_demo_shop", Shop)


def _error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")


async def _fields(request: web.Request) -> dict[str, str]:
    """The request's form or JSON object fields, as strings; 400 when unreadable."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _error(web.HTTPBadRequest, "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _error(web.HTTPBadRequest, "expected a JSON object")
        return {str(k): str(v) for k, v in body.items()}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _int_field(value: str | None, what: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise _error(web.HTTPBadRequest, f"{what} is required")
        return default
    try:
        return int(value)
    except ValueError:
        raise _error(web.HTTPBadRequest, f"{what} must be a whole number") from None


_HOME = """<!doctype html>
<html><head><title>horde demo shop</title></head>
<body><h1>horde demo shop</h1>
<p>{count} things for sale. <a href="/items">Browse</a>,
<a href="/search?q=lamp">search</a> or <a href="/cart">see your cart</a>.</p>
</body></html>
"""


async def home(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    await shop.pause("home")
    return web.Response(text=_HOME.format(count=len(shop.items)), content_type="text/html")


async def list_items(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    page = _int_field(request.query.get("page"), "page", default=1)
    if page < 1:
        raise _error(web.HTTPBadRequest, "page starts at 1")
    await shop.pause("items")
    ids = sorted(shop.items)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    pages = -(-len(shop.items) // PAGE_SIZE)
    return web.json_response(
        {
            "page": page,
            "pages": pages,
            "total": len(shop.items),
            "items": [shop.items[i].summary() for i in ids],
        }
    )


async def get_item(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    await shop.pause("item")
    raw = request.match_info["id"]
    item = shop.items.get(int(raw)) if raw.isdigit() else None
    if item is None:
        raise _error(web.HTTPNotFound, f"no item {raw}")
    return web.json_response(item.detail())


async def login(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    fields = await _fields(request)
    await shop.pause("login")
    username = fields.get("username", "").strip()
    if not username or fields.get("password") != DEMO_PASSWORD:
        raise _error(web.HTTPUnauthorized, "wrong user name or password")
    response = web.json_response({"user": username})
    response.set_cookie(SESSION_COOKIE, shop.new_session(), httponly=True, path="/")
    return response


async def get_cart(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    await shop.pause("cart")
    return web.json_response(shop.cart_json(shop.cart_of(request)))


async def add_to_cart(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    fields = await _fields(request)
    await shop.pause("cart")
    cart = shop.cart_of(request)
    item_id = _int_field(fields.get("item_id"), "item_id")
    quantity = _int_field(fields.get("quantity"), "quantity", default=1)
    if item_id not in shop.items:
        raise _error(web.HTTPNotFound, f"no item {item_id}")
    if not 1 <= quantity <= 99:
        raise _error(web.HTTPBadRequest, "quantity must be between 1 and 99")
    cart[item_id] += quantity
    return web.json_response(shop.cart_json(cart))


async def checkout(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    await shop.pause("checkout")
    cart = shop.cart_of(request)
    if shop.rng.random() < shop.checkout_failure_rate:
        # The flaky "payment service": the cart is kept, the client may retry.
        return web.Response(status=502, text="payment service unavailable")
    if not cart:
        raise _error(web.HTTPBadRequest, "the cart is empty")
    shop.orders += 1
    body = {"order": shop.orders, **shop.cart_json(cart)}
    cart.clear()
    return web.json_response(body)


async def search(request: web.Request) -> web.Response:
    shop = request.app[SHOP_KEY]
    query = request.query.get("q")
    if query is None:
        raise _error(web.HTTPBadRequest, "q is required")
    await shop.pause("search")
    needle = query.strip().casefold()
    found = [item.summary() for item in shop.items.values() if needle in item.name.casefold()]
    return web.json_response({"q": query, "count": len(found), "items": found[:PAGE_SIZE]})


def make_app(
    seed: int | None = None,
    latency_scale: float = 1.0,
    *,
    checkout_failure_rate: float = 0.05,
) -> web.Application:
    """The demo shop as an aiohttp application (not started)."""
    if latency_scale < 0:
        raise ValueError("latency_scale must be >= 0")
    if not 0.0 <= checkout_failure_rate <= 1.0:
        raise ValueError("checkout_failure_rate must be within [0, 1]")
    app = web.Application()
    app[SHOP_KEY] = Shop(seed, latency_scale, checkout_failure_rate)
    install_counts(app)
    app.router.add_get("/", home)
    app.router.add_get("/items", list_items)
    app.router.add_get("/items/{id}", get_item)
    app.router.add_post("/login", login)
    app.router.add_get("/cart", get_cart)
    app.router.add_post("/cart", add_to_cart)
    app.router.add_post("/checkout", checkout)
    app.router.add_get("/search", search)
    return app


async def start_demo_target(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int | None = None,
    latency_scale: float = 1.0,
) -> tuple[web.AppRunner, int]:
    """Serve the demo shop in the running loop; returns (runner, actual port).

    Stop it with ``await runner.cleanup()``.
    """
    return await serve_app(make_app(seed, latency_scale), host, port)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m horde.demo.app",
        description="Serve a demo target for horde (counts what it answers at /__counts).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (8080)")
    parser.add_argument("--app", choices=("demo", "plain"), default="demo",
                        help="demo: the shop; plain: deterministic routes for counting tests")
    parser.add_argument("--latency-scale", type=float, default=1.0,
                        help="multiply the shop's simulated latencies (0 = none)")
    parser.add_argument("--seed", type=int, default=None, help="seed for repeatable randomness")
    parser.add_argument("--checkout-failure-rate", type=float, default=0.05,
                        help="share of checkouts answered 502 (0.05)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m horde.demo.app`` command; returns the exit status."""
    args = _parse_args(argv)
    try:
        if args.app == "plain":
            from horde.demo.plain import make_plain_app

            app = make_plain_app()
        else:
            app = make_app(args.seed, args.latency_scale,
                           checkout_failure_rate=args.checkout_failure_rate)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def announce(line: str) -> None:
        print(line, flush=True)

    try:
        _run(run_until_signalled(app, args.host, args.port, announce))
    except HordeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run(coro: Any) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for Windows
        asyncio.run(coro)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


if __name__ == "__main__":
    sys.exit(main())
