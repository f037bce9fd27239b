"""The run as one user sees it: `UserSlot` implements `UserEnvironment`.

Each user gets its own slot so it can be stopped on its own (ramp-down, a
smaller target from the master) without touching the others.

Stop protocol, in two steps (see `Population.stop`):

1. `slot.stopping` — the next `wait()` raises StopUser, and a user asleep in
   `wait()` is woken at once with StopUser. A task already running may finish,
   including its requests (that is what `--stop-timeout` allows).
2. `slot.gate.close()` — the HTTP client refuses to start a request
   (StopUser before any byte is sent), and a `horde.sleep` pause inside a
   task ends at once with StopUser (`pause`). Requests already sent complete
   and are recorded, so the totals equal what the target answered.

Nothing here cancels a task that has a request in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from horde.errors import StopUser
from horde.events import Events
from horde.gate import Gate
from horde.stats import RecordFn

__all__ = ["RunShared", "UserSlot"]


@dataclass(frozen=True)
class RunShared:
    """What all users of one run share."""

    host: str | None
    record: RecordFn
    events: Events
    tags: frozenset[str] | None
    exclude_tags: frozenset[str] | None
    request_timeout: float
    record_exception_fn: Callable[[str, BaseException], None]


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class UserSlot:
    """One user's view of the run, and the handle the runtime stops it by."""

    __slots__ = (
        "host",
        "record",
        "events",
        "tags",
        "exclude_tags",
        "request_timeout",
        "gate",
        "stopping",
        "_shared",
        "_loop",
        "_sleeper",
        "_pauser",
        "task",
        "class_name",
    )

    def __init__(self, shared: RunShared, loop: asyncio.AbstractEventLoop, class_name: str) -> None:
        self._shared = shared
        self.host = shared.host
        self.record = shared.record
        self.events = shared.events
        self.tags = shared.tags
        self.exclude_tags = shared.exclude_tags
        self.request_timeout = shared.request_timeout
        self.gate = Gate()
        self.stopping = False
        self._loop = loop
        self._sleeper: asyncio.Future[None] | None = None
        self._pauser: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.class_name = class_name

    async def wait(self, seconds: float) -> None:
        if self.stopping:
            raise StopUser()
        if seconds <= 0:
            # Still yield: a task without I/O must not starve the other users.
            await asyncio.sleep(0)
        else:
            fut = self._loop.create_future()
            handle = self._loop.call_later(seconds, _wake, fut)
            self._sleeper = fut
            try:
                await fut
            finally:
                self._sleeper = None
                handle.cancel()
        if self.stopping:
            raise StopUser()

    async def pause(self, seconds: float) -> None:
        """`horde.sleep` in a task: runs on through --stop-timeout, ends when the gate closes."""
        if self.gate.closed:
            raise StopUser()
        fut = self._loop.create_future()
        handle = self._loop.call_later(max(0.0, seconds), _wake, fut)
        self._pauser = fut
        try:
            await fut
        finally:
            self._pauser = None
            handle.cancel()
        if self.gate.closed:
            raise StopUser()

    def record_exception(self, where: str, exc: BaseException) -> None:
        self._shared.record_exception_fn(where, exc)

    def clock(self) -> float:
        return time.monotonic()

    def begin_stop(self) -> None:
        """Step 1: no more tasks; wake the user if it is waiting."""
        self.stopping = True
        sleeper = self._sleeper
        if sleeper is not None and not sleeper.done():
            sleeper.set_result(None)

    def close_gate(self) -> None:
        """Step 2: no new request either, and no pause goes on."""
        self.begin_stop()
        self.gate.close()
        pauser = self._pauser
        if pauser is not None and not pauser.done():
            pauser.set_result(None)
