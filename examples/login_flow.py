"""Logging in once per user, then using the session cookie.

What it shows: `on_start` runs once when a user starts, before its first task;
the cookie the server sets at login stays in `self.client` and goes with every
later request of that user (each user has its own cookies). If the login fails
there is no point going on, so the user stops itself with `StopUser`.
`on_stop` runs when the user stops, also when the test ends.

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/login_flow.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random

from horde import HttpUser, StopUser, between, task


class Shopper(HttpUser):
    wait_time = between(1, 2)

    def on_start(self) -> None:
        self.username = f"shopper-{random.randrange(1_000_000)}"
        response = self.client.post(
            "/login", data={"username": self.username, "password": "secret"}
        )
        if response.status_code != 200:
            # A user that cannot log in would only produce 401s; stop it instead.
            raise StopUser()

    @task(3)
    def add_item(self) -> None:
        item_id = random.randint(1, 120)
        self.client.post("/cart", data={"item_id": str(item_id), "quantity": "1"})

    @task(1)
    def view_cart(self) -> None:
        self.client.get("/cart")

    def on_stop(self) -> None:
        # One last look at the cart; the request is recorded like any other.
        self.client.get("/cart")
