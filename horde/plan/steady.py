"""``-u`` users ramped at ``-r`` users/s, kept until the test is stopped (the closed model).

The plan of every run that names neither stages nor a shape. It never ends on
its own: ``-t``, the web UI or Ctrl-C stop the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from horde.plan.executor import Target

__all__ = ["SteadyUsers"]


@dataclass(frozen=True)
class SteadyUsers:
    users: int
    spawn_rate: float

    def __post_init__(self) -> None:
        Target(self.users, self.spawn_rate)  # the same checks, raised at construction

    def at(self, t: float) -> Target:
        return Target(self.users, self.spawn_rate)
