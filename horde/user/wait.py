"""Wait times between tasks: `between`, `constant`, `constant_pacing`, `constant_throughput`.

Each factory returns a plain function `wait_time(self) -> float`, meant to be
assigned as a class attribute (`wait_time = between(1, 5)`), so Python binds
it like a method and the task loop calls `self.wait_time()`. `self` is the
User or TaskSet whose wait it is.

Invariants: the functions never sleep (the async task loop does, through
`environment.wait`); they draw randomness only from the user's own
`random.Random` (`user.rng`, seedable) and read time only from the user's
clock (`environment.clock`), so tests can drive them without real time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from horde.errors import ScriptError

__all__ = [
    "WaitTime",
    "between",
    "check_wait_time",
    "constant",
    "constant_pacing",
    "constant_throughput",
]

WaitTime = Callable[[Any], float]
"""What the factories return: called with the User or TaskSet, returns seconds."""


def _owner_user(self: Any) -> Any:
    # Users and TaskSets both carry `_horde_user` (a user points at itself).
    return getattr(self, "_horde_user", None)


def _check(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return float(value)


def between(min_wait: float, max_wait: float) -> WaitTime:
    """A random wait, uniformly between `min_wait` and `max_wait` seconds."""
    low = _check("min_wait", min_wait)
    high = _check("max_wait", max_wait)
    if high < low:
        raise ValueError(f"between({min_wait}, {max_wait}): the maximum is below the minimum")
    span = high - low

    def wait_time(self: Any) -> float:
        user = _owner_user(self)
        draw = user.rng.random() if user is not None else random.random()
        return low + draw * span

    return wait_time


def constant(wait: float) -> WaitTime:
    """Always the same wait, in seconds."""
    seconds = _check("wait", wait)

    def wait_time(self: Any) -> float:
        return seconds

    return wait_time


def constant_pacing(wait: float) -> WaitTime:
    """Wait so that tasks start every `wait` seconds (task start to task start).

    A task that takes longer than `wait` is followed by no wait at all. The
    start of the task is stamped by the task loop on the user, read with the
    user's clock.
    """
    seconds = _check("wait", wait)

    def wait_time(self: Any) -> float:
        user = _owner_user(self)
        if user is None:
            return seconds
        elapsed = user.environment.clock() - user._horde_task_start
        return seconds - elapsed if elapsed < seconds else 0.0

    return wait_time


def constant_throughput(task_runs_per_second: float) -> WaitTime:
    """At most `task_runs_per_second` task runs per second per user (pacing 1/n)."""
    rate = _check("task_runs_per_second", task_runs_per_second)
    if rate == 0:
        raise ValueError("constant_throughput needs a rate above 0")
    return constant_pacing(1.0 / rate)


def check_wait_time(cls: type) -> None:
    """ScriptError when a User/TaskSet class's `wait_time` is not callable."""
    wait_time = getattr(cls, "wait_time", None)
    if not callable(wait_time):
        raise ScriptError(
            f"{cls.__name__}.wait_time must be a function such as between(1, 5) or "
            f"constant({wait_time!r}), not {type(wait_time).__name__}"
        )
