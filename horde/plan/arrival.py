"""``--arrival-rate``: iterations started at a set rate, whatever the target does (the open model).

The anchor is k6's ``constant-arrival-rate`` and ``ramping-arrival-rate``
executors. An *iteration* is one task run of one user; `wait_time` is
ignored. ``-u`` is the most users busy at once (k6's preallocated VUs): they
are all started at once and wait, idle, for iterations to start.

The schedule is a pure function of the rate over time:

* with no stages the rate is ``start_rate`` for ever (constant arrival rate);
* each stage ``DURATION:RATE`` moves the rate linearly from where the
  previous stage ended to ``RATE`` over ``DURATION`` (a ``0s`` stage jumps),
  and after the last stage the plan ends (ramping arrival rate);
* iteration ``k`` (from 0) is due when the integral of the rate since the
  start reaches ``k``: the first at once, then ``1 / rate`` apart at a
  constant rate (k6 does the same; it counts from the start of the test,
  so a late iteration never shifts the ones after it).

Splitting over ``n`` processes (`share`) interleaves: process ``i`` runs
iterations ``i, i + n, i + 2n, ...`` of the fleet-wide schedule, so the fleet
starts exactly the fleet's iterations, evenly spread, with no clock shared
between the processes beyond the test start.

A new split during the test (a worker joins, or one is lost) takes effect
from a fleet-wide iteration ``K`` a little in the future (`first_due`):
every process keeps its old share for the iterations before ``K``
(``until=K``) and takes its new one from ``K`` on (``first=K``): process
``i`` of ``n`` then runs ``K + i, K + i + n, ...``. Each iteration of the
schedule is still run by exactly one process.

Invariants: rates are finite and >= 0, durations finite and >= 0; `start_time`
is non-decreasing in ``k`` and None for every ``k`` past the end of the plan;
`at` follows the `horde.plan.executor` rules (None once ended).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from horde.errors import UsageError
from horde.plan.duration import parse_duration
from horde.plan.executor import Target

__all__ = ["RateStage", "ArrivalRate", "parse_rate", "parse_rate_stages"]

_FORMAT = ('arrival stages are "DURATION:RATE" separated by commas, '
           'e.g. "30s:100,2m:100,30s:0" (RATE in iterations per second)')


@dataclass(frozen=True)
class RateStage:
    duration: float
    rate: float


def parse_rate(text: str | float, what: str = "the arrival rate") -> float:
    """A rate in iterations per second: a finite number >= 0 (an optional ``/s``)."""
    raw = str(text).strip()
    number = raw[:-2] if raw.endswith("/s") else raw
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"{what} must be a number of iterations per second, "
                         f"not {raw!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"{what} must be a finite number >= 0, not {raw!r}")
    return value


def parse_rate_stages(spec: str | Sequence[str]) -> tuple[RateStage, ...]:
    """``"30s:100,2m:100,30s:0"`` (or a list of ``"30s:100"`` items, as a config file has them)."""
    items = spec.split(",") if isinstance(spec, str) else [str(item) for item in spec]
    if not items or all(not item.strip() for item in items):
        raise UsageError(f"no arrival stages given: {_FORMAT}")
    stages = []
    for item in items:
        duration, sep, rate = item.strip().partition(":")
        if not sep or not duration.strip() or not rate.strip():
            raise UsageError(f"invalid arrival stage {item.strip()!r}: {_FORMAT}")
        stages.append(RateStage(parse_duration(duration.strip()),
                                parse_rate(rate, f"the rate of stage {item.strip()!r}")))
    return tuple(stages)


@dataclass(frozen=True)
class ArrivalRate:
    """The open model's plan; see the module docstring."""

    start_rate: float
    users: int
    stages: tuple[RateStage, ...] = ()
    max_lateness: float = 10.0
    """Seconds an iteration may wait for a free user before it is dropped (--max-lateness)."""
    index: int = 0
    """This process's place among `count` (see `share`)."""
    count: int = 1
    first: int = 0
    """The fleet-wide iteration this share starts at (a split made during the test)."""
    until: int | None = None
    """The fleet-wide iteration this share ends before (None: the end of the plan)."""

    def __post_init__(self) -> None:
        Target(self.users, 1.0)  # the same checks on -u
        if self.users < 1:
            raise UsageError("the open model needs at least one user (-u) to run iterations")
        for rate in (self.start_rate, *(s.rate for s in self.stages)):
            if not (math.isfinite(rate) and rate >= 0):
                raise UsageError(f"an arrival rate must be a finite number >= 0, not {rate!r}")
        for stage in self.stages:
            if not (math.isfinite(stage.duration) and stage.duration >= 0):
                raise UsageError(f"invalid arrival stage {stage}: {_FORMAT}")
        if not (math.isfinite(self.max_lateness) and self.max_lateness > 0):
            raise UsageError(f"--max-lateness must be a duration > 0, not {self.max_lateness!r}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"share {self.index} of {self.count}")
        if self.first < 0 or (self.until is not None and self.until < self.first):
            raise ValueError(f"a share from iteration {self.first} until {self.until}")
        if not self.stages and self.start_rate <= 0:
            raise UsageError("--arrival-rate must be > 0 (or give --arrival-stages)")

    # --- the fleet-wide rate ---------------------------------------------------------

    @property
    def duration(self) -> float | None:
        """Seconds until the plan ends; None: never (a constant rate)."""
        return sum(s.duration for s in self.stages) if self.stages else None

    def _segments(self) -> list[tuple[float, float, float, float]]:
        """(begin, duration, rate at begin, rate at end) of each stage."""
        out, begin, before = [], 0.0, self.start_rate
        for stage in self.stages:
            out.append((begin, stage.duration, before, stage.rate))
            begin, before = begin + stage.duration, stage.rate
        return out

    def rate_at(self, t: float) -> float | None:
        """Fleet-wide iterations per second at ``t``; None once the plan has ended."""
        t = max(0.0, t)
        if not self.stages:
            return self.start_rate
        for begin, d, a, b in self._segments():
            if t < begin + d:
                return a + (b - a) * (t - begin) / d
        return None

    def iterations_until(self, t: float) -> float:
        """The integral of the fleet-wide rate over [0, t]: iterations due by ``t``."""
        t = max(0.0, t)
        if not self.stages:
            return self.start_rate * t
        total = 0.0
        for begin, d, a, b in self._segments():
            x = min(t - begin, d)
            if x <= 0:
                break
            total += a * x + (b - a) * x * x / (2 * d)
        return total

    def _fleet_time(self, m: float) -> float | None:
        """When the integral reaches ``m``; None if it never does before the end."""
        if not self.stages:
            return m / self.start_rate
        done = 0.0
        for begin, d, a, b in self._segments():
            area = (a + b) * d / 2
            if m <= done + area and area > 0:
                rest = m - done
                if rest <= 0:
                    return begin
                if a == b:
                    return begin + rest / a
                # a*x + (b-a)/(2d)*x^2 = rest, in the form stable when a is 0.
                x = 2 * rest / (a + math.sqrt(max(0.0, a * a + 2 * (b - a) * rest / d)))
                return begin + min(x, d)
            done += area
        return None

    # --- this process's schedule ------------------------------------------------------

    def share(self, index: int, count: int) -> ArrivalRate:
        """Process ``index`` of ``count``: every ``count``-th iteration, from the ``index``-th."""
        return replace(self, index=index, count=count)

    def first_due(self, t: float) -> int:
        """The first fleet-wide iteration due at or after test time ``t``."""
        return max(0, math.ceil(self.iterations_until(t) - 1e-9))

    def start_time(self, k: int) -> float | None:
        """Test time at which this process's iteration ``k`` (from 0) is due; None: never."""
        g = self.first + k * self.count + self.index
        if self.until is not None and g >= self.until:
            return None
        t = self._fleet_time(float(g))
        duration = self.duration
        if t is None or (duration is not None and t >= duration):
            return None
        return t

    def at(self, t: float) -> Target | None:
        """The users to hold (all of ``-u``, started at once); None after the last stage."""
        duration = self.duration
        if duration is not None and t >= duration:
            return None
        return Target(self.users, float(max(self.users, 1)) * 20.0)
