"""A fake `UserEnvironment` for driving users without a runtime or real time.

`FakeEnv.wait` never sleeps: it advances the fake clock by the wait and
raises StopUser once `stop_after` waits have been asked for (so exactly
`stop_after` task runs happen) or once `stopping` is set. Every wait, request
and exception is kept for the test to inspect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from horde.errors import StopUser
from horde.events import Events
from horde.gate import Gate


class FakeEnv:
    def __init__(
        self,
        *,
        stop_after: int | None = None,
        tags: frozenset[str] | None = None,
        exclude_tags: frozenset[str] | None = None,
        host: str | None = None,
    ) -> None:
        self.host = host
        self.gate = Gate()
        self.events = Events()
        self.tags = tags
        self.exclude_tags = exclude_tags
        self.request_timeout = 60.0
        self.stop_after = stop_after
        self.stopping = False
        self.now = 1000.0
        self.waits: list[float] = []
        self.exceptions: list[tuple[str, BaseException]] = []
        self.requests: list[tuple[str, str, int, int, str | None, int]] = []

    def record(
        self, method: str, name: str, latency_us: int, size: int, error: str | None, ttfb_us: int
    ) -> None:
        self.requests.append((method, name, latency_us, size, error, ttfb_us))

    async def wait(self, seconds: float) -> None:
        if self.stopping:
            raise StopUser()
        self.waits.append(seconds)
        self.now += seconds
        if self.stop_after is not None and len(self.waits) >= self.stop_after:
            self.stopping = True
            raise StopUser()
        await asyncio.sleep(0)

    def record_exception(self, where: str, exc: BaseException) -> None:
        self.exceptions.append((where, exc))

    def clock(self) -> float:
        return self.now


def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
    """Run one coroutine to completion, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def run_user(user: Any, timeout: float = 10.0) -> None:
    run(user.run(), timeout)
