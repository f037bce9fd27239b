"""The open model's statistics: corrected and service times, drops charged per endpoint."""

from __future__ import annotations

from horde.stats import RequestStats, StatsAggregate
from horde.stats.openmodel import PacedAggregate, PacedRecorder


def test_corrected_and_service_times_and_drops() -> None:
    main = RequestStats()
    paced = PacedRecorder(main.record)
    # Two iterations on time (1 ms each), one 400 ms late that took 1 ms, with 3 drops charged.
    paced.record("GET", "/a", 1000, 2, None, 500, 0, 0)
    paced.record("GET", "/a", 1000, 2, None, 500, 0, 0)
    paced.record("GET", "/b", 1000, 2, "HTTP 500", 500, 400_000, 3)
    aggregate, paced_agg = StatsAggregate(), PacedAggregate()
    aggregate.apply(main.take_delta(), 0)
    paced_agg.apply(paced.take_delta(iterations=3, dropped=4), 0)
    aggregate.close_second(0, 2)
    paced_agg.close_second(0)
    snap = paced_agg.decorate(aggregate.snapshot(1.0), 200.0, 2.0)
    assert snap.total.requests == 3 and snap.total.failures == 1
    assert snap.total.max_ms == 401.0  # corrected: latency + lateness
    assert snap.total.service_percentiles_ms is not None
    assert snap.total.service_percentiles_ms["100"] == 1.0  # the server took 1 ms each time
    by_name = {e.name: e for e in snap.endpoints}
    assert by_name["/b"].dropped_iterations == 3 and by_name["/a"].dropped_iterations == 0
    assert snap.total.dropped_iterations == 4  # exact, with the one no iteration picked up
    assert snap.arrival is not None
    assert (snap.arrival.iterations, snap.arrival.dropped_iterations) == (3, 4)
    assert snap.arrival.achieved_rate == 3.0 and snap.arrival.current_rate == 3.0
    assert snap.arrival.target_rate == 200.0
    assert len(snap.errors) == 1  # an error counts once, in the main statistics
