"""Tasks written as `async def`, horde's fastest path.

What it shows: a task may be a coroutine. Inside it, the client's methods
return awaitables: `await self.client.get(...)`; with `catch_response=True`
the request is an async context manager, `async with ... as response:`.
Async tasks run directly on the event loop, with no greenlet switch per
request, so one process drives more users. The rule that comes with it: never
block inside an async task (no `time.sleep`, no `requests`), or every user of
the process stalls; pause with `await horde.sleep(...)` (or `asyncio.sleep`).

Sync and async tasks may be mixed in one user; here `wait_time` paces each
user at about two task runs a second, whatever the response times.

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/async_tasks.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random

from horde import HttpUser, constant_throughput, sleep, task


class AsyncShopper(HttpUser):
    wait_time = constant_throughput(2)

    async def on_start(self) -> None:
        await self.client.post("/login", data={"username": "async", "password": "secret"})

    @task(4)
    async def item(self) -> None:
        await self.client.get(f"/items/{random.randint(1, 120)}", name="/items/[id]")

    @task(2)
    async def cart_has_what_was_added(self) -> None:
        item_id = random.randint(1, 120)
        await self.client.post("/cart", data={"item_id": str(item_id)})
        async with self.client.get("/cart", catch_response=True) as response:
            ids = [line["id"] for line in response.json()["items"]]
            if item_id not in ids:
                response.failure(f"item {item_id} missing from the cart")

    @task(1)
    async def think_then_search(self) -> None:
        # A pause inside a task: await it, never time.sleep().
        await sleep(0.1)
        await self.client.get("/search", params={"q": "tea"})
