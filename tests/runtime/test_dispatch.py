"""Pure dispatch decisions of the master (horde/runtime/dispatch.py)."""

from __future__ import annotations

from horde.runtime.dispatch import shrink_first, unplaced_advice


def test_nothing_over_its_share_sends_the_shares_as_they_are() -> None:
    shares = {"a": {"U": 5}, "b": {"U": 5}}
    sent, deferred = shrink_first(shares, {"a": {"U": 3}})
    assert sent == shares and not deferred


def test_while_a_worker_shrinks_the_others_do_not_grow_that_class() -> None:
    # a held 10 of U and must give 5 to the newcomer b; b gets them only once a
    # reports it shrank, so the fleet never runs 15 for a moment.
    shares = {"a": {"U": 5, "V": 2}, "b": {"U": 5, "V": 2}}
    sent, deferred = shrink_first(shares, {"a": {"U": 10, "V": 2}})
    assert sent == {"a": {"U": 5, "V": 2}, "b": {"U": 0, "V": 2}}
    assert deferred
    assert sum(n["U"] for n in sent.values()) <= 10
    # a has shrunk: b grows.
    sent, deferred = shrink_first(shares, {"a": {"U": 5, "V": 2}, "b": {"U": 0, "V": 2}})
    assert sent == shares and not deferred


def test_the_advice_says_how_many_wait_and_what_to_add() -> None:
    assert unplaced_advice(25_000, [19_800, None, 10_000]) == (
        "25,000 users fit on no worker and wait: every worker is at its capacity "
        "(open-file limit) or saturated; add workers (about 2 more at 19,800 users each)")
    assert unplaced_advice(5, [None]).endswith("add workers")
