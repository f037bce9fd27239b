"""The users of one process: start them, stop them, count them.

Invariants:

* every running user has exactly one `UserSlot` in `_slots[class_name]`, in
  start order; a user leaves the table when its task ends, whatever the reason;
* stopping a user never cancels a task with a request in flight: it goes
  through the slot's two-step stop (environment.py); only `stop_all` cancels,
  and only what is still running after both grace periods;
* targets are absolute counts per class, so applying the same target twice is
  harmless (the master repeats them after a reconnect);
* a ramp follows a `horde.plan.ramp.RampPlan` from the counts at the moment
  the target was set: ``counts_at(t)`` is what should be *placed* ``t``
  seconds later; the loop clock only says what ``t`` is;
* placed = running + retired: a user that ended on its own (it raised
  StopUser, or crashed) is retired and never started again in this test, as
  in Locust; a ramp-down takes retired users first, and `count` (what the
  views show) is the running users only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from horde.plan.ramp import RampPlan
from horde.runtime.environment import PacedSlot, RunShared, UserSlot
from horde.user import User
from horde.user.sleep import PAUSE

__all__ = ["Population"]


def _full_pace() -> float:
    return 1.0

log = logging.getLogger(__name__)

# Ramp granularity: at most 200 spawn decisions a second. Each decision starts
# its users at once, and a user's start (and its first request, with a new
# connection) costs 0.1-0.3 ms: at 50 ms ticks, 830 users/s meant 40 users in
# one burst, a loop lag of 10-20 ms that the ramp's own back-pressure then
# read as overload (issue 8). At 5 ms the same ramp starts 4 at a time.
_TICK = 0.005


class Population:
    def __init__(self, classes: Sequence[type[User]], shared: RunShared,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._classes = {cls.__name__: cls for cls in classes}
        # Insertion-ordered dicts used as ordered sets: a user that ends leaves
        # in O(1) (19,000 users stopping must not block the loop for seconds),
        # and popitem() gives the newest for a ramp-down.
        self._slots: dict[str, dict[UserSlot, None]] = {name: {} for name in self._classes}
        self._stopping: set[UserSlot] = set()
        self._broken: set[str] = set()  # classes whose constructor raised: not retried
        self._retired: dict[str, int] = {name: 0 for name in self._classes}
        self._shared = shared
        self._loop = loop
        self._ramp: asyncio.Task[None] | None = None
        self._ramp_rate = 0.0
        self.pace: Callable[[], float] = _full_pace
        """Back-pressure: how fast ramps run, 1.0 = at the spawn rate (see `_ramp_to`)."""
        self.ramp_done = asyncio.Event()
        self.ramp_done.set()

    # --- counts -------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {name: len(slots) for name, slots in self._slots.items()}

    @property
    def count(self) -> int:
        return sum(len(slots) for slots in self._slots.values())

    def placed(self) -> dict[str, int]:
        """Running plus retired users per class: what a ramp counts."""
        return {name: len(slots) + self._retired[name] for name, slots in self._slots.items()}

    @property
    def retired(self) -> int:
        """Users that ended on their own in this test (StopUser, a crash)."""
        return sum(self._retired.values())

    @property
    def shared(self) -> RunShared:
        return self._shared

    def replace_shared(self, shared: RunShared) -> None:
        """New users get this (e.g. a new host from the web UI); running ones keep theirs."""
        self._shared = shared
        self._broken.clear()  # a new host may fix what failed

    # --- one user -----------------------------------------------------------

    def _start_one(self, name: str) -> None:
        cls = self._classes[name]
        kind = UserSlot if self._shared.pacer is None else PacedSlot
        slot = kind(self._shared, self._loop, name)
        try:
            user = cls(slot)
        except Exception as exc:  # noqa: BLE001 - e.g. a class `host` that is no URL
            # Recorded like a user that crashed: raising here would end the
            # ramp task silently and leave a test of zero users that "passed".
            slot.record_exception(f"{name} (user could not be created)", exc)
            self._broken.add(name)  # tried once per test, not at every ramp tick
            return
        slot.task = self._loop.create_task(self._run(user, slot), name=f"user:{name}")
        self._slots[name][slot] = None

    async def _run(self, user: User, slot: UserSlot) -> None:
        PAUSE.set(slot.pause)  # this task's context only: horde.sleep ends when the stop says
        try:
            await user.run()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - user code must never kill the runner
            slot.record_exception(f"{slot.class_name} (user crashed)", exc)
        finally:
            slots = self._slots.get(slot.class_name)
            if slots is not None and slot in slots and not slot.stopping:
                # It ended on its own: it stays stopped for this test (Locust does
                # the same), instead of being started again at every ramp tick.
                self._retired[slot.class_name] += 1
            if slots is not None:
                slots.pop(slot, None)
            self._stopping.discard(slot)

    def _stop_one(self, name: str) -> None:
        # Newest first, like a ramp-down in reverse of the ramp-up.
        slot, _ = self._slots[name].popitem()
        self._stopping.add(slot)
        slot.close_gate()

    # --- targets and ramps --------------------------------------------------

    def set_target(self, targets: Mapping[str, int], rate: float) -> None:
        """Move towards `targets` (absolute per-class counts) at `rate` users/s."""
        unknown = set(targets) - set(self._classes)
        if unknown:
            raise KeyError(f"unknown user classes {sorted(unknown)}")
        if self._ramp is not None:
            self._ramp.cancel()
        # Classes the target leaves out keep their count (a master names them all).
        placed = self.placed()
        plan = RampPlan(placed, {**placed, **targets}, rate)
        self.ramp_done.clear()
        self._ramp = self._loop.create_task(self._ramp_to(plan), name="ramp")

    def apply(self, wanted: Mapping[str, int]) -> None:
        """Start or stop users until each class has `wanted` placed (one step of a ramp)."""
        for name, want in wanted.items():
            slots = self._slots[name]
            placed = len(slots) + self._retired[name]
            while placed > want:
                if self._retired[name] > 0:
                    self._retired[name] -= 1  # already gone: nothing to stop
                else:
                    self._stop_one(name)
                placed -= 1
            while placed < want and name not in self._broken:
                self._start_one(name)
                placed += 1

    @property
    def effective_spawn_rate(self) -> float:
        """Users started (or stopped) per second right now: 0 when no ramp runs."""
        return self._ramp_rate if not self.ramp_done.is_set() else 0.0

    async def _ramp_to(self, plan: RampPlan) -> None:
        """Follow ``plan`` on a ramp clock that runs at `pace` times the wall clock.

        The plan stays a pure function of time; back-pressure only slows the
        clock it is read with, so a ramp on a struggling process (loop lag or
        CPU over the health limits: starting users and opening their
        connections is what costs) starts fewer users a second, and catches
        nothing up later.
        """
        try:
            t, last = 0.0, self._loop.time()
            while True:
                now = self._loop.time()
                pace = max(0.0, min(1.0, self.pace()))
                t += (now - last) * pace
                last = now
                self._ramp_rate = plan.spawn_rate * pace
                self.apply(plan.counts_at(t))
                if plan.done(t):
                    return
                # Wake for the next move, but no more than 200 times a second:
                # at high rates several users start per wake-up.
                next_move = plan.moves_at(t) / plan.spawn_rate  # move k is due at k / rate
                wait = (next_move - t) / pace if pace > 0 else _TICK
                await asyncio.sleep(max(_TICK, min(wait + 0.001, 1.0)))
        finally:
            # A ramp replaced by a newer one must not mark the newer one done.
            if self._ramp is asyncio.current_task():
                self.ramp_done.set()

    # --- stopping everything ------------------------------------------------

    def close_gates_threadsafe(self) -> None:
        """No user starts a new request from now on; safe from any thread.

        For the worker's connection watcher, which runs while this loop may be
        blocked. Only attributes are set (no future, no task): copying a dict's
        keys is one step under the GIL. Users spawned later have open gates,
        so the loop must still stop everything when it runs again.
        """
        for slots in list(self._slots.values()):
            for slot in list(slots):
                slot.gate.closed = True

    def _all(self) -> list[UserSlot]:
        return [s for slots in self._slots.values() for s in slots] + list(self._stopping)

    async def _wait_tasks(self, slots: list[UserSlot], timeout: float) -> list[UserSlot]:
        tasks = [s.task for s in slots if s.task is not None and not s.task.done()]
        if tasks and timeout > 0:
            await asyncio.wait(tasks, timeout=timeout)
        return [s for s in slots if s.task is not None and not s.task.done()]

    async def stop_all(self, stop_timeout: float, request_timeout: float) -> int:
        """Stop every user. Returns how many had to be cancelled at the end.

        1. for `stop_timeout` seconds, running tasks may finish (and send requests);
        2. then no new request starts; those in flight end within their timeout;
        3. whatever is still running after that is cancelled.
        """
        if self._ramp is not None:
            self._ramp.cancel()
        slots = self._all()
        for slot in slots:
            slot.begin_stop()
        remaining = await self._wait_tasks(slots, stop_timeout) if stop_timeout > 0 else slots
        for slot in remaining:
            slot.close_gate()
        remaining = await self._wait_tasks(remaining, request_timeout + 1.0)
        for slot in remaining:
            assert slot.task is not None
            slot.task.cancel()
        if remaining:
            await asyncio.wait([s.task for s in remaining if s.task is not None], timeout=5.0)
            log.warning("%d users did not stop in time and were cancelled", len(remaining))
        for slots_of_class in self._slots.values():
            slots_of_class.clear()
        self._stopping.clear()
        self._retired = {name: 0 for name in self._classes}
        return len(remaining)

    def force_stop(self) -> None:
        """Second Ctrl-C: cancel everything now."""
        if self._ramp is not None:
            self._ramp.cancel()
        for slot in self._all():
            slot.close_gate()
            if slot.task is not None:
                slot.task.cancel()
