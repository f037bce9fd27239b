"""The open model's plan from ``--arrival-rate``, ``--arrival-stages`` and ``--max-lateness``."""

from __future__ import annotations

from horde.cli.config import Config
from horde.errors import UsageError
from horde.plan.arrival import ArrivalRate

__all__ = ["open_model_plan"]


def open_model_plan(config: Config, has_shape: bool = False) -> ArrivalRate | None:
    """The `ArrivalRate` plan when the options ask for the open model, else None.

    ``-u`` is the most users busy at once (k6's preallocated VUs); ``-r`` has
    nothing to ramp (every user starts at once) and is ignored. The open model
    excludes ``--stages`` (users) and a script's `LoadTestShape`: one plan a run.
    """
    if config.arrival_rate is None and config.arrival_stages is None:
        return None
    if config.stages is not None:
        raise UsageError("--stages ramp users and --arrival-rate/--arrival-stages start "
                         "iterations at a rate: use one or the other (for a ramping rate, "
                         "--arrival-stages)")
    if has_shape:
        raise UsageError("the script defines a load shape and --arrival-rate/--arrival-stages "
                         "is given: use one or the other")
    return ArrivalRate(
        start_rate=config.arrival_rate or 0.0,
        users=config.users,
        stages=config.arrival_stages or (),
        max_lateness=config.max_lateness,
    )
