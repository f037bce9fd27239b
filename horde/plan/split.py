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
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction
from typing import TypeVar

from horde.errors import UsageError

__all__ = ["ClassSpec", "class_counts", "split_users", "split_counts", "split_rate"]

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
