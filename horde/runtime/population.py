"""The users of one process: start them, stop them, count them.

Invariants:

* every running user has exactly one `UserSlot` in `_slots[class_name]`, in
  start order; a user leaves the table when its task ends, whatever the reason;
* stopping a user never cancels a task with a request in flight: it goes
  through the slot's two-step stop (environment.py); only `stop_all` cancels,
  and only what is still running after both grace periods;
* targets are absolute counts per class, so applying the same target twice is
  harmless (the master repeats them after a reconnect).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from horde.runtime.environment import RunShared, UserSlot
from horde.user import User

__all__ = ["Population"]

log = logging.getLogger(__name__)

_TICK = 0.05  # ramp granularity: 20 spawn decisions a second


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
        self._shared = shared
        self._loop = loop
        self._ramp: asyncio.Task[None] | None = None
        self.ramp_done = asyncio.Event()
        self.ramp_done.set()

    # --- counts -------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {name: len(slots) for name, slots in self._slots.items()}

    @property
    def count(self) -> int:
        return sum(len(slots) for slots in self._slots.values())

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
        slot = UserSlot(self._shared, self._loop, name)
        try:
            user = cls(slot)
        except Exception as exc:  # noqa: BLE001 - e.g. a class `host` that is no URL
            # Recorded like a user that crashed: raising here would end the
            # ramp task silently and leave a test of zero users that "passed".
            slot.record_exception(f"{name} (user could not be created)", exc)
            self._broken.add(name)  # tried once per test, not 20 times a second
            return
        slot.task = self._loop.create_task(self._run(user, slot), name=f"user:{name}")
        self._slots[name][slot] = None

    async def _run(self, user: User, slot: UserSlot) -> None:
        try:
            await user.run()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - user code must never kill the runner
            slot.record_exception(f"{slot.class_name} (user crashed)", exc)
        finally:
            slots = self._slots.get(slot.class_name)
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
        self.ramp_done.clear()
        self._ramp = self._loop.create_task(self._ramp_to(dict(targets), rate), name="ramp")

    def _next_change(self, targets: Mapping[str, int]) -> tuple[str, int] | None:
        """The class furthest from its target (relative), and +1 or -1."""
        best: tuple[float, str, int] | None = None
        for name, target in targets.items():
            have = len(self._slots[name])
            if have == target or (name in self._broken and target > have):
                continue
            gap = abs(target - have) / max(target, have)
            if best is None or gap > best[0]:
                best = (gap, name, 1 if target > have else -1)
        return None if best is None else (best[1], best[2])

    async def _ramp_to(self, targets: dict[str, int], rate: float) -> None:
        try:
            start = self._loop.time()
            done = 0
            while True:
                allowed = int((self._loop.time() - start) * rate) + 1 - done
                while allowed > 0:
                    change = self._next_change(targets)
                    if change is None:
                        return
                    name, sign = change
                    if sign > 0:
                        self._start_one(name)
                    else:
                        self._stop_one(name)
                    done += 1
                    allowed -= 1
                if self._next_change(targets) is None:
                    return
                await asyncio.sleep(min(_TICK, 1.0 / rate))
        finally:
            # A ramp replaced by a newer one must not mark the newer one done.
            if self._ramp is asyncio.current_task():
                self.ramp_done.set()

    # --- stopping everything ------------------------------------------------

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
        return len(remaining)

    def force_stop(self) -> None:
        """Second Ctrl-C: cancel everything now."""
        if self._ramp is not None:
            self._ramp.cancel()
        for slot in self._all():
            slot.close_gate()
            if slot.task is not None:
                slot.task.cancel()
