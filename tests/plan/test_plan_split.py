"""Dispatch of users over classes and workers: exactness and balance properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.errors import UsageError
from horde.plan import ClassSpec, class_counts, split_counts, split_rate, split_users


@st.composite
def class_lists(draw: st.DrawFn) -> list[ClassSpec]:
    n = draw(st.integers(min_value=1, max_value=6))
    out: list[ClassSpec] = []
    for i in range(n):
        fixed = draw(st.one_of(st.just(0), st.just(0), st.integers(min_value=0, max_value=20)))
        weight = draw(st.integers(min_value=0, max_value=10))
        out.append((f"C{i}", weight, fixed))
    # at least one weighted class with a positive weight, so any total fits
    out.append(("W", draw(st.integers(min_value=1, max_value=10)), 0))
    return out


workers_st = st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=12, unique=True)
totals = st.integers(min_value=0, max_value=5000)


@given(class_lists(), totals)
def test_fleet_counts_exact_and_fixed_honoured(classes: list[ClassSpec], total: int) -> None:
    counts = class_counts(classes, total)
    assert list(counts) == [c[0] for c in classes]
    assert sum(counts.values()) == total
    fixed_sum = sum(f for _, _, f in classes)
    left = total
    for name, _, fixed in classes:
        if fixed:
            assert counts[name] == min(fixed, left)
            left -= counts[name]
    assert left == max(0, total - fixed_sum)
    # weights honoured within rounding: each weighted class is within one user
    # of its exact share of what the fixed classes left
    weighted = [(n, w) for n, w, f in classes if f == 0]
    wsum = sum(w for _, w in weighted)
    for name, w in weighted:
        exact = Fraction(left * w, wsum)
        assert abs(counts[name] - exact) < 1


@given(class_lists(), totals, workers_st)
def test_per_worker_balance(classes: list[ClassSpec], total: int, workers: list[str]) -> None:
    plan = split_users(classes, total, workers)
    fleet = class_counts(classes, total)
    assert list(plan) == workers
    for name, count in fleet.items():
        per = [plan[w][name] for w in workers]
        assert sum(per) == count
        assert max(per) - min(per) <= 1
    totals_per_worker = [sum(plan[w].values()) for w in workers]
    assert sum(totals_per_worker) == total
    assert max(totals_per_worker) - min(totals_per_worker) <= 1
    # deterministic: the same input gives the same answer
    assert split_users(classes, total, workers) == plan


@given(class_lists(), totals, workers_st, st.data())
def test_adding_or_removing_a_worker_recomputes_consistently(
    classes: list[ClassSpec], total: int, workers: list[str], data: st.DataObject
) -> None:
    before = split_users(classes, total, workers)
    if len(workers) > 1 and data.draw(st.booleans()):
        gone = data.draw(st.sampled_from(workers))
        after_ws = [w for w in workers if w != gone]
    else:
        after_ws = [*workers, "new-worker-xyz"]
    after = split_users(classes, total, after_ws)
    # the fleet-wide numbers do not depend on the fleet
    for name, _, _ in classes:
        assert sum(p[name] for p in before.values()) == sum(p[name] for p in after.values())
    assert set(after) == set(after_ws)
    t = [sum(p.values()) for p in after.values()]
    assert max(t) - min(t) <= 1
    # a recomputation is a function of the (ordered) worker list only
    assert split_users(classes, total, after_ws) == after


def test_examples() -> None:
    classes: list[ClassSpec] = [("A", 3, 0), ("B", 1, 0), ("Admin", 1, 1)]
    assert class_counts(classes, 9) == {"A": 6, "B": 2, "Admin": 1}
    assert class_counts(classes, 0) == {"A": 0, "B": 0, "Admin": 0}
    # fewer users than fixed: the fixed class is served first
    assert class_counts([("A", 1, 0), ("Admin", 1, 2)], 1) == {"A": 0, "Admin": 1}
    plan = split_users(classes, 10, ["w1", "w2", "w3"])
    # fleet: Admin 1, then 9 by weight: A 6.75 -> 7, B 2.25 -> 2.
    # A: 2 each, extra to w1; B: extras to w2, w3; Admin: next in the rotation, w1.
    assert plan == {
        "w1": {"A": 3, "B": 0, "Admin": 1},
        "w2": {"A": 2, "B": 1, "Admin": 0},
        "w3": {"A": 2, "B": 1, "Admin": 0},
    }


def test_round_robin_balances_totals_across_classes() -> None:
    # three classes of one user each over three workers: one each, not all on w1
    plan = split_counts({"A": 1, "B": 1, "C": 1}, ["w1", "w2", "w3"])
    assert [sum(p.values()) for p in plan.values()] == [1, 1, 1]


def test_only_fixed_classes_caps_total() -> None:
    assert class_counts([("A", 1, 2), ("B", 1, 3)], 100) == {"A": 2, "B": 3}


def test_ties_go_to_first_class() -> None:
    assert class_counts([("A", 1, 0), ("B", 1, 0)], 1) == {"A": 1, "B": 0}


@pytest.mark.parametrize(
    ("classes", "total", "match"),
    [
        ([("A", 1, 0)], -1, "number of users"),
        ([("A", 1, 0)], 1.5, "number of users"),
        ([("A", -1, 0)], 1, "weight"),
        ([("A", float("nan"), 0)], 1, "weight"),
        ([("A", float("inf"), 0)], 1, "weight"),
        ([("A", 1, -2)], 1, "fixed_count"),
        ([("A", 1, 0), ("A", 2, 0)], 1, "twice"),
        ([("A", 0, 0)], 3, "weight 0"),
    ],
)
def test_bad_input_is_a_usage_error(classes: list[ClassSpec], total: int, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        class_counts(classes, total)


def test_split_rate() -> None:
    assert split_rate(10, 4) == 2.5
    assert split_rate(10, 4) * 4 == 10
    with pytest.raises(UsageError):
        split_rate(0, 2)
    with pytest.raises(ValueError):
        split_rate(1, 0)
