"""Deciding yourself what counts as a failure.

What it shows: with `catch_response=True` the request is used as a context
manager, and the script calls `response.success()` or
`response.failure("reason")`. This lets a test

* fail a 200 whose content is wrong (a page without its title, JSON without
  the expected field, a body that is not JSON at all);
* accept an error status that is expected (a 404 for an id that was meant not
  to exist);
* fail a response that was correct but too slow.

The reason given to `failure()` is what the error table shows, so make it say
what went wrong.

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/catch_response.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random

from horde import HttpUser, between, task


class Checker(HttpUser):
    wait_time = between(0.5, 1.5)

    @task(2)
    def home_has_title(self) -> None:
        with self.client.get("/", catch_response=True) as response:
            if "horde demo shop" not in response.text:
                response.failure("home page without its title")

    @task(4)
    def item_is_valid_json(self) -> None:
        item_id = random.randint(1, 120)
        with self.client.get(
            f"/items/{item_id}", name="/items/[id]", catch_response=True
        ) as response:
            try:
                item = response.json()
            except ValueError:
                response.failure("item is not JSON")
                return
            if item.get("id") != item_id:
                response.failure(f"asked for item {item_id}, got {item.get('id')}")
            elif item.get("price", 0) <= 0:
                response.failure("item without a price")

    @task(1)
    def missing_item_is_404(self) -> None:
        # This id does not exist: a 404 is the right answer, anything else is not.
        with self.client.get(
            "/items/999999", name="/items/[missing]", catch_response=True
        ) as response:
            if response.status_code == 404:
                response.success()
            else:
                response.failure(f"expected 404 for a missing item, got {response.status_code}")

    @task(1)
    def search_is_fast_enough(self) -> None:
        with self.client.get("/search", params={"q": "lamp"}, catch_response=True) as response:
            if response.elapsed.total_seconds() > 0.2:
                response.failure("search slower than 200 ms")
