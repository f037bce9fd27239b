"""The open model's pacer on a fake clock: iterations fall due, wait for users, or are dropped."""

from __future__ import annotations

import asyncio

from horde.plan.arrival import ArrivalRate
from horde.runtime.pacer import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_due_iterations_go_to_waiting_users_then_queue_then_drop() -> None:
    asyncio.run(_due_iterations_go_to_waiting_users_then_queue_then_drop())


async def _due_iterations_go_to_waiting_users_then_queue_then_drop() -> None:
    clock = FakeClock()
    pacer = Pacer(ArrivalRate(10.0, users=2), asyncio.get_running_loop(), 0.5, clock=clock)
    try:
        first = pacer.take()  # iteration 0 is due at once, but only when the timer runs
        assert isinstance(first, asyncio.Future) and not first.done()
        pacer.fall_due()
        assert first.done() and first.result() == 100.0
        clock.now = 100.35  # iterations 1, 2, 3 due (0.1, 0.2, 0.3); nobody waits
        pacer.fall_due()
        assert pacer.queued == 3
        assert pacer.take() == 100.1  # the oldest first: its user will count 0.25 s late
        clock.now = 100.85  # the ones due at 100.2 and 100.3 are now over 0.5 s late
        late = pacer.take()
        assert isinstance(late, asyncio.Future)  # both dropped: the user waits for the next
        assert pacer.dropped == 2
        assert pacer.charge() == 2 and pacer.charge() == 0
        assert pacer.take_counts() == (2, 2)
        assert pacer.take_counts() == (0, 0)
    finally:
        pacer.close()


def test_a_stopped_waiter_is_skipped_and_close_ends_the_schedule() -> None:
    asyncio.run(_a_stopped_waiter_is_skipped_and_close_ends_the_schedule())


async def _a_stopped_waiter_is_skipped_and_close_ends_the_schedule() -> None:
    clock = FakeClock()
    pacer = Pacer(ArrivalRate(10.0, users=2), asyncio.get_running_loop(), 5.0, clock=clock)
    gone = pacer.take()
    waiting = pacer.take()
    assert isinstance(gone, asyncio.Future) and isinstance(waiting, asyncio.Future)
    gone.set_result(None)  # type: ignore[arg-type] - what a stop does to a sleeping user
    pacer.fall_due()
    assert waiting.done() and waiting.result() == 100.0
    assert pacer.started == 1
    pacer.close()
    clock.now = 200.0
    pacer.fall_due()  # a timer that fired anyway hands out nothing more
    assert pacer.queued == 0 and pacer.started == 1


def test_loop_timer_makes_iterations_due_on_schedule() -> None:
    asyncio.run(_loop_timer_makes_iterations_due_on_schedule())


async def _loop_timer_makes_iterations_due_on_schedule() -> None:
    # Real loop timers, a real clock: 50 iterations at 1000/s all start, none dropped.
    pacer = Pacer(ArrivalRate(1000.0, users=1), asyncio.get_running_loop(), 10.0)
    try:
        dues = []
        for _ in range(50):
            got = pacer.take()
            dues.append(got if isinstance(got, float) else await got)
        assert dues == sorted(dues)
        assert abs((dues[-1] - dues[0]) - 0.049) < 1e-6
        assert pacer.dropped == 0
    finally:
        pacer.close()
