"""Simple browsing: the smallest useful horde script.

What it shows: an `HttpUser` with weighted `@task`s, a think time
(`wait_time = between(...)`), query parameters, and a tagged task that can be
selected or left out from the command line (`-T search`, `-E search`).

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/browse.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random

from horde import HttpUser, between, tag, task


class Visitor(HttpUser):
    # Each user waits 1 to 3 s after every task, like a person reading the page.
    wait_time = between(1, 3)

    @task(3)
    def home(self) -> None:
        self.client.get("/")

    @task(5)
    def browse_catalogue(self) -> None:
        # Query strings are not part of the statistics name: all pages count as "/items".
        self.client.get("/items", params={"page": random.randint(1, 6)})

    @tag("search")
    @task(1)
    def search(self) -> None:
        self.client.get("/search", params={"q": random.choice(["lamp", "mug", "red"])})
