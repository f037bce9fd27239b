"""The clock of one test, shared by the local runner and the master.

Test time: second `k` of a test is [start + k, start + k + 1) on the loop's
monotonic clock. `TestClock` owns what both roles did the same way before:
when the test started (wall clock for reports, monotonic for durations), the
once-a-second tick task, the `-t` timer, and the frozen duration of a stopped
test.

Invariants:

* ticks are scheduled on absolute deadlines (start + 1, start + 2, ...), so a
  late tick does not push every later second back;
* after `end()` no tick runs and `elapsed` stays put (downloads after a stop
  match the files written at stop);
* `begin()` on a running clock restarts it from zero (a new test).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["TestClock"]

log = logging.getLogger(__name__)


class TestClock:
    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.started_at: datetime | None = None
        """Wall-clock start of the current (or last) test; None before the first."""
        self._start = 0.0
        self._end: float | None = None
        self._stats_from = 0.0  # where in the test the statistics were last reset
        self._ticker: asyncio.Task[None] | None = None
        self._run_timer: asyncio.TimerHandle | None = None

    def begin(self, on_second: Callable[[], None], run_time: float | None,
              on_run_time: Callable[[], None]) -> None:
        """Start at zero: `on_second` after every second, `on_run_time` after `run_time`."""
        self.end()
        self.started_at = datetime.now(UTC)
        self._start, self._end, self._stats_from = self._loop.time(), None, 0.0
        self._ticker = self._loop.create_task(self._tick_loop(on_second), name="test-clock")
        if run_time is not None:
            self._run_timer = self._loop.call_later(run_time, on_run_time)

    def cancel_run_timer(self) -> None:
        if self._run_timer is not None:
            self._run_timer.cancel()
            self._run_timer = None

    def end(self) -> None:
        """Stop ticking and freeze `elapsed` (idempotent; nothing to do before `begin`)."""
        self.cancel_run_timer()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self.started_at is not None and self._end is None:
            self._end = self._loop.time()

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self._loop.time() if self._end is None else self._end
        return end - self._start

    def mark_stats_reset(self) -> None:
        """Statistics start again from now: rates are over the time since."""
        self._stats_from = self.elapsed

    @property
    def stats_elapsed(self) -> float:
        """Seconds the current statistics cover (the test, or since the last reset)."""
        return max(0.0, self.elapsed - self._stats_from)

    async def _tick_loop(self, on_second: Callable[[], None]) -> None:
        next_at = self._start + 1.0
        while True:
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))
            next_at += 1.0
            try:
                on_second()
            except Exception:  # noqa: BLE001 - one bad second must not end the clock
                # Without the tick nothing is folded or sent any more while the
                # test goes on; say what broke and keep counting.
                log.exception("the once-a-second tick failed; the test goes on")
