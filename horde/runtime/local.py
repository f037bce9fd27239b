"""A load test in this process: users, statistics, health, the clock.

`LocalRunner` is the engine of a local run and of each worker process. The
start and stop steps and the plan it follows are `RunBase`'s
(horde.runtime.runbase); what is its own:

* the `Population` of users, moved towards absolute per-class targets;
* `RequestStats`, where every request is recorded (the hot path), and a
  once-a-second tick that folds it into a `StatsDelta`;
* where the delta goes: into this process's own `StatsAggregate` for a local
  run, or to `on_delta` (a worker sends it to the master) when given;
* the `HealthMonitor`;
* in the open model (the plan is an `ArrivalRate`): the `Pacer` that makes
  iterations due, and the `PacedRecorder`/`PacedAggregate` pair that keeps
  service times, iterations and drops (horde.stats.openmodel).

Test time is the `TestClock`'s (horde.runtime.testclock); a worker's deltas
are re-keyed by the master's clock instead. A worker follows no plan of its
own: its master sends absolute targets (`start(targets=...)`, `set_targets`).

The runner never prints: views (console, web, reports) read `snapshot()`,
`info()` and the per-second `on_second` callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from horde._version import __version__
from horde.events import Events
from horde.plan.arrival import ArrivalRate
from horde.plan.executor import Executor
from horde.report.model import GeneratorHealth, RunInfo, WorkerSummary
from horde.runtime.dispatch import targets_for
from horde.runtime.environment import RunShared
from horde.runtime.guards import RunGuards
from horde.runtime.health import HealthMonitor, HealthSample
from horde.runtime.lifecycle import RunOptions, RunState
from horde.runtime.limits import OPEN_FILES_ADVICE, TOO_MANY_NAMES_ADVICE
from horde.runtime.pacer import Pacer
from horde.runtime.population import Population
from horde.runtime.runbase import RunBase
from horde.stats import LatencyTable, RequestStats, StatsAggregate, StatsDelta, StatsSnapshot
from horde.stats.openmodel import PacedAggregate, PacedDelta, PacedRecorder
from horde.user import User

__all__ = ["LocalRunner", "RunOptions", "RunState"]

log = logging.getLogger(__name__)


class LocalRunner(RunBase):
    def __init__(
        self,
        classes: Sequence[type[User]],
        options: RunOptions,
        events: Events,
        *,
        on_second: Callable[[int, HealthSample], None] | None = None,
        on_delta: Callable[[StatsDelta], None] | None = None,
        plan: Executor | None = None,
        on_paced: Callable[[PacedDelta], None] | None = None,
        arrival_offset: float = 0.0,
    ) -> None:
        """`arrival_offset`: the open model's test time at this test's start (a worker
        that joins a running test follows the fleet's schedule from there)."""
        super().__init__(classes, options, events, asyncio.get_running_loop(), plan)
        self.pacer: Pacer | None = None  # the open model's schedule, made at each test start
        self._paced: PacedRecorder | None = None
        self.paced_aggregate = PacedAggregate()
        self._on_paced = on_paced  # a worker in the open model: the master merges it
        self._arrival_offset = arrival_offset
        self.stats = RequestStats()
        self.aggregate = StatsAggregate()
        self.health = HealthMonitor(self._loop)
        self._guards = RunGuards()  # time.sleep in users, GC after ramps: runtime/guards.py
        self.population = Population(classes, self._shared(options.host), self._loop)
        self._warned_emfile = False
        self._warned_names = False
        self._listener_error = False
        self._on_second_cb = on_second
        self._on_delta = on_delta
        self.last_health = HealthSample(0.0, 0.0)

    @property
    def arrival(self) -> ArrivalRate | None:
        """The open model's plan (this process's share), or None in the closed model."""
        return self.plan if isinstance(self.plan, ArrivalRate) else None

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
                hook.notify(request_type=method, name=name, response_time=latency_us / 1000.0,
                          response_length=size, exception=error)
            except Exception as exc:  # noqa: BLE001 - a listener must not break the client
                self.stats.record_exception("request event listener", exc)

        return record_and_fire

    def _shared(self, host: str | None) -> RunShared:
        if self.pacer is not None:
            self._paced = PacedRecorder(self._record_fn())
        return RunShared(
            host=host,
            record=self._record_fn(),
            events=self.events,
            tags=self.options.tags,
            exclude_tags=self.options.exclude_tags,
            request_timeout=self.options.request_timeout,
            local_addresses=self.options.local_addresses,
            record_exception_fn=self.stats.record_exception,
            pacer=self.pacer,
            paced_record=self._paced.record if self.pacer is not None and self._paced else None,
        )

    # --- control ------------------------------------------------------------

    def targets_for(self, users: int) -> dict[str, int]:
        return targets_for(self.classes, users)

    async def start(self, users: int, spawn_rate: float, host: str | None = None,
                    run_time: float | None = None,
                    targets: Mapping[str, int] | None = None) -> None:
        """Begin a test (or, if one runs, change its target).

        ``targets`` (absolute per-class counts, a worker's share from the
        master) replaces the plan when given: a worker follows its master.
        """
        if targets is None:
            await super().start(users, spawn_rate, host, run_time)
            return
        if self._life.active:
            self.set_targets(targets, spawn_rate)
            return
        unknown = set(targets) - {c.__name__ for c in self.classes}
        if unknown:  # the caller's error, raised before anything has started
            raise KeyError(f"unknown user classes {sorted(unknown)}")
        await self._begin(None, host, run_time)
        self.set_targets(targets, spawn_rate)

    def switch_arrival(self, plan: ArrivalRate) -> None:
        """A new split of the fleet's rate (a worker joined or left): from ``plan.first`` on."""
        if self.pacer is not None and self._life.active:
            self.plan = plan
            self.pacer.switch(plan)

    def set_targets(self, targets: Mapping[str, int], spawn_rate: float) -> None:
        """Ramp to absolute per-class counts (unknown class names: KeyError)."""
        self.spawn_rate = spawn_rate
        self._set_goal(None, targets)

    # --- RunBase ------------------------------------------------------------

    def _begin_test(self) -> None:
        arrival = self.arrival
        if self.pacer is not None:
            self.pacer.close()
        # None in the closed model: a test after an open-model one (the web UI) paces nothing.
        self.pacer = (Pacer(arrival, self._loop, arrival.max_lateness,
                            offset=self._arrival_offset)
                      if arrival is not None else None)
        # Built after test_start: its listeners may have added request listeners.
        self.population.replace_shared(self._shared(self.options.host))
        self._listener_error = False
        self.health.start()
        self._guards.begin()

    def _apply(self, counts: Mapping[str, int], spawn_rate: float) -> None:
        self.population.set_target(counts, spawn_rate)
        self._loop.create_task(self._mark_running())

    async def _mark_running(self) -> None:
        # Sooner than the next second: the UI shows "running" as the ramp ends.
        await self.population.ramp_done.wait()
        self._guards.ramp_done()
        self._check_ramp()

    def _ramp_done(self) -> bool:
        return self.population.ramp_done.is_set()

    async def _stop_load(self, grace: float | None) -> None:
        stop_timeout = self.options.stop_timeout if grace is None else grace
        if self.pacer is not None:
            self.pacer.close()  # no iteration falls due any more; idle users stop at once
        await self.population.stop_all(stop_timeout, self.options.request_timeout)

    def _end_test(self) -> None:
        self.health.stop()
        self._guards.end()
        if self._listener_error:
            self._tick()  # a failing test_stop listener is counted with the results

    def _listener_failed(self, where: str, exc: Exception) -> None:
        self.stats.record_exception(where, exc)
        self._listener_error = True

    def force_stop(self) -> None:
        self.population.force_stop()

    def reset_stats(self) -> None:
        self.stats.take_delta()
        self.aggregate.reset()
        if self._paced is not None:
            self._paced.take_delta(0, 0)
        if self.pacer is not None:
            self.pacer.take_counts()
        self.paced_aggregate.reset()
        self.clock.mark_stats_reset()

    # --- the clock ----------------------------------------------------------

    def _iterations_closed(self) -> int | None:
        return self.paced_aggregate.last_closed if self.pacer is not None else None

    def _close_second(self) -> None:
        self._tick()

    def _tick(self) -> None:
        delta = self.stats.take_delta()
        self._check_emfile(delta)
        if self._on_delta is not None:
            self._on_delta(delta)  # a worker: the master merges it, keyed by its own clock
            if self.pacer is not None and self._paced is not None and self._on_paced is not None:
                self._on_paced(self._paced.take_delta(*self.pacer.take_counts()))
        else:
            self.aggregate.apply(delta, self._second)
            self.aggregate.close_second(self._second, self.population.count)
            if self.pacer is not None and self._paced is not None:
                started, dropped = self.pacer.take_counts()
                self.paced_aggregate.apply(self._paced.take_delta(started, dropped), self._second)
                self.paced_aggregate.close_second(self._second)
            if self.aggregate.names_overflowed and not self._warned_names:
                self._warned_names = True
                log.warning(TOO_MANY_NAMES_ADVICE)
        self.last_health = self.health.sample()
        self._guards.users_now(self.population.count)
        if self._on_second_cb is not None:
            self._on_second_cb(self._second, self.last_health)

    def _check_emfile(self, delta: StatsDelta) -> None:
        if self._warned_emfile:
            return
        if any(e.error.startswith("TooManyOpenFiles") for e in delta.errors):
            self._warned_emfile = True
            self.health.note(OPEN_FILES_ADVICE)  # the log, and generator.warnings

    # --- views --------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.clock.elapsed

    @property
    def started_at(self) -> datetime | None:
        return self.clock.started_at

    def snapshot(self) -> StatsSnapshot:
        snapshot = self.aggregate.snapshot(self.clock.stats_elapsed)
        arrival = self.arrival
        if arrival is None or self.pacer is None:
            return snapshot
        return self.paced_aggregate.decorate(snapshot, arrival.rate_at(self.elapsed) or 0.0,
                                             arrival.max_lateness)

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        return self.aggregate.latency_table(edges_us)

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
