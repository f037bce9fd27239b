"""The open model's pacer on a fake clock: iterations fall due, wait for users, or are dropped."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

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


def test_a_switch_ends_the_old_share_and_follows_the_new_one() -> None:
    asyncio.run(_a_switch_ends_the_old_share_and_follows_the_new_one())


async def _a_switch_ends_the_old_share_and_follows_the_new_one() -> None:
    clock = FakeClock()
    fleet = ArrivalRate(10.0, users=2)
    pacer = Pacer(fleet, asyncio.get_running_loop(), 60.0, clock=clock)
    try:
        clock.now = 100.35
        pacer.fall_due()  # iterations 0..3 of the whole fleet's schedule
        assert pacer.queued == 4
        # Another worker joined: from iteration 6 (0.6 s) on, this one runs the even ones.
        pacer.switch(replace(fleet.share(0, 2), first=6))
        clock.now = 101.25
        pacer.fall_due()
        due = [pacer.take() for _ in range(pacer.queued)]
        # 0..3 before; 4, 5 of the old share (before 6); then 6, 8, 10, 12 of the new.
        assert due == pytest.approx([100.0, 100.1, 100.2, 100.3, 100.4, 100.5,
                                     100.6, 100.8, 101.0, 101.2])
    finally:
        pacer.close()


def test_a_worker_that_joins_late_starts_at_the_masters_test_time() -> None:
    asyncio.run(_a_worker_that_joins_late_starts_at_the_masters_test_time())


async def _a_worker_that_joins_late_starts_at_the_masters_test_time() -> None:
    clock = FakeClock()
    share = ArrivalRate(10.0, users=2, index=1, count=2, first=30)  # from 3.0 s on, odd ones
    pacer = Pacer(share, asyncio.get_running_loop(), 60.0, clock=clock, offset=2.5)
    try:
        clock.now = 100.45  # test time 2.95: nothing of its share is due yet
        pacer.fall_due()
        assert pacer.queued == 0
        clock.now = 100.75  # test time 3.25: iteration 31 (3.1 s)
        pacer.fall_due()
        assert pacer.queued == 1 and pacer.take() == pytest.approx(100.6)
    finally:
        pacer.close()
