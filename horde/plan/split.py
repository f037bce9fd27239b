"""Dispatch: how many users of each class run, fleet-wide and on each worker.

Pure functions of plain data, deterministic (no randomness, no clock, no
dict-order surprises: classes keep the order given, workers the order given).

Fleet-wide (`class_counts`):

* classes with ``fixed_count > 0`` come first and get exactly that many users,
  in the order given; if the requested total is smaller than the sum of fixed
  counts, the earlier fixed classes are served first (as Locust does);
* the remaining users are split by ``weight`` among the other classes with
  largest-remainder rounding, so the counts add up to the total exactly and
  each class is within one user of its exact share; ties in the remainders go
  to the class given first;
* when only fixed classes exist, the total is capped at the sum of their counts
  (there is no class to put more users in).

Per worker (`split_users`):

* each class is spread so that no worker holds more than one user of that
  class above another;
* the "one extra" users of all classes are dealt round-robin, continuing from
  class to class, so no worker holds more than one user in total above
  another;
* the per-worker numbers are absolute targets: sending them twice is harmless,
  and recomputing after a worker joins or leaves gives the complete new
  picture (the fleet-wide counts never depend on the number of workers).

`split_rate` divides the spawn rate so the fleet-wide rate holds.

Within capacity (`split_capped`): never amplify overload.

* no worker gets more users than its capacity (``None``: no limit); the
  caller sets a saturated worker's capacity to what it holds now, so users
  are never moved onto it;
* the users placed are ``min(total, sum of capacities)``; the rest are
  returned as ``unplaced`` per class (they wait, visibly, for capacity);
* placed users are divided over the classes in proportion to their counts
  (largest remainder, as `class_counts`), so a shortage hits every class
  alike;
* per-worker totals are as even as the capacities allow: a worker below its
  capacity holds at least as many users as any other worker, minus one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from horde.errors import UsageError

__all__ = ["ClassSpec", "Placement", "class_counts", "split_users", "split_counts", "split_rate",
           "split_capped"]

ClassSpec = tuple[str, float, int]
"""(class name, weight, fixed_count); fixed_count 0 means "use the weight"."""

W = TypeVar("W", bound=Hashable)


def _validate(classes: Sequence[ClassSpec], total: int) -> None:
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise UsageError(f"the number of users must be a whole number >= 0, not {total!r}")
    seen: set[str] = set()
    for name, weight, fixed in classes:
        if name in seen:
            raise UsageError(f"user class {name!r} is listed twice")
        seen.add(name)
        if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
            raise UsageError(f"{name}.fixed_count must be a whole number >= 0, not {fixed!r}")
        try:
            ok = Fraction(weight) >= 0
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise UsageError(f"{name}.weight must be a finite number >= 0, not {weight!r}")


def class_counts(classes: Sequence[ClassSpec], total: int) -> dict[str, int]:
    """Fleet-wide user count per class (see the module docstring for the rules).

    Every class given appears in the result, possibly with 0.
    Raises UsageError for negative or non-integer counts, negative or
    non-finite weights, duplicate names, or users left over with no class of
    positive weight to hold them.
    """
    _validate(classes, total)
    counts = {name: 0 for name, _, _ in classes}
    left = total
    for name, _, fixed in classes:
        if fixed > 0:
            take = min(fixed, left)
            counts[name] = take
            left -= take

    weighted = [(name, Fraction(w)) for name, w, fixed in classes if fixed == 0]
    weight_sum = sum((w for _, w in weighted), Fraction(0))
    if left == 0:
        return counts
    if not weighted:
        return counts  # only fixed classes: the total is capped at their sum
    if weight_sum == 0:
        raise UsageError(
            f"{left} users to place but every user class without fixed_count has weight 0"
        )

    # Largest remainder (Hamilton): floors first, then one more to the classes
    # with the largest fractional parts; Fractions keep it exact, and the sort
    # is stable so ties go to the class given first.
    quotas = [(name, left * w / weight_sum) for name, w in weighted]
    floors = {name: int(q) for name, q in quotas}  # q >= 0, so int() is floor
    spare = left - sum(floors.values())
    by_remainder = sorted(quotas, key=lambda item: item[1] - floors[item[0]], reverse=True)
    for name, _ in by_remainder[:spare]:
        floors[name] += 1
    for name, n in floors.items():
        counts[name] = n
    return counts


def split_counts(counts: dict[str, int], workers: Sequence[W]) -> dict[W, dict[str, int]]:
    """Spread fleet-wide per-class counts over ``workers`` (order matters).

    Each class: every worker gets ``count // n``; the ``count % n`` extra users
    go to consecutive workers starting where the previous class's extras
    stopped. Dealing the extras as one continuous round-robin is what keeps
    the per-worker totals within one of each other.
    """
    n = len(workers)
    if n == 0:
        raise ValueError("split_counts needs at least one worker")
    if len(set(workers)) != n:
        raise ValueError("worker ids must be unique")
    out: dict[W, dict[str, int]] = {w: {} for w in workers}
    cursor = 0
    for name, count in counts.items():
        if count < 0:
            raise ValueError(f"negative count for {name!r}")
        base, extra = divmod(count, n)
        for w in workers:
            out[w][name] = base
        for j in range(extra):
            out[workers[(cursor + j) % n]][name] += 1
        cursor = (cursor + extra) % n
    return out


def split_users(
    classes: Sequence[ClassSpec], total: int, workers: Sequence[W]
) -> dict[W, dict[str, int]]:
    """Per-worker, per-class absolute user targets for the whole fleet.

    ``split_users(c, t, ws)`` == ``split_counts(class_counts(c, t), ws)``.
    """
    return split_counts(class_counts(classes, total), workers)


def split_rate(rate: float, n_workers: int) -> float:
    """Spawn rate for each of ``n_workers`` workers so the fleet spawns ``rate``/s."""
    if n_workers <= 0:
        raise ValueError("split_rate needs at least one worker")
    if not rate > 0:  # also rejects NaN
        raise UsageError(f"the spawn rate must be > 0, not {rate!r}")
    return rate / n_workers


@dataclass(frozen=True)
class Placement(Generic[W]):
    """Per-worker, per-class targets within capacity, and what fits nowhere."""

    shares: dict[W, dict[str, int]]
    unplaced: dict[str, int]

    @property
    def unplaced_total(self) -> int:
        return sum(self.unplaced.values())


def _fill(total: int, workers: Sequence[W], capacity: Mapping[W, int | None]) -> dict[W, int]:
    """Water-filling: per-worker totals, even up to each capacity, extras in worker order."""
    room: dict[W, int | None] = {}
    for w in workers:
        cap = capacity.get(w)
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            raise ValueError(f"capacity of {w!r} must be a whole number >= 0 or None, not {cap!r}")
        room[w] = cap
    got = dict.fromkeys(workers, 0)
    left = total
    while left > 0:
        open_ = [w for w in workers if room[w] is None or room[w] != 0]
        if not open_:
            break
        each = left // len(open_)
        if each == 0:
            for w in open_[:left]:
                got[w] += 1
                r = room[w]
                room[w] = None if r is None else r - 1
            break
        for w in open_:
            r = room[w]
            give = each if r is None else min(each, r)
            got[w] += give
            room[w] = None if r is None else r - give
            left -= give
    return got


def _proportional(counts: Mapping[str, int], placed: int) -> dict[str, int]:
    """``placed`` users over the classes in proportion to ``counts`` (largest remainder)."""
    total = sum(counts.values())
    if placed >= total:
        return dict(counts)
    quotas = [(name, Fraction(placed * n, total)) for name, n in counts.items()]
    out = {name: int(q) for name, q in quotas}
    spare = placed - sum(out.values())
    for name, _ in sorted(quotas, key=lambda item: item[1] - out[item[0]], reverse=True)[:spare]:
        out[name] += 1
    return out


def split_capped(counts: Mapping[str, int], workers: Sequence[W],
                 capacity: Mapping[W, int | None]) -> Placement[W]:
    """Spread fleet-wide per-class counts over ``workers`` within each one's capacity.

    See the module docstring. With no worker at all, every user is unplaced.
    """
    if len(set(workers)) != len(workers):
        raise ValueError("worker ids must be unique")
    for name, n in counts.items():
        if n < 0:
            raise ValueError(f"negative count for {name!r}")
    totals = _fill(sum(counts.values()), workers, capacity)
    placed = _proportional(counts, sum(totals.values()))
    unplaced = {name: counts[name] - placed[name] for name in counts}
    shares: dict[W, dict[str, int]] = {w: dict.fromkeys(counts, 0) for w in workers}
    room = dict(totals)
    cursor = 0
    n = len(workers)
    position = {w: i for i, w in enumerate(workers)}
    for name, count in placed.items():
        # Deal one class round-robin over the workers with room left, carrying
        # on from where the previous class stopped (what keeps totals even).
        left = count
        while left > 0:
            order = [workers[(cursor + i) % n] for i in range(n)]
            open_ = [w for w in order if room[w] > 0]
            each = max(1, left // len(open_))
            for w in open_:
                give = min(each, room[w], left)
                shares[w][name] += give
                room[w] -= give
                left -= give
                if give and each == 1:
                    cursor = (position[w] + 1) % n
                if left == 0:
                    break
    return Placement(shares, unplaced)
