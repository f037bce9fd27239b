"""A load test in this process: users, statistics, health, the clock.

`LocalRunner` is the engine of a local run and of each worker process. It owns:

* the `Population` of users, moved towards absolute per-class targets;
* `RequestStats`, where every request is recorded (the hot path), and a
  once-a-second tick that folds it into a `StatsDelta`;
* where the delta goes: into this process's own `StatsAggregate` for a local
  run, or to `on_delta` (a worker sends it to the master) when given;
* the `HealthMonitor`.

Test time is the `TestClock`'s (horde.runtime.testclock); a worker's deltas
are re-keyed by the master's clock instead.

The runner never prints: views (console, web, reports) read `snapshot()`,
`info()` and the per-second `on_second` callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from horde._version import __version__
from horde.events import Events
from horde.report.model import GeneratorHealth, RunInfo, WorkerSummary
from horde.runtime.dispatch import targets_for
from horde.runtime.environment import RunShared
from horde.runtime.health import HealthMonitor, HealthSample
from horde.runtime.limits import OPEN_FILES_ADVICE, TOO_MANY_NAMES_ADVICE
from horde.runtime.population import Population
from horde.runtime.testclock import TestClock
from horde.stats import RequestStats, StatsAggregate, StatsDelta, StatsSnapshot
from horde.user import User

__all__ = ["LocalRunner", "RunOptions", "RunState"]

log = logging.getLogger(__name__)

RunState = Literal["ready", "spawning", "running", "stopping", "stopped"]


@dataclass(frozen=True)
class RunOptions:
    host: str | None = None
    tags: frozenset[str] | None = None
    exclude_tags: frozenset[str] | None = None
    stop_timeout: float = 0.0
    request_timeout: float = 60.0


class LocalRunner:
    def __init__(
        self,
        classes: Sequence[type[User]],
        options: RunOptions,
        events: Events,
        *,
        on_second: Callable[[int, HealthSample], None] | None = None,
        on_delta: Callable[[StatsDelta], None] | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.classes = tuple(classes)
        self.options = options
        self.events = events
        self.stats = RequestStats()
        self.aggregate = StatsAggregate()
        self.health = HealthMonitor(self._loop)
        self.population = Population(classes, self._shared(options.host), self._loop)
        self.state: str = "ready"  # a RunState; str so it satisfies Controller
        self.target_users = 0
        self.spawn_rate = 1.0
        self.clock = TestClock(self._loop)
        self._second = 0
        self._stopped = asyncio.Event()
        self._stop_task: asyncio.Task[None] | None = None
        self._warned_emfile = False
        self._warned_names = False
        self._on_second = on_second
        self._on_delta = on_delta
        self.last_health = HealthSample(0.0, 0.0)

    # --- wiring -------------------------------------------------------------

    def _record_fn(self) -> Callable[[str, str, int, int, str | None, int], None]:
        record = self.stats.record
        hook = self.events.request
        if not hook:
            return record  # the common case: nothing between the client and the stats

        def record_and_fire(method: str, name: str, latency_us: int, size: int,
                            error: str | None, ttfb_us: int) -> None:
            record(method, name, latency_us, size, error, ttfb_us)
            try:
                hook.fire(request_type=method, name=name, response_time=latency_us / 1000.0,
                          response_length=size, exception=error)
            except Exception as exc:  # noqa: BLE001 - a listener must not break the client
                self.stats.record_exception("request event listener", exc)

        return record_and_fire

    def _shared(self, host: str | None) -> RunShared:
        return RunShared(
            host=host,
            record=self._record_fn(),
            events=self.events,
            tags=self.options.tags,
            exclude_tags=self.options.exclude_tags,
            request_timeout=self.options.request_timeout,
            record_exception_fn=self.stats.record_exception,
        )

    # --- control ------------------------------------------------------------

    def targets_for(self, users: int) -> dict[str, int]:
        return targets_for(self.classes, users)

    async def start(self, users: int, spawn_rate: float, host: str | None = None,
                    run_time: float | None = None,
                    targets: Mapping[str, int] | None = None) -> None:
        """Begin a test (or, if one runs, change its target).

        ``targets`` (absolute per-class counts, a worker's share from the
        master) replaces the split of ``users`` by weight when given.
        """
        if self.state in ("spawning", "running"):
            if targets is not None:
                self.set_targets(targets, spawn_rate)
            else:
                self.update(users, spawn_rate)
            return
        if self.state == "stopping":
            await self._stopped.wait()
        # A bad count is the caller's error, raised before anything has started.
        wanted = dict(targets) if targets is not None else self.targets_for(users)
        if host is not None:
            self.options = replace(self.options, host=host)
        if self.state == "stopped":
            self.reset_stats()  # a new test starts from zero, as in the UI's "new test"
        try:
            self.events.test_start.fire(environment=self)
        except Exception as exc:  # noqa: BLE001 - reported with the results; the test goes on
            self.stats.record_exception("test_start listener", exc)
        # Built after test_start: its listeners may have added request listeners.
        self.population.replace_shared(self._shared(self.options.host))
        self._stop_task = None
        self._second = 0
        self._stopped.clear()
        self.health.start()
        self.clock.begin(self._tick, run_time, self.request_stop)
        self.set_targets(wanted, spawn_rate)

    def update(self, users: int, spawn_rate: float) -> None:
        self.set_targets(self.targets_for(users), spawn_rate)

    def set_targets(self, targets: Mapping[str, int], spawn_rate: float) -> None:
        """Ramp to absolute per-class counts (unknown class names: KeyError)."""
        self.population.set_target(targets, spawn_rate)
        self.target_users, self.spawn_rate = sum(targets.values()), spawn_rate
        self.state = "spawning"
        self._loop.create_task(self._mark_running())

    async def _mark_running(self) -> None:
        await self.population.ramp_done.wait()
        if self.state == "spawning":
            self.state = "running"

    def request_stop(self) -> None:
        """Stop soon (from a timer, a signal handler or the UI); `wait_stopped` tells when."""
        if self.state in ("stopping", "stopped") or self._stop_task is not None:
            return
        self._stop_task = self._loop.create_task(self.stop())

    async def stop(self, grace: float | None = None) -> None:
        """Stop every user; ``grace`` overrides ``--stop-timeout`` (0: close the gates now)."""
        if self.state in ("stopping", "stopped"):
            await self._stopped.wait()
            return
        if self.state == "ready":
            self.state = "stopped"
            self._stopped.set()
            return
        self.state = "stopping"
        self.clock.cancel_run_timer()
        stop_timeout = self.options.stop_timeout if grace is None else grace
        await self.population.stop_all(stop_timeout, self.options.request_timeout)
        self.clock.end()  # a stopped test's duration and rates stay put
        self._tick()  # the last partial second, so nothing recorded is left behind
        self.health.stop()
        try:
            self.events.test_stop.fire(environment=self)
        except Exception as exc:  # noqa: BLE001 - report, keep the results
            self.stats.record_exception("test_stop listener", exc)
            self._tick()
        self.state = "stopped"
        self._stopped.set()

    def force_stop(self) -> None:
        self.population.force_stop()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def reset_stats(self) -> None:
        self.stats.take_delta()
        self.aggregate.reset()
        self.clock.mark_stats_reset()

    # --- the clock ----------------------------------------------------------

    def _tick(self) -> None:
        delta = self.stats.take_delta()
        self._check_emfile(delta)
        if self._on_delta is not None:
            self._on_delta(delta)  # a worker: the master merges it, keyed by its own clock
        else:
            self.aggregate.apply(delta, self._second)
            self.aggregate.close_second(self._second, self.population.count)
            if self.aggregate.names_overflowed and not self._warned_names:
                self._warned_names = True
                log.warning(TOO_MANY_NAMES_ADVICE)
        self.last_health = self.health.sample()
        if self._on_second is not None:
            self._on_second(self._second, self.last_health)
        self._second += 1

    def _check_emfile(self, delta: StatsDelta) -> None:
        if self._warned_emfile:
            return
        if any(e.error.startswith("TooManyOpenFiles") for e in delta.errors):
            self._warned_emfile = True
            log.warning(OPEN_FILES_ADVICE)

    # --- views --------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.clock.elapsed

    @property
    def started_at(self) -> datetime | None:
        return self.clock.started_at

    def snapshot(self) -> StatsSnapshot:
        return self.aggregate.snapshot(self.clock.stats_elapsed)

    def info(self) -> RunInfo:
        summary = self.health.summary
        return RunInfo(
            horde_version=__version__,
            started_at=(self.started_at or datetime.now(UTC)).isoformat(),
            duration_s=round(self.elapsed, 3),
            users=self.target_users,
            host=self.options.host or "",
            generator=GeneratorHealth(
                cpu_percent_max=summary.cpu_percent_max,
                loop_lag_p99_ms=summary.loop_lag_p99_ms,
                warnings=summary.warnings(),
            ),
            workers=[],
        )

    def counts(self) -> Mapping[str, int]:
        return self.population.counts()

    def current_health(self) -> HealthSample:
        return self.last_health

    def workers(self) -> list[WorkerSummary]:
        return []

    @property
    def host(self) -> str | None:
        return self.options.host
