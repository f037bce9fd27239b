"""What a report needs besides the statistics: facts about the run and the generator.

`RunInfo` is filled by the runtime (local runner or master) at the end of a
run, or at every refresh for live views; `checks` is added by whoever holds the
thresholds (`with_checks`). Plain frozen dataclasses, no other logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from horde._version import __version__
from horde.stats.checks import CheckResult, CheckWatch
from horde.stats.snapshot import StatsSnapshot

__all__ = ["GeneratorHealth", "WorkerSummary", "RunInfo", "CheckResult", "with_checks"]


@dataclass(frozen=True, slots=True)
class GeneratorHealth:
    """Was the load generator itself the bottleneck? (whole run, all processes)."""

    cpu_percent_max: float = 0.0
    loop_lag_p99_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """One worker of a distributed run, as the master last saw it."""

    id: str
    host: str
    state: str
    users: int
    requests: int
    cpu_percent_max: float = 0.0
    loop_lag_p99_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)
    rps: float = 0.0
    """Requests per second over the last reported second."""
    cpu_percent: float = 0.0
    """CPU use in the last heartbeat, percent of one core."""
    memory_bytes: int = 0
    """Resident memory in the last heartbeat."""
    heartbeat_age_s: float = 0.0
    """Seconds since the master last heard from this worker."""
    saturated: bool = False
    """CPU above 90% or loop-lag p99 above 10 ms, sustained, or silent while
    connected (decided by the master)."""
    loop_lag_ms: float = 0.0
    """Loop-lag p99 in the last heartbeat (its last second); `loop_lag_p99_ms` is the run's."""
    spawn_rate: float = 0.0
    """Users a second it starts now, after back-pressure (0: not ramping)."""
    capacity: int | None = None
    """Users it can hold (open-file limit minus a margin); None: no known limit."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Facts about a run; `workers` is empty for a local run."""

    started_at: str = ""
    """ISO 8601 UTC, e.g. "2025-01-31T12:00:00Z"."""
    duration_s: float = 0.0
    users: int = 0
    """Peak (or target) number of users."""
    host: str = ""
    horde_version: str = __version__
    generator: GeneratorHealth = field(default_factory=GeneratorHealth)
    workers: list[WorkerSummary] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    """The --check thresholds judged on this run's figures (filled by the caller
    that knows the checks: the command line, the web UI), in the order given."""
    unplaced_users: int = 0
    """Users of the target that fit on no worker (a distributed run's capacity)."""
    unplaced_advice: str = ""

    @property
    def warnings(self) -> list[str]:
        """Unplaced users, generator warnings, then each worker's, prefixed with its id."""
        out = [self.unplaced_advice] if self.unplaced_users and self.unplaced_advice else []
        out.extend(self.generator.warnings)
        for w in self.workers:
            out.extend(f"worker {w.id}: {msg}" for msg in w.warnings)
        return out


def with_checks(info: RunInfo, snapshot: StatsSnapshot, watch: CheckWatch | None) -> RunInfo:
    """`info` with `watch`'s checks judged on `snapshot` (as it is without checks)."""
    if not watch:
        return info
    return replace(info, checks=watch.results(snapshot, info.started_at))
