"""What the plan asked for, second by second, beside what ran: the web UI's target curves.

`LoadModel` names the plan a run follows (`describe`); `PlanTrace` keeps, per
closed test second, the plan's target and, in the open model, the iterations
that actually started in that second. The runner records one entry when it
closes a second (`RunBase._on_second`), so the target of second ``s`` sits
beside the history row of second ``s``, whatever the plan:

* steady users (``-u``/``-r``) and a shape: the users the plan holds now
  (its goal; a shape is not pure, so its past is recorded, not recomputed);
* stages: `RampingStages.users_at` just before the end of the second, the
  count the ramp keeps through it (not the stage's end count);
* the open model: the iterations due in the second, from the plan's integral
  (``iterations_until(t) - iterations_until(t - 1)``), which is exactly what
  a fleet that keeps up starts in it.

Invariants: entries are keyed by test second and only added (a new test
clears them); values are finite and >= 0, or absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from horde.plan.arrival import ArrivalRate
from horde.plan.executor import Executor
from horde.plan.shape import ShapePlan
from horde.plan.stages import RampingStages

__all__ = ["LoadModel", "PlanTrace", "describe", "target_at", "plan_columns", "MODELS"]

MODELS = ("users", "stages", "shape", "arrival")
"""The load models a test can follow, by the name the web UI and its API use."""


@dataclass(frozen=True)
class LoadModel:
    """The plan a run follows, for a view."""

    name: str
    """One of `MODELS`."""
    shape: str | None = None
    """The script's `LoadTestShape` class name when it has one (it then drives every test)."""

    @property
    def unit(self) -> str:
        """What the target counts: ``"users"``, or ``"rate"`` (iterations/s) in the open model."""
        return "rate" if self.name == "arrival" else "users"


def describe(plan: Executor | None, shape: str | None) -> LoadModel:
    if isinstance(plan, ArrivalRate):
        return LoadModel("arrival", shape)
    if isinstance(plan, RampingStages):
        return LoadModel("stages", shape)
    if isinstance(plan, ShapePlan):
        return LoadModel("shape", shape)
    return LoadModel("users", shape)


_JUST_BEFORE = 1e-6
"""Seconds: a ramp's move due exactly at a second's end belongs to the next second."""


def target_at(plan: Executor | None, t: float, goal_users: int) -> float:
    """The plan's target for the second ending at test time ``t`` (see the module docstring)."""
    if isinstance(plan, ArrivalRate):
        return max(0.0, plan.iterations_until(t) - plan.iterations_until(t - 1.0))
    if isinstance(plan, RampingStages):
        return float(plan.users_at(max(0.0, t - _JUST_BEFORE)))
    return float(goal_users)


class PlanTrace:
    """Per test second: the plan's target and (open model) the iterations started."""

    __slots__ = ("targets", "iterations")

    def __init__(self) -> None:
        self.targets: dict[int, float] = {}
        self.iterations: dict[int, int] = {}

    def clear(self) -> None:
        self.targets.clear()
        self.iterations.clear()

    def record(self, second: int, target: float, iterations: int | None = None) -> None:
        self.targets[second] = target
        if iterations is not None:
            self.iterations[second] = iterations


def plan_columns(seconds: Sequence[int], trace: PlanTrace | None, model: LoadModel | None
                 ) -> dict[str, list[float | None]]:
    """History columns beside `seconds` (the history's ``t``): the plan's target, and in the
    open model the iterations started; null where the plan said nothing (or not this unit).

    ``target_users`` in the closed models, ``target_rate`` and ``iterations`` in the
    open model: what the web UI's charts and the HTML report draw.
    """
    nothing: list[float | None] = [None] * len(seconds)
    if trace is None or model is None:
        return {"target_users": nothing, "target_rate": nothing, "iterations": nothing}
    targets: list[float | None] = []
    for t in seconds:
        value = trace.targets.get(t)
        targets.append(round(value, 3) if value is not None else None)
    if model.unit == "rate":
        done: list[float | None] = [trace.iterations.get(t) for t in seconds]
        return {"target_users": nothing, "target_rate": targets, "iterations": done}
    return {"target_users": targets, "target_rate": nothing, "iterations": nothing}
