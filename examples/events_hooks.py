"""Running code when the test starts and stops, and on every request.

What it shows: module-level functions marked with
`@events.<hook>.add_listener` (`from horde import events`). Marking registers
nothing by itself; horde collects the marked functions when it loads the
script and adds them to the run's events. Listeners take keyword arguments
and should accept `**kwargs`, so that new arguments in later versions of
horde do not break them.

* `test_start` / `test_stop` receive `environment` (the run);
* `request` is called for every request -- keep it cheap, it runs on the hot
  path. A run with no `request` listener does not pay for the event at all.

In a distributed run each worker process runs its own listeners, so the tally
below is per process.

Run it against the demo target::

    python -m horde.demo.app --port 8080
    horde -f examples/events_hooks.py -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
"""

import random
from collections import Counter
from typing import Any

from horde import HttpUser, between, events, task

# Requests slower than this, per name, for the summary printed at the end.
SLOW_MS = 50.0
slow_requests: Counter[str] = Counter()


@events.test_start.add_listener
def on_test_start(environment: Any, **kwargs: Any) -> None:
    slow_requests.clear()
    print(f"test starting against {environment.host}")


@events.request.add_listener
def on_request(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    exception: Any = None,
    **kwargs: Any,
) -> None:
    if exception is None and response_time > SLOW_MS:
        slow_requests[f"{request_type} {name}"] += 1


@events.test_stop.add_listener
def on_test_stop(environment: Any, **kwargs: Any) -> None:
    print(f"requests slower than {SLOW_MS:.0f} ms:")
    for name, count in slow_requests.most_common():
        print(f"  {count:6d}  {name}")


class Visitor(HttpUser):
    wait_time = between(0.5, 1.5)

    @task(3)
    def item(self) -> None:
        self.client.get(f"/items/{random.randint(1, 120)}", name="/items/[id]")

    @task(1)
    def search(self) -> None:
        self.client.get("/search", params={"q": "blue"})
