"""The run states, their table, and the shared start/stop steps on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from horde import User, task
from horde.errors import IllegalTransition, ScriptError, UsageError
from horde.events import Events
from horde.plan import LoadTestShape, RampingStages, ShapePlan, Stage
from horde.runtime.lifecycle import TRANSITIONS, Lifecycle, RunOptions, RunState
from horde.runtime.runbase import RunBase

S = RunState


def test_state_values_are_the_strings_the_ui_shows() -> None:
    assert [s.value for s in RunState] == ["ready", "spawning", "running", "stopping",
                                           "stopped"]
    assert RunState.RUNNING == "running" and f"{RunState.STOPPING}" == "stopping"


@pytest.mark.parametrize("old", list(RunState))
@pytest.mark.parametrize("new", list(RunState))
def test_every_move_outside_the_table_raises(old: RunState, new: RunState) -> None:
    life = Lifecycle()
    path = {S.READY: [], S.SPAWNING: [S.SPAWNING], S.RUNNING: [S.SPAWNING, S.RUNNING],
            S.STOPPING: [S.SPAWNING, S.STOPPING], S.STOPPED: [S.STOPPED]}[old]
    for step in path:
        life.to(step)
    assert life.state is old
    if new in TRANSITIONS[old]:
        life.to(new)
        assert life.state is new
    else:
        with pytest.raises(IllegalTransition, match=f"from {old} to {new}"):
            life.to(new)
        assert life.state is old


def test_stopping_only_leads_to_stopped() -> None:
    assert TRANSITIONS[S.STOPPING] == {S.STOPPED}
    assert S.STOPPING not in TRANSITIONS[S.READY]  # nothing to stop: straight to stopped


class A(User):
    @task
    def t(self) -> None:
        pass


class B(User):
    weight = 3

    @task
    def t(self) -> None:
        pass


class FakeRole(RunBase):
    """A role without users: records what it is told; the test sets the time."""

    def __init__(self, plan: RampingStages | ShapePlan | None = None) -> None:
        super().__init__([A, B], RunOptions(), Events(), asyncio.get_running_loop(), plan)
        self.now = 0.0
        self.applied: list[tuple[dict[str, int], float]] = []
        self.done = False
        self.stops = 0
        self.failures: list[str] = []

    def _plan_time(self) -> float:
        return self.now

    def _begin_test(self) -> None:
        pass

    def _apply(self, counts: Mapping[str, int], spawn_rate: float) -> None:
        self.applied.append((dict(counts), spawn_rate))
        self.done = False

    def _ramp_done(self) -> bool:
        return self.done

    async def _stop_load(self, grace: float | None) -> None:
        self.stops += 1

    def _close_second(self) -> None:
        pass

    def _end_test(self) -> None:
        pass

    def _listener_failed(self, where: str, exc: Exception) -> None:
        self.failures.append(f"{where}: {exc}")

    def reset_stats(self) -> None:
        pass

    def counts(self) -> Mapping[str, int]:
        return {}


def test_a_run_follows_its_stages_second_by_second_and_stops_at_their_end() -> None:
    async def scenario() -> None:
        role = FakeRole(RampingStages((Stage(4, 8), Stage(2, 8), Stage(2, 0))))
        await role.start(1, 1.0)  # -u/-r are not the plan's
        assert role.state is S.SPAWNING
        assert role.applied == [({"A": 2, "B": 6}, 2.0)]
        seen = []
        for second in range(1, 9):
            role.now = float(second)
            role.done = True  # the ramp caught up
            role._on_second()
            seen.append((second, role.state, role.target_users))
        assert role.applied[1:] == [({"A": 2, "B": 6}, 8.0), ({"A": 0, "B": 0}, 4.0)]
        # A new target: spawning until the ramp is done (a second later here).
        assert seen == [(1, S.RUNNING, 8), (2, S.RUNNING, 8), (3, S.RUNNING, 8),
                        (4, S.SPAWNING, 8), (5, S.RUNNING, 8), (6, S.SPAWNING, 0),
                        (7, S.RUNNING, 0), (8, S.RUNNING, 0)]
        assert role._stop_task is not None  # the plan said None at t = 8
        await role.wait_stopped()
        assert role.state is S.STOPPED and role.stops == 1

    asyncio.run(scenario())


def test_a_bad_first_target_raises_before_anything_starts() -> None:
    async def scenario() -> None:
        role = FakeRole()
        with pytest.raises(UsageError):
            await role.start(-1, 1.0)
        assert role.state is S.READY and role.applied == []

    asyncio.run(scenario())


def test_stop_twice_and_stop_before_start() -> None:
    async def scenario() -> None:
        role = FakeRole()
        await role.stop()
        assert role.state is S.STOPPED and role.stops == 0
        await role.start(4, 2.0)
        assert role.applied == [({"A": 1, "B": 3}, 2.0)]
        role.update(8, 4.0)
        assert role.applied[-1] == ({"A": 2, "B": 6}, 4.0)
        await asyncio.gather(role.stop(), role.stop())
        assert role.stops == 1 and role.state is S.STOPPED
        role.update(2, 1.0)  # no test runs: nothing happens
        assert len(role.applied) == 2

    asyncio.run(scenario())


class Flaky(LoadTestShape):
    def tick(self):  # type: ignore[no-untyped-def]
        if self.get_run_time() >= 2:
            return 1 / 0
        return (4, 2.0, [B])


def test_a_shape_picks_classes_and_a_shape_that_raises_ends_the_run_reported() -> None:
    async def scenario() -> None:
        role = FakeRole(ShapePlan(Flaky()))
        await role.start(100, 100.0)
        assert role.applied == [({"A": 0, "B": 4}, 2.0)]
        assert Flaky.runner is None and role.plan.shape.runner is role  # type: ignore[union-attr]
        role.now = 1.0
        role._on_second()
        assert role.failures == [] and len(role.applied) == 1  # same answer: nothing to do
        role.now = 2.0
        role._on_second()
        assert role.failures == ["load plan: Flaky.tick() raised ZeroDivisionError: "
                                 "division by zero"]
        await role.wait_stopped()
        assert role.stops == 1

    asyncio.run(scenario())


def test_a_shape_that_raises_at_once_is_the_callers_error() -> None:
    class Broken(LoadTestShape):
        def tick(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("no")

    async def scenario() -> None:
        role = FakeRole(ShapePlan(Broken()))
        with pytest.raises(ScriptError, match=r"Broken\.tick\(\) raised RuntimeError: no"):
            await role.start(1, 1.0)
        assert role.state is S.READY

    asyncio.run(scenario())


def test_a_planned_run_refuses_a_new_user_count() -> None:
    async def scenario() -> None:
        role = FakeRole(RampingStages((Stage(10, 4),)))
        await role.start(1, 1.0)
        with pytest.raises(UsageError, match="follows --stages"):
            role.update(8, 1.0)
        assert len(role.applied) == 1
        await role.stop()

    asyncio.run(scenario())
