"""Wait times between tasks: `between`, `constant`, `constant_pacing`, `constant_throughput`.

Each factory returns a plain function `wait_time(self) -> float`, meant to be
assigned as a class attribute (`wait_time = between(1, 5)`), so Python binds
it like a method and the task loop calls `self.wait_time()`. `self` is the
User or TaskSet whose wait it is.

Invariants: the functions never sleep (the async task loop does, through
`environment.wait`); they draw randomness only through the user
(`user.rng` once a script made or seeded it, see `User.rng`) and read time only from the user's
clock (`environment.clock`), so tests can drive them without real time.
`constant_pacing` keeps one piece of state, the owner's next due start, on
the owner itself (a User, or a TaskSet instance, fresh each time it is
entered), never in the function.
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

_PACE_ATTR = "_horde_pace_due"
"""Where `constant_pacing` keeps its owner's schedule (the next due start time)."""

WaitTime = Callable[[Any], float]
"""What the factories return: called with the User or TaskSet, returns seconds."""


def _owner_user(self: Any) -> Any:
    # Users and TaskSets both carry `_horde_user` (a user points at itself).
    return getattr(self, "_horde_user", None)


def _check(where: str, name: str, value: float) -> float:
    # A ScriptError, not ValueError: it is raised while the script's class body runs,
    # and the loader reports it with the script's file and line (docs/writing-scripts.md).
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        raise ScriptError(f"{where}: {name} must be a number of seconds, not {value!r}")
    if value < 0:
        raise ScriptError(f"{where}: {name} must be >= 0, not {value}")
    return float(value)


def between(min_wait: float, max_wait: float) -> WaitTime:
    """A random wait, uniformly between `min_wait` and `max_wait` seconds."""
    where = f"between({min_wait!r}, {max_wait!r})"
    low = _check(where, "min_wait", min_wait)
    high = _check(where, "max_wait", max_wait)
    if high < low:
        raise ScriptError(f"{where}: the maximum is below the minimum "
                          f"(write between({max_wait!r}, {min_wait!r}))")
    span = high - low

    def wait_time(self: Any) -> float:
        user = _owner_user(self)
        draw = user._horde_draw() if user is not None else random.random()
        return low + draw * span

    return wait_time


def constant(wait: float) -> WaitTime:
    """Always the same wait, in seconds."""
    seconds = _check(f"constant({wait!r})", "wait", wait)

    def wait_time(self: Any) -> float:
        return seconds

    return wait_time


def constant_pacing(wait: float) -> WaitTime:
    """Wait so that tasks start every `wait` seconds, on a fixed schedule.

    Each owner (the User, or a TaskSet with its own `wait_time`) keeps an
    absolute schedule: the next task is due one period after the previous
    task was *due* (not after it started), and the wait is "due − now". So a
    sleep that ends late (uvloop rounds timers to whole milliseconds, which
    made a 10 ms pacing run 5% slow) or a task slower than the period is made
    up by the following waits, and the long-run rate is exactly one task per
    `wait` seconds. A task that ran late by more than a whole period resets
    the schedule to now instead of catching up with a burst. The first task's
    start (stamped by the task loop on the user) starts the schedule.
    """
    seconds = _check(f"constant_pacing({wait!r})", "wait", wait)

    def wait_time(self: Any) -> float:
        user = _owner_user(self)
        if user is None:
            return seconds
        now: float = user.environment.clock()
        due = getattr(self, _PACE_ATTR, None)
        due = (user._horde_task_start if due is None else due) + seconds
        if now - due > seconds:
            due = now  # more than a period behind: start afresh, no burst
        setattr(self, _PACE_ATTR, due)
        return due - now if due > now else 0.0

    return wait_time


def constant_throughput(task_runs_per_second: float) -> WaitTime:
    """At most `task_runs_per_second` task runs per second per user (pacing 1/n)."""
    where = f"constant_throughput({task_runs_per_second!r})"
    rate = _check(where, "task_runs_per_second", task_runs_per_second)
    if rate == 0:
        raise ScriptError(f"{where}: the rate must be above 0")
    return constant_pacing(1.0 / rate)


def check_wait_time(cls: type) -> None:
    """ScriptError when a User/TaskSet class's `wait_time` is not callable."""
    wait_time = getattr(cls, "wait_time", None)
    if not callable(wait_time):
        raise ScriptError(
            f"{cls.__name__}.wait_time must be a function such as between(1, 5) or "
            f"constant({wait_time!r}), not {type(wait_time).__name__}"
        )
