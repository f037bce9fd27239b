"""The plan's target per second, as the web UI plots it beside what ran (pure, no clock)."""

from __future__ import annotations

import pytest

from horde.plan.arrival import ArrivalRate, RateStage
from horde.plan.shape import LoadTestShape, ShapePlan
from horde.plan.stages import RampingStages, Stage
from horde.plan.steady import SteadyUsers
from horde.runtime.plantrace import PlanTrace, describe, target_at


class Once(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        return None


def test_each_plan_names_its_model() -> None:
    assert describe(None, None).name == "users"
    assert describe(SteadyUsers(3, 1.0), None).name == "users"
    assert describe(RampingStages((Stage(10, 5),)), None).name == "stages"
    assert describe(ShapePlan(Once()), "Once").name == "shape"
    model = describe(ArrivalRate(5.0, users=1), None)
    assert (model.name, model.unit) == ("arrival", "rate")


def test_stages_target_the_count_the_ramp_keeps_not_the_stage_end() -> None:
    # 0 -> 10 users over 10 s: one at 0 s, then one a second; the move at a second's
    # end belongs to the next second. Then a hold of 10.
    plan = RampingStages((Stage(10, 10), Stage(5, 10)))
    assert [target_at(plan, t, goal_users=10) for t in (1.0, 1.5, 5.0, 12.0)] == [
        1.0, 2.0, 5.0, 10.0]


def test_the_open_model_targets_the_iterations_due_in_the_second() -> None:
    plan = ArrivalRate(0.0, users=1, stages=(RateStage(10, 100.0),))  # 0 -> 100/s over 10 s
    # The integral over [t - 1, t]: the rate in the middle of the second.
    assert target_at(plan, 1.0, 0) == pytest.approx(5.0)
    assert target_at(plan, 10.0, 0) == pytest.approx(95.0)
    assert target_at(plan, 12.0, 0) == 0.0  # the plan has ended


def test_steady_users_and_shapes_target_their_goal() -> None:
    assert target_at(SteadyUsers(7, 1.0), 3.0, goal_users=7) == 7.0
    assert target_at(ShapePlan(Once()), 3.0, goal_users=4) == 4.0


def test_the_trace_keys_by_second_and_clears() -> None:
    trace = PlanTrace()
    trace.record(0, 5.0, 4)
    trace.record(1, 6.0)
    assert trace.targets == {0: 5.0, 1: 6.0} and trace.iterations == {0: 4}
    trace.clear()
    assert not trace.targets and not trace.iterations
