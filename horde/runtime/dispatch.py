"""What the master sends each worker: its share of the users, as wire messages.

Pure functions of (the user classes, the plan's fleet-wide target, the active
workers, the run's options); no I/O, so the split can be tested without a fleet.

Invariants: shares are absolute per-class counts (`horde.plan.split_users`),
so repeating a `Start` or `Update` is harmless; the spawn rate is split so the
fleet-wide rate is the one asked for (`horde.plan.split_rate`). In the open
model, every worker that holds users has one interleaved share of the rate
(`arrival_shares`); a new split during the test starts at a fleet-wide
iteration ``first`` and the previous one ends there, so each iteration of
the schedule runs on exactly one worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from horde.plan.arrival import ArrivalRate, RateStage
from horde.plan.split import (
    Placement,
    class_counts,
    split_capped,
    split_counts,
    split_rate,
    split_users,
)
from horde.runtime.lifecycle import RunOptions
from horde.user import User
from horde.wire import ArrivalShare, RateStageWire, Start

__all__ = ["specs", "targets_for", "shares_for", "shares_of", "placement_of", "start_message",
           "arrival_shares", "arrival_plan", "busy_workers", "ended_share", "shrink_first",
           "unplaced_advice"]


def specs(classes: Sequence[type[User]]) -> list[tuple[str, float, int]]:
    """(name, weight, fixed_count) of each class, as `horde.plan` takes them."""
    return [(c.__name__, c.weight, c.fixed_count) for c in classes]


def targets_for(classes: Sequence[type[User]], users: int) -> dict[str, int]:
    """Fleet-wide users per class for `users` (a bad count is a UsageError)."""
    return class_counts(specs(classes), users)


def shares_for(classes: Sequence[type[User]], users: int, spawn_rate: float,
               worker_ids: Sequence[str]) -> tuple[dict[str, dict[str, int]], float]:
    """(per-worker per-class targets, per-worker spawn rate) over `worker_ids`."""
    return (split_users(specs(classes), users, list(worker_ids)),
            split_rate(spawn_rate, len(worker_ids)))


def shares_of(counts: Mapping[str, int], spawn_rate: float,
              worker_ids: Sequence[str]) -> tuple[dict[str, dict[str, int]], float]:
    """(per-worker per-class targets, per-worker spawn rate) of fleet-wide `counts`."""
    return (split_counts(dict(counts), list(worker_ids)),
            split_rate(spawn_rate, len(worker_ids)))


def placement_of(counts: Mapping[str, int], spawn_rate: float,
                 room: Mapping[str, int | None]) -> tuple[Placement[str], float]:
    """Fleet-wide `counts` over the workers in `room` (id -> users it may get, in
    join order), within capacity; and the per-worker spawn rate."""
    ids = list(room)
    return split_capped(dict(counts), ids, room), split_rate(spawn_rate, len(ids))


def shrink_first(shares: Mapping[str, Mapping[str, int]],
                 held: Mapping[str, Mapping[str, int]]) -> tuple[dict[str, dict[str, int]], bool]:
    """The shares to send now, and whether some growth waits (shrink before growing).

    While any worker still holds more of a class than its new share (`held`:
    what each last reported in this test), the others get no more of that
    class than they hold now. The rest follows when the shrinking workers
    report, so moving users never runs more than the target, even for a moment.
    """
    over = {c for wid, counts in held.items()
            for c, n in counts.items() if n > shares[wid].get(c, 0)}
    if not over:
        return {wid: dict(share) for wid, share in shares.items()}, False
    sent: dict[str, dict[str, int]] = {}
    deferred = False
    for wid, share in shares.items():
        have = held.get(wid, {})
        capped = {c: min(n, have.get(c, 0)) if c in over else n for c, n in share.items()}
        deferred = deferred or capped != share
        sent[wid] = capped
    return sent, deferred


def unplaced_advice(unplaced: int, capacities: Sequence[int | None]) -> str:
    """What the person reads when users fit nowhere: how many, why, what to add."""
    caps = [c for c in capacities if c]
    per = max(caps) if caps else 0
    more = f" (about {-(-unplaced // per)} more at {per:,} users each)" if per else ""
    return (f"{unplaced:,} users fit on no worker and wait: every worker is at its capacity "
            f"(open-file limit) or saturated; add workers{more}")


def start_message(test_id: str, share: dict[str, int], rate: float,
                  options: RunOptions, arrival: ArrivalShare | None = None,
                  script_options: Mapping[str, Any] | None = None) -> Start:
    return Start(
        arrival=arrival, script_options=dict(script_options or {}),
        test_id=test_id, targets=share, spawn_rate=rate, host=options.host,
        tags=sorted(options.tags) if options.tags is not None else None,
        exclude_tags=sorted(options.exclude_tags) if options.exclude_tags is not None else None,
        options={"stop_timeout": options.stop_timeout,
                 "request_timeout": options.request_timeout},
    )


def busy_workers(shares: Mapping[str, Mapping[str, int]]) -> tuple[str, ...]:
    """The workers that hold users, in the order given: those that get a share of the rate.

    A worker without users would only drop its iterations, so it gets none.
    """
    return tuple(wid for wid, share in shares.items() if sum(share.values()) > 0)


def arrival_shares(plan: ArrivalRate, shares: Mapping[str, Mapping[str, int]], *,
                   first: int = 0, test_time: float = 0.0) -> dict[str, ArrivalShare]:
    """The open model over a fleet: each worker that has users gets an equal share of the rate.

    The busy workers interleave (`ArrivalRate.share`) from the fleet-wide
    iteration `first` on; `test_time` is the master's, for a worker that joins.
    """
    busy = busy_workers(shares)
    stages = [RateStageWire(s.duration, s.rate) for s in plan.stages]
    return {wid: ArrivalShare(start_rate=plan.start_rate, max_lateness=plan.max_lateness,
                              index=i, count=len(busy), stages=stages, first=first,
                              test_time=round(test_time, 6))
            for i, wid in enumerate(busy)}


def ended_share(plan: ArrivalRate, first: int, test_time: float = 0.0) -> ArrivalShare:
    """A share with no iteration: a worker that no longer holds users stops at `first`."""
    return ArrivalShare(start_rate=plan.start_rate, max_lateness=plan.max_lateness, index=0,
                        count=1, stages=[RateStageWire(s.duration, s.rate) for s in plan.stages],
                        first=first, until=first, test_time=round(test_time, 6))


def arrival_plan(share: ArrivalShare, users: int) -> ArrivalRate:
    """A worker's plan from its share (`users`: what the master gave it)."""
    return ArrivalRate(start_rate=share.start_rate, users=max(1, users),
                       stages=tuple(RateStage(s.duration, s.rate) for s in share.stages),
                       max_lateness=share.max_lateness, index=share.index, count=share.count,
                       first=share.first, until=share.until)
