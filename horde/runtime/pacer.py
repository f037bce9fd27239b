"""The open model in one process: iterations fall due on the plan's schedule, idle users take them.

`Pacer` follows an `horde.plan.arrival.ArrivalRate` (this process's share):
one loop callback at each due time hands the iterations due by then to users
waiting for one (oldest first), or queues them when every user is busy. A
user that finishes an iteration asks for the next (`take`): it gets the
oldest queued iteration at once, or waits for the next one to fall due.
What a user gets is the time (on `clock`, monotonic seconds) the iteration
was *due*, so its requests can be timed from there (coordinated-omission
correction). Wake-ups are scheduled on the loop's timer, whose clock may be
coarser (uvloop's counts whole milliseconds): an iteration is handed out
once its due time is within `_EARLY` of `clock`, and a user that starts it
early counts a lateness of 0, never less.

An iteration queued for longer than ``max_lateness`` seconds is dropped and
counted: the open model never catches up with a burst of stale iterations
after a stall longer than that (k6's ``dropped_iterations``). Drops are also
handed to the next user that takes an iteration (`charge`), which charges
them to its first request's endpoint (horde.stats.openmodel).

A new split of the fleet's rate during the test (`switch`) ends the current
share before the new one's first fleet-wide iteration and follows the new
share from there; a worker that joins a running test starts its schedule at
the master's test time (``offset``), not at 0.

Invariants:

* each due iteration is either taken by exactly one user, dropped (counted
  once), or still queued; ``started + dropped + queued == due so far``;
* a waiter whose future is already done (its user began to stop) is skipped,
  never handed an iteration;
* after `close` nothing falls due and no callback stays scheduled.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from horde.plan.arrival import ArrivalRate

__all__ = ["Pacer"]

_EARLY = 0.001
"""Seconds before its due time an iteration may be handed out (the loop timer's grain)."""


class Pacer:
    def __init__(self, plan: ArrivalRate, loop: asyncio.AbstractEventLoop, max_lateness: float,
                 clock: Callable[[], float] = time.monotonic, offset: float = 0.0) -> None:
        """`offset`: the plan's test time now (a worker that joins a running test)."""
        self._plan = plan
        self._next: deque[ArrivalRate] = deque()  # shares that follow this one (`switch`)
        self._loop = loop
        self.clock = clock
        self._loop_start = loop.time() - offset
        self._start = clock() - offset  # test time 0 of the plan, on `clock`
        self.max_lateness = max_lateness
        self._k = 0  # the next iteration of this process's schedule not yet due
        self._queued: deque[float] = deque()  # due times of iterations nobody took yet
        self._waiters: deque[asyncio.Future[float]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.started = 0
        self.dropped = 0
        self._uncharged = 0
        self._taken_started = 0
        self._taken_dropped = 0
        self._arm()

    # --- the schedule -------------------------------------------------------------------

    def _due_time(self) -> float | None:
        """Test time of the next iteration of the schedule, moving on to the next share."""
        while True:
            t = self._plan.start_time(self._k)
            if t is not None or not self._next:
                return t
            self._plan, self._k = self._next.popleft(), 0

    def switch(self, plan: ArrivalRate) -> None:
        """Follow `plan` (a new split) from its first fleet-wide iteration on."""
        cut = plan.first

        def ended(p: ArrivalRate) -> ArrivalRate:
            until = cut if p.until is None else min(p.until, cut)
            return replace(p, until=max(p.first, until))

        self._plan = ended(self._plan)
        self._next = deque(ended(p) for p in self._next)
        self._next.append(plan)
        if self._timer is not None:
            self._timer.cancel()
        self._arm()

    def _arm(self) -> None:
        if self._closed:
            return
        t = self._due_time()
        if t is None:
            self._timer = None
            return
        self._timer = self._loop.call_at(self._loop_start + t, self.fall_due)

    def fall_due(self) -> None:
        """Hand out (or queue) every iteration due by now; the loop timer calls it."""
        if self._closed:
            return
        now = self.clock()
        start = self._start
        while True:
            t = self._due_time()
            if t is None or start + t > now + _EARLY:
                break
            self._k += 1
            self._hand_out(start + t)
        self._drop_late(now)
        self._arm()

    def _hand_out(self, due: float) -> None:
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                self.started += 1
                fut.set_result(due)
                return
        self._queued.append(due)

    def _drop_late(self, now: float) -> None:
        queued, limit = self._queued, now - self.max_lateness
        while queued and queued[0] < limit:
            queued.popleft()
            self.dropped += 1
            self._uncharged += 1

    # --- what users call -----------------------------------------------------------------

    def take(self) -> float | asyncio.Future[float]:
        """The due time of an iteration queued for this user, or a future of the next one."""
        if self._queued:
            self._drop_late(self.clock())
        if self._queued:
            self.started += 1
            return self._queued.popleft()
        fut: asyncio.Future[float] = self._loop.create_future()
        if not self._closed:
            self._waiters.append(fut)
        return fut

    def charge(self) -> int:
        """Drops not yet charged to an endpoint; the caller charges them (and they reset)."""
        n, self._uncharged = self._uncharged, 0
        return n

    def take_counts(self) -> tuple[int, int]:
        """(iterations started, dropped) since the previous call."""
        started, dropped = self.started - self._taken_started, self.dropped - self._taken_dropped
        self._taken_started, self._taken_dropped = self.started, self.dropped
        return started, dropped

    @property
    def queued(self) -> int:
        return len(self._queued)

    def target_rate(self, t: float) -> float:
        """The fleet-wide rate the plan asks for at test time ``t`` (0 after its end)."""
        return self._plan.rate_at(t) or 0.0

    def close(self) -> None:
        """Stop the schedule: nothing more falls due; waiting users are left to the stop."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queued.clear()
        self._waiters.clear()
