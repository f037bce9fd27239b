"""What a view (the web UI, its JSON API) may ask of a run.

`LocalRunner` implements it for a local run; `MasterRunner` for a fleet
(tests/runtime/test_control.py checks both with mypy). The web layer talks to
this Protocol only, never to a role class; the command line also needs
`force_stop` and `wait_quit` (`StoppableController`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from horde.plan.executor import Executor
from horde.report.model import RunInfo, WorkerSummary
from horde.runtime.health import HealthSample
from horde.runtime.plantrace import LoadModel, PlanTrace
from horde.stats import LatencyTable, StatsSnapshot

__all__ = ["Controller", "StoppableController"]


class Controller(Protocol):
    @property
    def state(self) -> str:
        """A `horde.runtime.lifecycle.RunState`: "ready", "spawning", "running",
        "stopping" or "stopped" (a StrEnum, so it compares and serialises as those)."""

    target_users: int
    spawn_rate: float
    trace: PlanTrace
    """The plan's target and what ran, per test second (the web UI's target curves)."""

    @property
    def load_model(self) -> LoadModel:
        """The model the next (or current) test follows; the script's shape, if any."""

    def choose_plan(self, plan: Executor | None) -> None:
        """The plan of the next test (None: ``-u``/``-r``); a UsageError while a test
        runs or when the script's load shape drives every test."""

    async def start(self, users: int, spawn_rate: float, host: str | None = None,
                    run_time: float | None = None) -> None:
        """Start a test; when one is running, change its target instead."""

    def update(self, users: int, spawn_rate: float) -> None:
        """Change the user target of the running test."""

    def request_stop(self) -> None:
        """Begin stopping; returns at once."""

    async def wait_stopped(self) -> None: ...

    def reset_stats(self) -> None:
        """Forget the statistics so far; the test goes on."""

    def snapshot(self) -> StatsSnapshot: ...

    def info(self) -> RunInfo: ...

    def counts(self) -> Mapping[str, int]:
        """Users running now, per class."""

    def current_health(self) -> HealthSample:
        """The generator's health over the last second (the worst worker's, on a master)."""

    def workers(self) -> list[WorkerSummary]:
        """The fleet; empty for a local run."""

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        """Per-endpoint counts and latency counts below each edge (a metrics scrape)."""


class StoppableController(Controller, Protocol):
    """What the command line needs beyond a view: the second Ctrl-C."""

    def force_stop(self) -> None:
        """Stop at once: requests in flight are abandoned (not counted)."""

    async def wait_quit(self) -> None:
        """Until the run itself asked to end (`request_quit`: a script's `runner.quit()`)."""
