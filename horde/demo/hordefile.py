"""The horde script bundled with the demo shop (horde/demo/app.py).

Two kinds of users share the load three to one:

* `Browser` looks around: the home page, pages of the catalogue, item details
  (all grouped under one statistics line, ``/items/[id]``) and searches;
* `Buyer` logs in once (the session cookie stays in its client), then fills
  its cart and checks out. The shop's payment service fails about 5% of the
  checkouts with a 502; the script marks those as failures with a reason, so
  the error table says why instead of a bare status code.

Run it against the demo target yourself::

    python -m horde.demo.app --port 8080
    horde -f horde/demo/hordefile.py -H http://127.0.0.1:8080 --headless -u 20 -r 5 -t 30s

The constants below repeat the shop's (a test keeps them in step), so this
file stays a plain script with no dependency on the demo server's code.
"""

from __future__ import annotations

import random
from typing import Any

from horde import HttpUser, between, task

__all__ = ["Browser", "Buyer"]

PASSWORD = "secret"
CATALOGUE_SIZE = 120
PAGES = 6
SEARCH_WORDS = ("lamp", "kettle", "blue", "tiny", "chair", "mug", "golden", "umbrella")


class Browser(HttpUser):
    """Someone window-shopping: reads a lot, never logs in."""

    weight = 3
    wait_time = between(0.5, 2)

    @task(2)
    def home(self) -> None:
        self.client.get("/")

    @task(3)
    def items_page(self) -> None:
        # The query string is not part of the statistics name: every page is "/items".
        self.client.get("/items", params={"page": random.randint(1, PAGES)})

    @task(6)
    def item_detail(self) -> None:
        item_id = random.randint(1, CATALOGUE_SIZE)
        # One line in the statistics for all ids, instead of 120 lines of one request each.
        self.client.get(f"/items/{item_id}", name="/items/[id]")

    @task(1)
    def search(self) -> None:
        self.client.get("/search", params={"q": random.choice(SEARCH_WORDS)})


class Buyer(HttpUser):
    """Someone who came to buy: logs in, fills the cart, pays."""

    weight = 1
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        # The shop answers with a session cookie; the client sends it from now on.
        self.client.post(
            "/login",
            data={"username": f"buyer-{random.randrange(10**6)}", "password": PASSWORD},
        )

    @task(3)
    def add_to_cart(self) -> None:
        item_id = random.randint(1, CATALOGUE_SIZE)
        self.client.post(
            "/cart",
            data={"item_id": str(item_id), "quantity": str(random.randint(1, 3))},
        )

    @task(1)
    def checkout(self) -> None:
        self.client.post("/cart", data={"item_id": str(random.randint(1, CATALOGUE_SIZE))})
        self.client.get("/cart")
        with self.client.post("/checkout", catch_response=True) as response:
            _judge_checkout(response)


def _judge_checkout(response: Any) -> None:
    """Decide success or failure of a checkout answer, with a readable reason."""
    if response.status_code == 502:
        response.failure("checkout: payment service unavailable (502)")
    elif response.status_code != 200:
        response.failure(f"checkout answered {response.status_code}")
    elif "order" not in response.json():
        response.failure("checkout: no order number in the answer")
    else:
        response.success()
