"""The lifecycle of a run: its states, the moves between them, its options.

One table for every role. `LocalRunner` and `MasterRunner` (through
`horde.runtime.runbase`) move a `Lifecycle`; nothing else assigns a state.

States (the string values are what the web UI, its JSON API and the worker
messages show, so they never change):

* ``ready``    - no test has started yet;
* ``spawning`` - a test runs and its users are still ramping to the plan's target;
* ``running``  - a test runs and its users are at the target;
* ``stopping`` - the stop has begun: users finish (``--stop-timeout``), requests in flight end;
* ``stopped``  - the test is over; its statistics stay until the next start.

Invariants:

* the only moves are those in `TRANSITIONS`; any other raises
  `IllegalTransition` (a bug in horde, never a user's mistake);
* ``stopping`` always ends in ``stopped``: there is no way back to a running
  test without a new start;
* a new target during a test (``running -> spawning``, or ``spawning ->
  spawning``) is allowed, a start during ``stopping`` is not (callers wait
  for ``stopped`` first).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from horde.errors import IllegalTransition
from horde.http.source import LocalAddresses

__all__ = ["RunState", "TRANSITIONS", "Lifecycle", "RunOptions", "ACTIVE"]


class RunState(StrEnum):
    READY = "ready"
    SPAWNING = "spawning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.READY: frozenset({RunState.SPAWNING, RunState.STOPPED}),
    RunState.SPAWNING: frozenset({RunState.SPAWNING, RunState.RUNNING, RunState.STOPPING}),
    RunState.RUNNING: frozenset({RunState.SPAWNING, RunState.STOPPING}),
    RunState.STOPPING: frozenset({RunState.STOPPED}),
    RunState.STOPPED: frozenset({RunState.SPAWNING}),
}
"""Allowed moves: state -> the states it may go to next."""

ACTIVE = frozenset({RunState.SPAWNING, RunState.RUNNING})
"""A test runs: users exist or are being started."""


class Lifecycle:
    """The current state of one run and the table that guards it."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state = RunState.READY

    @property
    def state(self) -> RunState:
        return self._state

    @property
    def active(self) -> bool:
        return self._state in ACTIVE

    @property
    def ending(self) -> bool:
        """Stopping or stopped: a stop needs no new start."""
        return self._state in (RunState.STOPPING, RunState.STOPPED)

    def can(self, new: RunState) -> bool:
        return new in TRANSITIONS[self._state]

    def to(self, new: RunState) -> None:
        if new not in TRANSITIONS[self._state]:
            raise IllegalTransition(f"a run cannot go from {self._state} to {new}")
        self._state = new


@dataclass(frozen=True)
class RunOptions:
    """What every user of a run shares, and how long a stop may take."""

    host: str | None = None
    tags: frozenset[str] | None = None
    exclude_tags: frozenset[str] | None = None
    stop_timeout: float = 0.0
    request_timeout: float = 60.0
    local_addresses: LocalAddresses = LocalAddresses()
    """Source addresses of this process's connections (--local-ips; machine-local,
    never shipped from a master)."""
