"""What one process changes for the duration of a test, and puts back after.

* `time.sleep` is cooperative in users' sync tasks (horde.user.sleep);
* after each ramp, every object alive is moved out of the cyclic garbage
  collector's reach (`gc.freeze()`): users, their greenlets, connections and
  clients live for the whole test, and a full collection that walks tens of
  thousands of them every few seconds is work that grows with the number of
  users (issue 8: the post-ramp storm). At the end of the test the objects
  are handed back (`gc.unfreeze()`), so what the test left behind can be
  collected before the next one.

Invariants: `begin` and `end` pair up (a second `begin` before `end` is a
no-op); `end` without `begin` is harmless; nothing here runs at import.
"""

from __future__ import annotations

import gc
from contextlib import ExitStack

from horde.user.sleep import cooperative_time_sleep

__all__ = ["RunGuards"]


class RunGuards:
    """Held from a test's start to its stop by the runner of one process."""

    def __init__(self) -> None:
        self._held: ExitStack | None = None
        self._froze = False

    def begin(self) -> None:
        if self._held is not None:
            return
        held = ExitStack()
        held.enter_context(cooperative_time_sleep())
        self._held = held

    def ramp_done(self) -> None:
        """Users are in place: keep the collector off them (see the module docstring)."""
        if self._held is None:
            return
        gc.collect(1)  # young garbage of the ramp first: frozen garbage is never freed
        gc.freeze()
        self._froze = True

    def end(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()
        if self._froze:
            self._froze = False
            gc.unfreeze()
