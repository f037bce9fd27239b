"""Ramps as pure functions of elapsed time."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.errors import UsageError
from horde.plan import RampPlan, users_at


def test_users_at_up_and_down() -> None:
    # The first move at once, then one every 1/rate seconds.
    assert users_at(0, 0, 100, 10) == 1
    assert users_at(0.099, 0, 100, 10) == 1
    assert users_at(0.1, 0, 100, 10) == 2
    assert users_at(1, 0, 100, 10) == 11
    assert users_at(2.55, 0, 100, 10) == 26
    assert users_at(100, 0, 100, 10) == 100
    assert users_at(-1, 5, 100, 10) == 5
    assert users_at(1, 100, 40, 10) == 89
    assert users_at(60, 100, 40, 10) == 40
    assert users_at(0.001, 0, 100, math.inf) == 100


def test_float_rounding_does_not_lose_a_move() -> None:
    # 0.29 * 100 == 28.999999999999996 in floating point
    assert users_at(100, 0, 1000, 0.29) == 30


@pytest.mark.parametrize("rate", [0, -1, float("nan")])
def test_bad_rate(rate: float) -> None:
    with pytest.raises(UsageError):
        users_at(1, 0, 10, rate)
    with pytest.raises(UsageError):
        RampPlan({}, {"A": 1}, rate)


counts_st = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D", "E"]), st.integers(0, 300), max_size=5
)


def brute_force(plan: RampPlan, m: int) -> dict[str, int]:
    """Generate the Sainte-Laguë sequence one move at a time."""
    names = list(plan.target) + [n for n in plan.start if n not in plan.target]
    moves = {n: abs(plan.target.get(n, 0) - plan.start.get(n, 0)) for n in names}
    done = dict.fromkeys(names, 0)
    for _ in range(m):
        best = min(
            (n for n in names if done[n] < moves[n]),
            key=lambda n: (Fraction(2 * done[n] + 1, 2 * moves[n]), names.index(n)),
        )
        done[best] += 1
    out = {}
    for n in names:
        a, b = plan.start.get(n, 0), plan.target.get(n, 0)
        out[n] = a + done[n] if b >= a else a - done[n]
    return out


@given(counts_st, counts_st, st.floats(0.5, 200), st.data())
def test_ramp_plan_properties(
    start: dict[str, int], target: dict[str, int], rate: float, data: st.DataObject
) -> None:
    plan = RampPlan(start, target, rate)
    names = list(target) + [n for n in start if n not in target]
    assert plan.counts_at(-1e-9) == {n: start.get(n, 0) for n in names}
    assert plan.counts_at(plan.duration + 1e-6) == {n: target.get(n, 0) for n in names}
    assert plan.done(plan.duration + 1e-6)
    # monotone per class and at the rate
    ts = sorted(data.draw(st.lists(st.floats(0, plan.duration + 2), max_size=8)))
    prev = plan.counts_at(-1)
    for t in ts:
        cur = plan.counts_at(t)
        moved = sum(abs(cur[n] - start.get(n, 0)) for n in names)
        assert moved == plan.moves_at(t) == min(plan.total_moves,
                                                math.floor(rate * t + 1e-9) + 1)
        for n in names:
            lo, hi = sorted((start.get(n, 0), target.get(n, 0)))
            assert lo <= cur[n] <= hi
            # never turns back
            assert abs(cur[n] - start.get(n, 0)) >= abs(prev[n] - start.get(n, 0))
        prev = cur


@given(counts_st, counts_st, st.data())
def test_counts_match_the_move_by_move_sequence(
    start: dict[str, int], target: dict[str, int], data: st.DataObject
) -> None:
    plan = RampPlan(start, target, 1.0)
    m = data.draw(st.integers(0, plan.total_moves))
    assert plan.counts_at(m - 1) == brute_force(plan, m)  # move k happens at t = k


def test_mix_follows_weights_during_ramp() -> None:
    plan = RampPlan({}, {"A": 300, "B": 100}, 10)
    for t in range(1, 41):
        c = plan.counts_at(t)
        assert abs(c["A"] - 3 * c["B"]) <= 3
    assert plan.duration == 39.9


def test_ramp_down_and_mixed_change() -> None:
    plan = RampPlan({"A": 10, "B": 0}, {"A": 0, "B": 10}, 4)
    assert plan.total_moves == 20
    assert plan.duration == 4.75
    c = plan.counts_at(1.3)  # 6 moves
    assert c["A"] + c["B"] == 10  # interleaved: stops and starts alternate
    assert plan.counts_at(5) == {"A": 0, "B": 10}


def test_infinite_rate_is_immediate() -> None:
    plan = RampPlan({"A": 1}, {"A": 50}, math.inf)
    assert plan.duration == 0
    assert plan.counts_at(1e-9) == {"A": 50}


def test_negative_counts_rejected() -> None:
    with pytest.raises(ValueError):
        RampPlan({"A": -1}, {"A": 2}, 1)
