"""Ramping users up or down at a spawn rate, as a pure function of elapsed time.

A runtime loop keeps the moment a ramp began; on each tick it asks the plan how
many users of each class should exist ``t`` seconds later and starts or stops
users to match. Nothing here keeps state or reads a clock, so a plan can be
tested at any ``t`` and a tick that comes late simply catches up.

Invariants:

* one "move" is starting or stopping one user; moves happen at ``spawn_rate``
  per second (ramp-down uses the same rate), move ``k`` (from 0) at
  ``t = k / rate``: the first one at once, ``floor(rate * t) + 1`` of them by
  time ``t >= 0`` (as Locust and horde always did: ``-u 1 -r 1 -t 1s`` runs
  its user for a second); ``spawn_rate = inf`` means everything at once;
* each class moves monotonically from its start count to its target count,
  never overshooting, never turning back;
* moves of different classes are interleaved evenly (Sainte-Laguë order:
  class ``i``'s ``j``-th move sits at position ``(j + 1/2) / moves_i`` of the
  ramp; ties go to the class listed first), so the mix during a ramp follows
  the final mix; ``counts_at`` is exact and costs O(classes^2), not O(users);
* ``counts_at(t) == start`` for ``t < 0`` and ``counts_at(t) == target``
  for ``t >= duration`` (the time of the last move).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from horde.errors import UsageError

__all__ = ["users_at", "RampPlan"]

# rate * t is computed in floating point; 0.29 * 100 gives 28.999999999999996.
# A nudge far below one move keeps such ticks from coming one move late.
_EPS = 1e-9


def _moves_by(t: float, spawn_rate: float, total_moves: int) -> int:
    if t < 0:
        return 0
    if math.isinf(spawn_rate):
        return total_moves
    return min(total_moves, int(math.floor(spawn_rate * t + _EPS)) + 1)


def _check_rate(spawn_rate: float) -> None:
    if not spawn_rate > 0:  # also NaN
        raise UsageError(f"the spawn rate must be > 0, not {spawn_rate!r}")


def users_at(t: float, start_users: int, target_users: int, spawn_rate: float) -> int:
    """Users that should exist ``t`` s into a ramp from ``start_users`` to ``target_users``."""
    _check_rate(spawn_rate)
    moved = _moves_by(t, spawn_rate, abs(target_users - start_users))
    return start_users + moved if target_users >= start_users else start_users - moved


@dataclass(frozen=True)
class RampPlan:
    """Per-class ramp from ``start`` counts to ``target`` counts at ``spawn_rate``.

    Classes missing from one mapping count as 0 there. Class order (for ties
    and for the result) is the order of ``target``, then classes only in
    ``start``.
    """

    start: Mapping[str, int]
    target: Mapping[str, int]
    spawn_rate: float
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _moves: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_rate(self.spawn_rate)
        names = list(self.target)
        names += [n for n in self.start if n not in self.target]
        for n in names:
            if self.start.get(n, 0) < 0 or self.target.get(n, 0) < 0:
                raise ValueError(f"negative user count for {n!r}")
        # Frozen dataclass: the derived caches are set once, here.
        object.__setattr__(self, "_names", tuple(names))
        object.__setattr__(
            self, "_moves", tuple(abs(self.target.get(n, 0) - self.start.get(n, 0)) for n in names)
        )

    @property
    def total_moves(self) -> int:
        """Users started plus users stopped over the whole ramp."""
        return sum(self._moves)

    @property
    def duration(self) -> float:
        """Seconds until the last move (0 when there is at most one move)."""
        if math.isinf(self.spawn_rate) or self.total_moves == 0:
            return 0.0
        return (self.total_moves - 1) / self.spawn_rate

    def done(self, t: float) -> bool:
        return self.moves_at(t) == self.total_moves

    def moves_at(self, t: float) -> int:
        return _moves_by(t, self.spawn_rate, self.total_moves)

    def total_at(self, t: float) -> int:
        return sum(self.counts_at(t).values())

    def counts_at(self, t: float) -> dict[str, int]:
        """How many users of each class should exist ``t`` seconds into the ramp."""
        done = self._moves_per_class(self.moves_at(t))
        out: dict[str, int] = {}
        for name, k in zip(self._names, done, strict=True):
            a, b = self.start.get(name, 0), self.target.get(name, 0)
            out[name] = a + k if b >= a else a - k
        return out

    def _moves_per_class(self, m: int) -> list[int]:
        """Split the first ``m`` moves of the Sainte-Laguë sequence among classes.

        Class i's j-th move has key (2j+1) / (2 moves_i); the first m moves are
        the m smallest keys. After m moves each class has within
        (classes + 1) of its proportional share m * moves_i / D, so we start
        every class safely below its count and pick the remaining few moves
        greedily by smallest key. That gives the exact prefix at O(C^2 log C).
        """
        moves = self._moves
        total = sum(moves)
        if m >= total:
            return list(moves)
        if m <= 0:
            return [0] * len(moves)
        slack = len(moves) + 1
        done = [max(0, m * mi // total - slack) for mi in moves]
        heap = [
            (Fraction(2 * d + 1, 2 * mi), i)
            for i, (d, mi) in enumerate(zip(done, moves, strict=True))
            if d < mi
        ]
        heapq.heapify(heap)
        for _ in range(m - sum(done)):
            _, i = heapq.heappop(heap)
            done[i] += 1
            if done[i] < moves[i]:
                heapq.heappush(heap, (Fraction(2 * done[i] + 1, 2 * moves[i]), i))
        return done
