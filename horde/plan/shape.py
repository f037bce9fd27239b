"""`LoadTestShape` (Locust's, same methods) and `ShapePlan`, the executor that follows one.

A script defines a subclass with ``tick()``; horde calls it about once a
second, on the process that plans the run (a local run, or the master of a
fleet: workers never run the shape). ``tick()`` returns:

* ``(users, spawn_rate)`` - ramp to ``users`` at ``spawn_rate`` users/s;
* ``(users, spawn_rate, user_classes)`` - the same, with only those classes
  (a list of User classes, as in Locust; the others ramp down to 0);
* ``None`` - the plan is over: the run stops.

Time: the shape has no clock of its own. `ShapePlan.at(t)` tells it the test
time before calling ``tick()``, so ``get_run_time()`` is the seconds since
the test started (or since ``reset_time()``), and a shape can be tested by
calling ``at`` with any ``t``. ``runner`` is the run (a local runner or the
master) and is set before the first tick.

Invariants: a shape's answer is checked before anything is done with it (a
wrong one raises `ScriptError` naming the shape); once ``tick()`` returned
None, `ShapePlan.at` returns None without calling it again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from horde.errors import ScriptError, UsageError
from horde.plan.executor import Target

__all__ = ["LoadTestShape", "ShapePlan", "CommonOptions"]


@dataclass(frozen=True)
class CommonOptions:
    """``-u``, ``-r`` and ``-t`` as given, for a shape with ``use_common_options = True``."""

    users: int
    spawn_rate: float
    run_time: float | None


class LoadTestShape:
    """Base class of a load shape; subclass it and define ``tick()``."""

    runner: Any = None
    """The run this shape steers (set by horde before the first tick)."""
    abstract: ClassVar[bool] = True
    """A subclass that sets ``abstract = True`` is a base for shapes, not a shape."""
    use_common_options: ClassVar[bool] = False
    """True: ``-u/-r/-t`` are not ignored but handed to the shape as `common_options`."""
    common_options: CommonOptions | None = None

    _horde_now: float = 0.0
    _horde_start: float = 0.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "abstract" not in cls.__dict__:
            cls.abstract = False

    def reset_time(self) -> None:
        """Count `get_run_time` from now."""
        self._horde_start = self._horde_now

    def get_run_time(self) -> float:
        """Seconds since the test started (or since `reset_time`)."""
        return self._horde_now - self._horde_start

    def get_current_user_count(self) -> int:
        """Users running now, over the whole run (0 before the run is attached)."""
        runner = self.runner
        return int(getattr(runner, "user_count", 0)) if runner is not None else 0

    def tick(self) -> tuple[int, float] | tuple[int, float, Sequence[type]] | None:
        raise NotImplementedError(f"{type(self).__name__} must define tick()")


def _check(shape: LoadTestShape, answer: object) -> Target | None:
    name = type(shape).__name__
    if answer is None:
        return None
    if not isinstance(answer, (tuple, list)) or len(answer) not in (2, 3):
        raise ScriptError(f"{name}.tick() must return (users, spawn_rate), "
                          f"(users, spawn_rate, user_classes) or None, not {answer!r}")
    users, rate = answer[0], answer[1]
    if isinstance(users, float) and users.is_integer():
        users = int(users)  # Locust's own examples return round(t, -2), a float
    if isinstance(users, bool) or not isinstance(users, int) or users < 0:
        raise ScriptError(f"{name}.tick(): the user count must be a whole number >= 0, "
                          f"not {users!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) \
            or not (rate > 0 and math.isfinite(rate)):
        raise ScriptError(f"{name}.tick(): the spawn rate must be a number > 0, not {rate!r}")
    classes: tuple[str, ...] | None = None
    if len(answer) == 3 and answer[2] is not None:
        picked = answer[2]
        if not isinstance(picked, (list, tuple)) or not all(isinstance(c, type)
                                                             for c in picked):
            raise ScriptError(f"{name}.tick(): user_classes must be a list of User classes, "
                              f"not {picked!r}")
        classes = tuple(c.__name__ for c in picked)
    try:
        return Target(users, float(rate), classes)
    except UsageError as exc:  # pragma: no cover - the checks above come first
        raise ScriptError(f"{name}.tick(): {exc}") from None


class ShapePlan:
    """The executor of a `LoadTestShape`: ``at(t)`` sets the shape's time and calls ``tick()``."""

    def __init__(self, shape: LoadTestShape) -> None:
        self.shape = shape
        self._ended = False

    def start(self, runner: object, common: CommonOptions | None = None) -> None:
        """A new test: attach the run, count time from 0 (Locust resets it at each start)."""
        self.shape.runner = runner
        if type(self.shape).use_common_options:
            self.shape.common_options = common
        self.shape._horde_now = 0.0
        self.shape.reset_time()
        self._ended = False

    def at(self, t: float) -> Target | None:
        if self._ended:
            return None
        self.shape._horde_now = t
        try:
            answer = self.shape.tick()
        except Exception as exc:  # noqa: BLE001 - user code: reported as the script's error
            raise ScriptError(f"{type(self.shape).__name__}.tick() raised "
                              f"{type(exc).__name__}: {exc}") from exc
        target = _check(self.shape, answer)
        if target is None:
            self._ended = True
        return target
