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

In the open model (``--arrival-rate``) users get a `PacedSlot`: its `wait`
ignores the wait time and waits for the next iteration of the `Pacer`, and
its `record` adds how late that iteration started (horde.stats.openmodel).
A closed-model user's slot records straight into the run's statistics, as
before: the open model adds nothing to its hot path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from horde.errors import StopUser
from horde.events import Events
from horde.gate import Gate
from horde.http.source import LocalAddresses
from horde.stats import RecordFn

if TYPE_CHECKING:
    from horde.runtime.pacer import Pacer

__all__ = ["RunShared", "UserSlot", "PacedSlot", "PacedRecordFn"]

PacedRecordFn = Callable[[str, str, int, int, "str | None", int, int, int], None]
"""`horde.stats.openmodel.PacedRecorder.record`: a RecordFn plus (late_us, charge)."""


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
    local_addresses: LocalAddresses = LocalAddresses()
    """--local-ips: the source addresses HTTP clients send from (horde/http/source.py)."""
    pacer: Pacer | None = None
    """The open model's schedule (None: the closed model)."""
    paced_record: PacedRecordFn | None = None


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
        "local_addresses",
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
        self.local_addresses = shared.local_addresses
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


class PacedSlot(UserSlot):
    """A user of the open model: one iteration (task run) per due time of the pacer."""

    __slots__ = ("_pacer", "_paced_record", "late_us", "_charge")
    paced = True
    """Read by the task loops: wait for an iteration before the first task too."""

    def __init__(self, shared: RunShared, loop: asyncio.AbstractEventLoop, class_name: str) -> None:
        super().__init__(shared, loop, class_name)
        assert shared.pacer is not None and shared.paced_record is not None
        self._pacer = shared.pacer
        self._paced_record = shared.paced_record
        self.late_us = 0
        """How late the current iteration started, in µs (>= 0)."""
        self._charge = 0
        self.record = self._record

    def _record(self, method: str, name: str, latency_us: int, size: int, error: str | None,
                ttfb_us: int) -> None:
        charge, self._charge = self._charge, 0
        self._paced_record(method, name, latency_us, size, error, ttfb_us, self.late_us, charge)

    async def wait(self, seconds: float) -> None:
        """Wait for the next iteration (``seconds``, the wait time, is ignored)."""
        if self.stopping:
            raise StopUser()
        pacer = self._pacer
        got = pacer.take()
        if isinstance(got, float):
            due = got
        else:
            # A stop wakes it with None (begin_stop), hence the cast.
            self._sleeper = cast("asyncio.Future[None]", got)
            try:
                due = await got
            finally:
                self._sleeper = None
        if self.stopping or due is None:
            raise StopUser()
        self.late_us = max(0, int((pacer.clock() - due) * 1e6))
        self._charge += pacer.charge()
