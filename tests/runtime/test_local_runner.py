"""LocalRunner in-process: lifecycle as the web UI drives it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from horde import User, constant, task
from horde.events import Events
from horde.runtime.local import LocalRunner, RunOptions


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll instead of sleeping a guessed time: a loaded machine only makes it slower."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class Idle(User):
    wait_time = constant(0.01)

    @task
    def nothing(self) -> None:
        pass


def test_a_stopped_test_keeps_its_duration_and_a_new_one_starts_from_zero() -> None:
    async def scenario() -> None:
        runner = LocalRunner([Idle], RunOptions(), Events())
        await runner.start(3, 100.0)
        await until(lambda: runner.counts() == {"Idle": 3})
        runner.request_stop()
        await runner.wait_stopped()
        assert runner.state == "stopped" and runner.counts() == {"Idle": 0}
        frozen = runner.elapsed
        await asyncio.sleep(0.2)
        assert runner.elapsed == frozen
        assert runner.info().duration_s == round(frozen, 3)

        await runner.start(1, 100.0)  # "new test"
        assert runner.elapsed < frozen
        await until(lambda: runner.counts() == {"Idle": 1})
        runner.request_stop()  # a second stop works too
        await runner.wait_stopped()
        assert runner.state == "stopped"

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_update_changes_the_user_count_both_ways() -> None:
    async def scenario() -> None:
        runner = LocalRunner([Idle], RunOptions(), Events())
        await runner.start(2, 100.0)
        await until(lambda: runner.state == "running")
        runner.update(5, 100.0)
        await until(lambda: runner.counts() == {"Idle": 5})
        runner.update(1, 100.0)
        await until(lambda: runner.counts() == {"Idle": 1})
        await runner.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))


class Busy(User):
    wait_time = constant(0.01)

    @task
    def work(self) -> None:
        self.environment.record("GET", "/x", 100, 1, None, 50)


def test_rates_after_a_reset_are_over_the_time_since_the_reset() -> None:
    async def scenario() -> None:
        runner = LocalRunner([Busy], RunOptions(), Events())
        await runner.start(2, 100.0)
        await asyncio.sleep(1.2)
        runner.reset_stats()
        await asyncio.sleep(1.0)  # the tick at 2 s folds 0.8 s of requests in
        snapshot = runner.snapshot()
        assert snapshot.total.requests > 0
        # Rates are over the time since the reset, not diluted over the whole test.
        assert snapshot.duration_s <= runner.elapsed - 1.2
        assert snapshot.total.rps == pytest.approx(
            snapshot.total.requests / snapshot.duration_s, rel=0.01)
        await runner.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_a_new_target_during_a_ramp_keeps_the_run_spawning() -> None:
    """The replaced ramp's end must not mark the new ramp done."""

    async def scenario() -> None:
        runner = LocalRunner([Idle], RunOptions(), Events())
        await runner.start(100, 50.0)
        await until(lambda: runner.counts()["Idle"] >= 2)
        runner.update(200, 50.0)  # ~4 s of ramp ahead
        await until(lambda: runner.counts()["Idle"] >= 10)  # the new ramp is under way
        assert runner.state == "spawning"
        assert runner.counts()["Idle"] < 200
        await runner.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_a_new_test_keeps_what_its_test_start_listener_raised() -> None:
    """The reset of a new test comes before test_start, not after it."""

    async def scenario() -> None:
        events = Events()
        runner = LocalRunner([Idle], RunOptions(), events)
        await runner.start(1, 100.0)
        await runner.stop()

        def broken(**kwargs: object) -> None:
            raise RuntimeError("no fixtures")

        events.test_start.add_listener(broken)
        await runner.start(1, 100.0)  # the "new test"
        await runner.stop()
        [exc] = runner.snapshot().exceptions
        assert exc.where == "test_start listener" and "no fixtures" in exc.error

    asyncio.run(asyncio.wait_for(scenario(), 20))
