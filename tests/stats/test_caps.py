"""Distinct errors and exceptions are capped, per run on the consumer and per delta on the
producer: a stream of unique error texts costs bounded memory and no count is lost."""

from __future__ import annotations

from horde.stats import RequestStats, StatsAggregate, StatsDelta
from horde.stats.aggregate import MAX_ERRORS, MAX_EXCEPTIONS, OTHER_ERRORS, OTHER_EXCEPTIONS
from horde.stats.delta import ErrorDelta, ExceptionDelta
from horde.stats.recorder import MAX_DELTA_ERRORS


def test_the_aggregate_keeps_at_most_max_errors_and_counts_the_rest() -> None:
    agg = StatsAggregate()
    for batch in range(3):
        errors = tuple(ErrorDelta("GET", "/", f"boom {batch}-{i}", 2) for i in range(MAX_ERRORS))
        excs = tuple(ExceptionDelta("task", f"E{batch}-{i}", "tb" * 50_000, 1)
                     for i in range(MAX_EXCEPTIONS))
        agg.apply(StatsDelta(endpoints=(), errors=errors, exceptions=excs), 0)
    snap = agg.snapshot(1.0)
    assert len(snap.errors) == MAX_ERRORS + 1
    assert sum(e.occurrences for e in snap.errors) == 3 * MAX_ERRORS * 2
    assert any(e.error == OTHER_ERRORS for e in snap.errors)
    assert len(snap.exceptions) == MAX_EXCEPTIONS + 1
    assert sum(x.occurrences for x in snap.exceptions) == 3 * MAX_EXCEPTIONS
    assert any(x.error == OTHER_EXCEPTIONS for x in snap.exceptions)
    assert max(len(x.traceback) for x in snap.exceptions) <= 20_000
    assert agg.errors_overflowed
    agg.reset()
    assert not agg.errors_overflowed


def test_a_delta_pools_errors_beyond_its_cap() -> None:
    stats = RequestStats()
    n = MAX_DELTA_ERRORS + 500
    for i in range(n):
        stats.record("GET", "/", 100, 0, f"unique {i}", 0)
    delta = stats.take_delta()
    assert len(delta.errors) == MAX_DELTA_ERRORS + 1
    assert sum(e.count for e in delta.errors) == n
