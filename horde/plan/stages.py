"""``--stages "30s:100,2m:100,30s:0"``: linear ramps from stage to stage (k6's ramping-vus).

Semantics (those of k6's ``ramping-vus`` executor):

* the run starts with ``start_users`` users (0 by default);
* each stage ``DURATION:USERS`` moves the user count linearly from where the
  previous stage ended to ``USERS`` over ``DURATION``: a stage of ``d``
  seconds from ``a`` to ``b`` users makes ``n = |b - a|`` moves (a user
  started, or stopped), move ``k`` (from 0) at ``k * d / n`` seconds into the
  stage, as ``-r`` spaces them: the first at once, the last one ``d / n``
  before the stage ends (k6 rounds the other way, one move later);
* a stage with the same count as the one before holds that count;
* a ``0s`` stage jumps: its users start (or stop) within a second;
* after the last stage the plan ends and the run stops (``-t`` may stop it earlier).

As an executor (`at`), a stage is the target of its end count reached at the
rate ``|b - a| / d`` users/s, which the runtime ramps exactly with
`horde.plan.ramp.RampPlan`: the count it keeps is `users_at`.

Invariants: stages are non-empty, durations finite and >= 0, counts whole
numbers >= 0; `users_at(t)` is monotonic within a stage and equals the stage's
count at its end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from horde.errors import UsageError
from horde.plan.duration import parse_duration
from horde.plan.executor import Target

__all__ = ["Stage", "RampingStages", "parse_stages"]

_FORMAT = 'stages are "DURATION:USERS" separated by commas, e.g. "30s:100,2m:100,30s:0"'


@dataclass(frozen=True)
class Stage:
    duration: float
    users: int


def _parse_one(text: str) -> Stage:
    duration, sep, users = text.strip().partition(":")
    if not sep or not duration.strip() or not users.strip():
        raise UsageError(f"invalid stage {text.strip()!r}: {_FORMAT}")
    try:
        count = int(users.strip())
    except ValueError:
        raise UsageError(f"invalid stage {text.strip()!r}: {users.strip()!r} is not a whole "
                         "number of users") from None
    if count < 0:
        raise UsageError(f"invalid stage {text.strip()!r}: the number of users must be >= 0")
    return Stage(parse_duration(duration.strip()), count)


def parse_stages(spec: str | Sequence[str]) -> tuple[Stage, ...]:
    """``"30s:100,2m:100"`` (or a list of ``"30s:100"`` items, as a config file has them)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    if not items or all(not str(item).strip() for item in items):
        raise UsageError(f"no stages given: {_FORMAT}")
    return tuple(_parse_one(str(item)) for item in items)


@dataclass(frozen=True)
class RampingStages:
    stages: tuple[Stage, ...]
    start_users: int = 0

    def __post_init__(self) -> None:
        if not self.stages:
            raise UsageError(f"no stages given: {_FORMAT}")
        for stage in self.stages:
            if not math.isfinite(stage.duration) or stage.duration < 0 or stage.users < 0:
                raise UsageError(f"invalid stage {stage}: {_FORMAT}")

    @property
    def duration(self) -> float:
        return sum(stage.duration for stage in self.stages)

    def _stage_at(self, t: float) -> tuple[int, float, int] | None:
        """(users at the stage's start, seconds into it, its index); None after the last."""
        begin, before = 0.0, self.start_users
        for i, stage in enumerate(self.stages):
            if t < begin + stage.duration:
                return before, t - begin, i
            begin, before = begin + stage.duration, stage.users
        return None

    def at(self, t: float) -> Target | None:
        found = self._stage_at(max(0.0, t))
        if found is None:
            return None
        before, into, i = found
        stage = self.stages[i]
        moves = abs(stage.users - before)
        jump = self._jump_into(i)
        if jump and into < 1.0 and moves:
            # A ramp right after a jump: first the jump, within its second.
            return Target(before, float(jump))
        if moves == 0:
            # A hold: whatever is missing (a user that could not start, or the
            # users a 0 s stage just moved) comes within a second.
            rate = float(max(1, stage.users, jump))
        elif stage.duration == 0:  # pragma: no cover - a 0 s stage is never "current"
            rate = float(moves)
        else:
            rate = moves / stage.duration
        return Target(stage.users, rate)

    def _jump_into(self, i: int) -> int:
        """Users that the run of 0 s stages right before stage ``i`` moves at once."""
        moved, j = 0, i - 1
        while j >= 0 and self.stages[j].duration == 0:
            prev = self.stages[j - 1].users if j > 0 else self.start_users
            moved += abs(self.stages[j].users - prev)
            j -= 1
        return moved

    def users_at(self, t: float) -> int:
        """The users the plan keeps at ``t`` (what the runtime's ramp gives)."""
        found = self._stage_at(max(0.0, t))
        if found is None:
            return self.stages[-1].users
        before, into, i = found
        stage = self.stages[i]
        moves = abs(stage.users - before)
        moved = min(moves, math.floor(moves * into / stage.duration + 1e-9) + 1) if moves else 0
        return before + moved if stage.users >= before else before - moved
