"""The open model's plan: when each iteration is due, and how processes share them."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from horde.errors import UsageError
from horde.plan.arrival import ArrivalRate, RateStage, parse_rate, parse_rate_stages


def times(plan: ArrivalRate, n: int) -> list[float | None]:
    return [plan.start_time(k) for k in range(n)]


def test_constant_rate_is_evenly_spaced_from_zero() -> None:
    plan = ArrivalRate(200.0, users=20)
    assert times(plan, 4) == pytest.approx([0.0, 0.005, 0.010, 0.015])
    # A test of 20 s holds exactly 4,000 starts: the 4,000th (k = 3999) is before 20 s.
    assert plan.start_time(3999) == pytest.approx(19.995)
    assert plan.start_time(4000) == pytest.approx(20.0)
    assert plan.duration is None
    assert plan.at(1e6) is not None  # a constant rate never ends by itself


def test_target_holds_every_user_and_ends_after_the_last_stage() -> None:
    plan = ArrivalRate(0.0, users=7, stages=(RateStage(10, 100),))
    target = plan.at(3.0)
    assert target is not None and target.users == 7
    assert plan.at(10.0) is None
    assert plan.start_time(10_000) is None


def test_ramp_follows_the_integral_of_the_rate() -> None:
    # 0 -> 100/s over 10 s: 500 iterations; the integral is 5 t^2.
    plan = ArrivalRate(0.0, users=5, stages=(RateStage(10, 100),))
    assert plan.iterations_until(10) == pytest.approx(500)
    for k in (1, 20, 125, 499):
        assert plan.start_time(k) == pytest.approx(math.sqrt(k / 5))
    assert plan.start_time(500) is None
    assert plan.rate_at(5) == pytest.approx(50)
    assert plan.rate_at(10) is None


def test_ramp_down_and_hold_stages() -> None:
    plan = ArrivalRate(100.0, users=5, stages=(RateStage(2, 100), RateStage(2, 0)))
    assert plan.iterations_until(4) == pytest.approx(300)
    starts = [t for t in times(plan, 400) if t is not None]
    assert len(starts) == 300
    assert starts == sorted(starts)
    assert starts[199] == pytest.approx(1.99)
    # In the ramp down, gaps grow.
    assert starts[-1] - starts[-2] > starts[201] - starts[200]


def test_zero_rate_stage_runs_nothing() -> None:
    plan = ArrivalRate(0.0, users=1, stages=(RateStage(5, 0), RateStage(1, 10), RateStage(0, 0)))
    starts = [t for t in times(plan, 20) if t is not None]
    assert len(starts) == 5  # the integral of 0 -> 10 over 1 s
    assert all(5.0 <= t < 6.0 for t in starts)


def test_shares_interleave_and_add_up_to_the_fleet() -> None:
    fleet = ArrivalRate(300.0, users=30, stages=(RateStage(3, 600),))
    alone = [t for t in times(fleet, 3000) if t is not None]
    shares = [fleet.share(i, 3) for i in range(3)]
    merged = sorted(t for p in shares for t in times(p, 1000) if t is not None)
    assert merged == pytest.approx(alone)
    assert shares[1].start_time(0) == pytest.approx(alone[1])


def test_parse_rates_and_stages() -> None:
    assert parse_rate("200") == 200.0
    assert parse_rate("2.5/s") == 2.5
    assert parse_rate_stages("30s:100, 1m:0") == (RateStage(30, 100), RateStage(60, 0))
    assert parse_rate_stages(["1s:5"]) == (RateStage(1, 5),)


@pytest.mark.parametrize("bad", ["", "fast", "-1", "nan", "inf"])
def test_bad_rate_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_rate(bad)


@pytest.mark.parametrize("bad", ["", "30s", "30s:", "x:5", "1s:-2"])
def test_bad_stages_are_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_rate_stages(bad)


def test_plan_checks() -> None:
    with pytest.raises(UsageError):
        ArrivalRate(0.0, users=5)  # a constant rate of 0 runs nothing, for ever
    with pytest.raises(UsageError):
        ArrivalRate(10.0, users=0)


def _all_times(plan: ArrivalRate) -> list[float]:
    out, k = [], 0
    while (t := plan.start_time(k)) is not None:
        out.append(t)
        k += 1
    return out


def test_a_split_during_the_test_runs_every_iteration_exactly_once() -> None:
    # One process from the start; a second joins: from iteration K on, two shares.
    fleet = ArrivalRate(10.0, users=4, stages=(RateStage(6.0, 30.0),))
    k = fleet.first_due(2.5)
    assert fleet.start_time(k - 1) is not None
    assert fleet.start_time(k - 1) < 2.5 <= fleet.start_time(k)  # type: ignore[operator]
    before = _all_times(replace(fleet, until=k))
    after = [_all_times(replace(fleet.share(i, 2), first=k)) for i in range(2)]
    everything = sorted(before + after[0] + after[1])
    assert everything == pytest.approx(_all_times(fleet))
    assert len(after[0]) - len(after[1]) in (0, 1)  # halves of the rest
    assert min(after[0] + after[1]) >= 2.5
    # A share that ends where it begins has nothing (a worker that lost its users).
    assert replace(fleet, first=k, until=k).start_time(0) is None
    with pytest.raises(ValueError):
        replace(fleet, first=5, until=4)


def test_first_due_is_the_first_iteration_at_or_after_t() -> None:
    plan = ArrivalRate(4.0, users=1)  # due at 0, 0.25, 0.5, ...
    assert plan.first_due(0.0) == 0
    assert plan.first_due(0.5) == 2
    assert plan.first_due(0.51) == 3
