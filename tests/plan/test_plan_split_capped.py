"""Dispatch within capacity: never more than a worker can hold, the rest visibly unplaced."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.plan import split_capped, split_counts

counts_st = st.dictionaries(st.sampled_from(["A", "B", "C", "D"]),
                            st.integers(min_value=0, max_value=3000), min_size=1)
caps_st = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=2000)),
                   min_size=0, max_size=10)


@given(counts_st, caps_st)
def test_capacity_is_never_exceeded_and_nothing_is_lost(counts: dict[str, int],
                                                       caps: list[int | None]) -> None:
    workers = [f"w{i}" for i in range(len(caps))]
    capacity = dict(zip(workers, caps, strict=True))
    p = split_capped(counts, workers, capacity)
    for w in workers:
        assert all(n >= 0 for n in p.shares[w].values())
        cap = capacity[w]
        if cap is not None:
            assert sum(p.shares[w].values()) <= cap
    for name, n in counts.items():
        assert sum(p.shares[w][name] for w in workers) + p.unplaced[name] == n
    room = None if any(c is None for c in caps) else sum(c for c in caps if c is not None)
    total = sum(counts.values())
    assert p.unplaced_total == (0 if room is None else max(0, total - room))


@given(counts_st, caps_st)
def test_totals_are_as_even_as_the_capacities_allow(counts: dict[str, int],
                                                   caps: list[int | None]) -> None:
    workers = [f"w{i}" for i in range(len(caps))]
    capacity = dict(zip(workers, caps, strict=True))
    p = split_capped(counts, workers, capacity)
    totals = {w: sum(p.shares[w].values()) for w in workers}
    for w in workers:
        cap = capacity[w]
        if cap is None or totals[w] < cap:  # room left: nobody holds 2 more than it
            assert all(totals[v] <= totals[w] + 1 for v in workers)


@given(counts_st, st.integers(min_value=1, max_value=10))
def test_without_limits_totals_match_the_plain_split(counts: dict[str, int], n: int) -> None:
    workers = [f"w{i}" for i in range(n)]
    p = split_capped(counts, workers, {})
    plain = split_counts(counts, workers)
    assert sorted(sum(s.values()) for s in p.shares.values()) == \
        sorted(sum(s.values()) for s in plain.values())
    assert p.unplaced_total == 0


def test_the_case_study_50000_users_on_three_workers_of_19000() -> None:
    p = split_capped({"Visitor": 50_000}, ["a", "b", "c"], {"a": 19_000, "b": 19_000, "c": 19_000})
    assert [p.shares[w]["Visitor"] for w in "abc"] == [16_667, 16_667, 16_666]
    # one worker lost: the survivors fill up to their capacity, the rest waits
    p = split_capped({"Visitor": 50_000}, ["a", "b"], {"a": 19_000, "b": 19_000})
    assert p.shares == {"a": {"Visitor": 19_000}, "b": {"Visitor": 19_000}}
    assert p.unplaced == {"Visitor": 12_000}


def test_a_shortage_hits_every_class_alike_and_a_saturated_worker_gets_nothing_new() -> None:
    # the caller caps a saturated worker at what it holds now (here 10)
    p = split_capped({"A": 300, "B": 100}, ["busy", "free"], {"busy": 10, "free": 190})
    assert sum(p.shares["busy"].values()) == 10 and sum(p.shares["free"].values()) == 190
    assert p.unplaced == {"A": 150, "B": 50}
    assert split_capped({"A": 5}, [], {}).unplaced == {"A": 5}


def test_bad_capacities_are_refused() -> None:
    with pytest.raises(ValueError):
        split_capped({"A": 1}, ["w"], {"w": -1})
    with pytest.raises(ValueError):
        split_capped({"A": 1}, ["w", "w"], {})
