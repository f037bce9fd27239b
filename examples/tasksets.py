"""Structuring behaviour with TaskSet and SequentialTaskSet.

What it shows:

* a `TaskSet` is a group of tasks a user enters and stays in, picking its
  tasks at random by weight, until one of them calls `self.interrupt()`,
  which goes back to the parent (here the user, which then picks again);
* a `SequentialTaskSet` runs its tasks in the order they are written -- good
  for a flow such as "add to cart, look at the cart, pay";
* a user's `tasks` may be a dict of TaskSets and their weights;
* `self.client` inside a TaskSet is the user's client (same cookies), and
  `self.user` is the user itself.

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/tasksets.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random

from horde import HttpUser, SequentialTaskSet, TaskSet, between, task


class Browse(TaskSet):
    """Looks at a few items, then leaves (about one task run in six)."""

    @task(3)
    def item(self) -> None:
        self.client.get(f"/items/{random.randint(1, 120)}", name="/items/[id]")

    @task(2)
    def page(self) -> None:
        self.client.get("/items", params={"page": random.randint(1, 6)})

    @task(1)
    def done(self) -> None:
        self.interrupt()


class Purchase(SequentialTaskSet):
    """One purchase, in order; then back to the user."""

    def on_start(self) -> None:
        self.item_id = random.randint(1, 120)

    @task
    def add(self) -> None:
        self.client.post("/cart", data={"item_id": str(self.item_id)})

    @task
    def review(self) -> None:
        self.client.get("/cart")

    @task
    def pay(self) -> None:
        with self.client.post("/checkout", catch_response=True) as response:
            if response.status_code == 502:
                response.failure("payment service unavailable")
        self.interrupt()


class Customer(HttpUser):
    wait_time = between(0.5, 2)
    tasks = {Browse: 3, Purchase: 1}

    def on_start(self) -> None:
        self.client.post("/login", data={"username": "customer", "password": "secret"})
