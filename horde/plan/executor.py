"""What an executor is: a plan that says, for any test time, what should be running.

An executor (k6's word) is data plus a pure method `at(t)`: given ``t``
seconds of test time, the `Target` the run should move to now, or None when
the plan has ended and the run should stop. Executors hold no clock and do no
I/O; the runtime (a local run, or a master for its fleet) asks once a second
and follows: when the target changes, it ramps to the new counts at the
target's spawn rate (`horde.plan.ramp.RampPlan`, one per process).

Executors, one per file:

* `horde.plan.steady.SteadyUsers` - ``-u`` users ramped at ``-r`` (the closed model);
* `horde.plan.stages.RampingStages` - ``--stages``: linear ramps between user counts;
* `horde.plan.shape.ShapePlan` - a script's `LoadTestShape`.

Invariants: ``at`` never returns a target with users < 0 or a spawn rate that
is not a finite number > 0; once it returned None for some ``t`` it returns
None for every later ``t`` (a plan that ended stays ended).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from horde.errors import UsageError
from horde.plan.split import ClassSpec, class_counts

__all__ = ["Target", "Executor", "class_targets"]


@dataclass(frozen=True)
class Target:
    """Users to have, how fast to get there, and (optionally) which classes may run."""

    users: int
    spawn_rate: float
    classes: tuple[str, ...] | None = None
    """Only these user classes (a shape's ``user_classes``); None: every class."""

    def __post_init__(self) -> None:
        if isinstance(self.users, bool) or not isinstance(self.users, int) or self.users < 0:
            raise UsageError(f"the number of users must be a whole number >= 0, "
                             f"not {self.users!r}")
        if not (self.spawn_rate > 0 and math.isfinite(self.spawn_rate)):
            raise UsageError(f"the spawn rate must be a finite number > 0, "
                             f"not {self.spawn_rate!r}")


class Executor(Protocol):
    """A load plan: `at(t)` is the target ``t`` seconds into the test, None once it is over."""

    def at(self, t: float) -> Target | None: ...


def class_targets(specs: Sequence[ClassSpec], target: Target) -> dict[str, int]:
    """Fleet-wide users per class for `target` (classes it leaves out get 0).

    The split is `horde.plan.split.class_counts` over the allowed classes;
    every class of `specs` appears in the result.
    """
    if target.classes is None:
        return class_counts(specs, target.users)
    known = {name for name, _, _ in specs}
    unknown = [name for name in target.classes if name not in known]
    if unknown:
        raise UsageError(f"unknown user classes {unknown}; the script defines {sorted(known)}")
    allowed = [spec for spec in specs if spec[0] in target.classes]
    counts = {name: 0 for name, _, _ in specs}
    counts.update(class_counts(allowed, target.users))
    return counts
