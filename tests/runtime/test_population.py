"""Population steps, called directly: what a ramp step starts, stops and counts."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from horde import StopUser, User, constant, task
from horde.events import Events
from horde.runtime.environment import RunShared
from horde.runtime.population import Population


class Stays(User):
    wait_time = constant(60)

    @task
    def idle(self) -> None:
        pass


class Quits(User):
    wait_time = constant(0)
    runs: ClassVar[int] = 0

    @task
    def once(self) -> None:
        type(self).runs += 1
        raise StopUser()


def _population() -> Population:
    shared = RunShared(host=None, record=lambda *a: None, events=Events(), tags=None,
                       exclude_tags=None, request_timeout=1.0,
                       record_exception_fn=lambda where, exc: None)
    return Population([Stays, Quits], shared, asyncio.get_running_loop())


def test_a_ramp_down_takes_retired_users_first() -> None:
    async def scenario() -> None:
        Quits.runs = 0
        pop = _population()
        pop.apply({"Stays": 2, "Quits": 3})
        assert pop.counts() == {"Stays": 2, "Quits": 3}
        for _ in range(5):
            await asyncio.sleep(0)  # the quitters run their one task and end
        assert Quits.runs == 3 and pop.counts() == {"Stays": 2, "Quits": 0}
        assert pop.placed() == {"Stays": 2, "Quits": 3} and pop.retired == 3
        pop.apply({"Stays": 2, "Quits": 3})  # the same step again: nothing restarts
        assert pop.counts()["Quits"] == 0
        pop.apply({"Stays": 1, "Quits": 1})  # down: two retired go, one Stays stops
        assert pop.placed() == {"Stays": 1, "Quits": 1} and pop.retired == 1
        assert pop.counts() == {"Stays": 1, "Quits": 0}
        pop.apply({"Stays": 1, "Quits": 2})  # up again: one new Quits starts
        assert Quits.runs == 3 and pop.counts()["Quits"] == 1
        assert await pop.stop_all(0.0, 1.0) == 0
        assert pop.retired == 0 and pop.counts() == {"Stays": 0, "Quits": 0}

    asyncio.run(asyncio.wait_for(scenario(), 20))
