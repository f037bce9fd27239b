"""Issue 14, items 1 and 2: what a stop waits for, and users that stop themselves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import ClassVar

import pytest

import horde
from horde import StopUser, User, constant, task
from horde.events import Events
from horde.runtime.local import LocalRunner, RunOptions


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class Sleepy(User):
    wait_time = constant(0)
    asleep: ClassVar[int] = 0
    stopped: ClassVar[int] = 0

    @task
    def nap(self) -> None:
        type(self).asleep += 1
        horde.sleep(100)  # a pause inside a task, not a request
        raise AssertionError("the stop should have ended the pause")

    def on_stop(self) -> None:
        type(self).stopped += 1


class AsyncSleepy(User):
    wait_time = constant(0)
    asleep: ClassVar[int] = 0
    stopped: ClassVar[int] = 0

    @task
    async def nap(self) -> None:
        type(self).asleep += 1
        await horde.sleep(100)
        raise AssertionError("the stop should have ended the pause")

    async def on_stop(self) -> None:
        type(self).stopped += 1


@pytest.mark.parametrize("cls", [Sleepy, AsyncSleepy])
def test_a_stop_ends_horde_sleep_at_once(cls: type[Sleepy] | type[AsyncSleepy],
                                         caplog: pytest.LogCaptureFixture) -> None:
    """Only requests already sent hold a stop: a pause ends, and on_stop still runs.

    Before the fix the stop waited out request_timeout + 1 s and then
    cancelled the users: no on_stop, and "did not stop in time" in the log.
    """
    cls.asleep = cls.stopped = 0

    async def scenario() -> None:
        runner = LocalRunner([cls], RunOptions(request_timeout=1.0), Events())
        await runner.start(3, 100.0)
        await until(lambda: cls.asleep == 3)
        await runner.stop()
        assert cls.stopped == 3  # each user left through StopUser, not cancellation
        assert runner.counts() == {cls.__name__: 0}

    with caplog.at_level(logging.WARNING):
        asyncio.run(asyncio.wait_for(scenario(), 30))
    assert "did not stop in time" not in caplog.text
    assert not any("AssertionError" in r.getMessage() for r in caplog.records)


def test_a_pause_still_runs_within_the_stop_timeout() -> None:
    """--stop-timeout lets a task finish, pauses included; then the gate ends it."""

    class Finisher(User):
        wait_time = constant(0)
        finished: ClassVar[int] = 0
        started: ClassVar[int] = 0

        @task
        async def work(self) -> None:
            type(self).started += 1
            await horde.sleep(0.05)
            type(self).finished += 1
            await horde.sleep(100)

    async def scenario() -> None:
        runner = LocalRunner([Finisher], RunOptions(stop_timeout=5.0, request_timeout=1.0),
                             Events())
        await runner.start(2, 100.0)
        await until(lambda: Finisher.started == 2)
        await runner.stop()
        assert Finisher.finished == 2  # the short pause was allowed to end

    asyncio.run(asyncio.wait_for(scenario(), 30))


class Stopper(User):
    wait_time = constant(0)
    runs: ClassVar[int] = 0

    @task
    def give_up(self) -> None:
        type(self).runs += 1
        raise StopUser()


class Other(User):
    wait_time = constant(0.01)
    runs: ClassVar[int] = 0

    @task
    def work(self) -> None:
        type(self).runs += 1


def test_a_user_that_raises_stop_user_stays_stopped() -> None:
    """As in Locust: not started again (before: restarted 20 times a second), and
    the user count shows only the users that run."""
    Stopper.runs = Other.runs = 0

    async def scenario() -> None:
        runner = LocalRunner([Stopper, Other], RunOptions(), Events())
        await runner.start(4, 4.0)  # a ramp of 0.75 s: time to restart a stopper
        await until(lambda: runner.state == "running")
        await until(lambda: Other.runs >= 20)
        assert Stopper.runs == 2
        assert runner.counts() == {"Stopper": 0, "Other": 2}
        assert runner.population.retired == 2
        await until(lambda: runner.snapshot().history != [])
        assert runner.snapshot().history[-1].users == 2
        runner.update(6, 100.0)  # a bigger target starts new users, as Locust would
        await until(lambda: runner.state == "running")
        assert Stopper.runs == 3 and runner.counts() == {"Stopper": 0, "Other": 3}
        await runner.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))
