"""What one process changes for the duration of a test, and puts back after.

* `time.sleep` is cooperative in users' sync tasks (horde.user.sleep);
* at the start of a test, and after each ramp, every object alive is moved
  out of the cyclic garbage collector's reach (`gc.freeze()`), and after a
  ramp again 1, 2, 4, 8, 16 and 32 s later: a user builds most of what it
  keeps (connection, parser, greenlet, its wait's timer) when it first
  runs, after the ramp has spawned it, and later still on a starved loop.
  Users live for the whole test, and without this a full collection walks
  all of their objects every few seconds (each
  wait's future and timer outlive two young collections, so the old
  generation keeps growing by a quarter): work and loop lag that grow with
  the number of users (issue 8: the post-ramp storm). `gc.freeze()` only
  splices lists, so a freeze costs the same at any size. At the end of the
  test the objects are handed back (`gc.unfreeze()`), so the cyclic garbage
  a freeze caught (alive at that instant) is collected then.
* while users grow (a ramp; with back-pressure it can last the whole test),
  every time the process holds `GROWTH_FACTOR` times the users it held at
  the last freeze (from `FREEZE_FROM_USERS` on), checked once a second:
  otherwise each full collection during the ramp walks every user started
  so far (perf on a worker ramping to 16,000 users: 21% of its CPU in the
  collector). A freeze also keeps the cyclic garbage alive at that instant
  until the end of the test; growth-triggered freezes are few (about 13 from
  1,000 to 16,000 users), so that stays bounded;
* the collector's first threshold is raised to `YOUNG_THRESHOLD` (from 700):
  it counts allocations minus deallocations, and a steady load test frees
  what it allocates, so the default fired on mere fluctuations, each time
  walking every user's pending wait (its coroutine, future, timer: alive
  for 1-5 s, hence always "young"). Measured with 6,000 idle users
  (`between(1, 5)`): 24 young collections in 15 s costing 0.19 CPU-s with
  700, none with 10,000; garbage that keeps growing is still collected.

Invariants: `begin` and `end` pair up (a second `begin` before `end` is a
no-op); `end` without `begin` is harmless and cancels every pending freeze;
nothing here runs at import. Both changes are process-wide: with two runners
in one process (tests), the first to end unfreezes for both, which costs
collector time and never changes a result.
"""

from __future__ import annotations

import asyncio
import gc
from contextlib import ExitStack

from horde.user.sleep import cooperative_time_sleep

__all__ = ["FREEZE_FROM_USERS", "GROWTH_FACTOR", "REFREEZE_AFTER_S", "YOUNG_THRESHOLD",
           "RunGuards"]

REFREEZE_AFTER_S = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
YOUNG_THRESHOLD = 10_000
FREEZE_FROM_USERS = 1_000
GROWTH_FACTOR = 1.25


class RunGuards:
    """Held from a test's start to its stop by the runner of one process."""

    def __init__(self) -> None:
        self._held: ExitStack | None = None
        self._froze = False
        self._timers: list[asyncio.TimerHandle] = []
        self._thresholds: tuple[int, int, int] | None = None
        self._frozen_users = 0  # users held at the last growth-triggered freeze

    def begin(self) -> None:
        if self._held is not None:
            return
        held = ExitStack()
        held.enter_context(cooperative_time_sleep())
        self._held = held
        young, middle, old = self._thresholds = gc.get_threshold()
        gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
        # What is alive now (modules, classes, the script) lives as long as the
        # process: out of the collector's reach, so that a full collection in
        # the first seconds of a ramp does not walk it (~25 ms on a worker).
        self._freeze()

    def ramp_done(self) -> None:
        """Users are in place: keep the collector off them (see the module docstring)."""
        if self._held is None:
            return
        self._cancel_timers()
        self._freeze()
        loop = asyncio.get_running_loop()
        self._timers = [loop.call_later(delay, self._freeze) for delay in REFREEZE_AFTER_S]

    def users_now(self, users: int) -> None:
        """Once a second: freeze when the users have grown enough (see the module docstring)."""
        if self._held is None:
            return
        if users >= max(FREEZE_FROM_USERS, self._frozen_users * GROWTH_FACTOR):
            self._frozen_users = users
            self._freeze()

    def _freeze(self) -> None:
        gc.freeze()
        self._froze = True

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    def end(self) -> None:
        self._cancel_timers()
        self._frozen_users = 0
        held, self._held = self._held, None
        if held is not None:
            held.close()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        if self._froze:
            self._froze = False
            gc.unfreeze()
