"""Grouping dynamic URLs under one name in the statistics.

What it shows: statistics are kept per (method, name), and the name is the URL
path unless the request gives `name=`. A path with an id in it would make one
statistics line per id -- 120 lines of a handful of requests each, whose
percentiles mean nothing. `name="/items/[id]"` puts them all on one line.
(The query string is never part of the name, so `/items?page=3` is already
counted as `/items`.)

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/name_grouping.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random

from horde import HttpUser, between, task


class Reader(HttpUser):
    wait_time = between(0.5, 2)

    @task(5)
    def item(self) -> None:
        item_id = random.randint(1, 120)
        # Without name=, this would be "/items/1", "/items/2", ... in the statistics.
        self.client.get(f"/items/{item_id}", name="/items/[id]")

    @task(2)
    def page(self) -> None:
        # Grouped as "/items" already: the query string is not part of the name.
        self.client.get("/items", params={"page": random.randint(1, 6)})

    @task(1)
    def item_then_page(self) -> None:
        item_id = random.randint(1, 120)
        # The same name can be given to requests of different URLs on purpose,
        # here "the page an item is on".
        page = (item_id - 1) // 20 + 1
        self.client.get(f"/items/{item_id}", name="/items/[id]")
        self.client.get(f"/items?page={page}", name="/items?page=[item's page]")
