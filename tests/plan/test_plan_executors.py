"""Executors as pure plans: `at(t)` on a fake clock (any t, in any order)."""

from __future__ import annotations

import math

import pytest

from horde.errors import ScriptError, UsageError
from horde.plan import (
    CommonOptions,
    LoadTestShape,
    RampingStages,
    ShapePlan,
    Stage,
    SteadyUsers,
    Target,
    class_targets,
    parse_stages,
)

SPECS = [("A", 1.0, 0), ("B", 3.0, 0), ("Admin", 1.0, 1)]


def test_steady_users_never_end() -> None:
    plan = SteadyUsers(10, 2.0)
    assert plan.at(0) == plan.at(1e9) == Target(10, 2.0)
    with pytest.raises(UsageError):
        SteadyUsers(-1, 1.0)
    with pytest.raises(UsageError):
        SteadyUsers(1, math.inf)


def test_class_targets_split_by_weight_within_the_allowed_classes() -> None:
    assert class_targets(SPECS, Target(9, 1.0)) == {"A": 2, "B": 6, "Admin": 1}
    assert class_targets(SPECS, Target(8, 1.0, ("B",))) == {"A": 0, "B": 8, "Admin": 0}
    with pytest.raises(UsageError, match="unknown user classes"):
        class_targets(SPECS, Target(1, 1.0, ("Nope",)))


def test_parse_stages() -> None:
    assert parse_stages("30s:100, 2m:100,30s:0") == (Stage(30, 100), Stage(120, 100),
                                                      Stage(30, 0))
    assert parse_stages(["10s:5", "1m30s:0"]) == (Stage(10, 5), Stage(90, 0))
    for bad in ("", "30s", "30s:", ":5", "30s:-1", "30s:1.5", "x:1", "30s:1,,"):
        with pytest.raises(UsageError):
            parse_stages(bad)


def test_stages_ramp_linearly_hold_and_end() -> None:
    plan = RampingStages(parse_stages("10s:100,5s:100,10s:0"))
    assert plan.duration == 25
    assert plan.at(0) == plan.at(9.99) == Target(100, 10.0)
    assert plan.at(10) == plan.at(14.9) == Target(100, 100.0)  # hold: catch up within 1 s
    assert plan.at(15) == Target(0, 10.0)
    assert plan.at(25) is None and plan.at(1e6) is None
    # The count kept: the first move at once, one every 1/rate s, as -r spaces them.
    assert [plan.users_at(t) for t in (0, 0.05, 0.1, 5, 9.95, 10, 12, 15, 20, 24.95, 25)] \
        == [1, 1, 2, 51, 100, 100, 100, 99, 49, 0, 0]


def test_a_zero_second_stage_jumps() -> None:
    plan = RampingStages(parse_stages("0s:50,10s:50"))
    assert plan.at(0) == Target(50, 50.0)
    assert plan.users_at(0) == 50


def test_a_jump_down_or_up_after_a_ramp_takes_a_second_not_a_user_a_second() -> None:
    # 100 users, then a 0 s stage to 0: all 100 leave within a second (not at 1/s).
    down = RampingStages(parse_stages("30s:100,0s:0,30s:0"))
    assert down.at(30.0) == Target(0, 100.0)
    up = RampingStages(parse_stages("30s:100,0s:10,30s:10"))
    assert up.at(30.0) == Target(10, 90.0)
    # A ramp right after a jump: the jump first, then the stage's own rate.
    ramp = RampingStages(parse_stages("30s:100,0s:0,30s:60"))
    assert ramp.at(30.2) == Target(0, 100.0)
    assert ramp.at(31.0) == Target(60, 2.0)


def test_stages_start_from_start_users() -> None:
    plan = RampingStages((Stage(10, 0),), start_users=20)
    assert plan.at(0) == Target(0, 2.0)
    assert plan.users_at(0) == 19


class ThreeSteps(LoadTestShape):
    def tick(self):  # type: ignore[no-untyped-def]
        t = self.get_run_time()
        if t < 3:
            return (2, 10)
        if t < 6:
            return (4, 10.0, [B])
        if t < 9:
            return 1.0, 5
        return None


class B:
    pass


def test_a_shape_is_followed_at_the_time_it_is_told_and_ends_for_good() -> None:
    plan = ShapePlan(ThreeSteps())
    plan.start(runner=None)
    assert [plan.at(t) for t in (0, 2.9, 3, 8.9)] == [
        Target(2, 10.0), Target(2, 10.0), Target(4, 10.0, ("B",)), Target(1, 5.0)]
    assert plan.at(9) is None
    assert plan.at(0) is None  # ended stays ended
    plan.start(runner=None)  # a new test: time from zero again
    assert plan.at(0) == Target(2, 10.0)


def test_reset_time_and_run_time() -> None:
    shape = ThreeSteps()
    plan = ShapePlan(shape)
    plan.start(runner="r")
    assert shape.runner == "r" and not shape.abstract
    plan.at(5)
    assert shape.get_run_time() == 5
    shape.reset_time()
    assert plan.at(6) == Target(2, 10.0)  # 1 s since the reset
    assert LoadTestShape.abstract


@pytest.mark.parametrize("answer", [5, (1,), (1, 2, 3, 4), (-1, 1), (1.5, 1), ("1", 1),
                                    (1, 0), (1, math.nan), (1, 1, [1])])
def test_a_wrong_answer_names_the_shape(answer: object) -> None:
    class Wrong(LoadTestShape):
        def tick(self):  # type: ignore[no-untyped-def]
            return answer

    with pytest.raises(ScriptError, match=r"Wrong\.tick\(\)"):
        ShapePlan(Wrong()).at(0)


def test_common_options_reach_only_a_shape_that_asks_for_them() -> None:
    class Asks(ThreeSteps):
        use_common_options = True

    common = CommonOptions(7, 2.0, 60.0)
    asks, plain = Asks(), ThreeSteps()
    ShapePlan(asks).start(runner=None, common=common)
    ShapePlan(plain).start(runner=None, common=common)
    assert asks.common_options == common and plain.common_options is None
