"""The steps of a run that a local run and a master share: start, follow the plan, stop.

`RunBase` owns the `Lifecycle`, the `TestClock`, the plan (an executor of
`horde.plan`) and the order of the start and stop steps. A role subclass
(`LocalRunner`: a population in this process; `MasterRunner`: a fleet) fills
in only what differs:

* `_begin_test()`      - get ready for a new test (before the first target);
* `_apply(counts, r)`  - ramp to these fleet-wide per-class counts at ``r`` users/s;
* `_ramp_done()`       - whether the users are at the last target applied;
* `_stop_load(grace)`  - stop every user (a population, or every worker) and wait;
* `_close_second()`    - once a second: fold the statistics, tell the views;
* `_end_test()`        - after the stop (the last statistics are in);
* `_listener_failed()` - count a test_start/test_stop listener's exception.

Invariants:

* the state moves only through `Lifecycle.to` (horde.runtime.lifecycle);
* the plan is asked at start (t = 0) and after every closed second; a target
  that differs from the last one is applied, so a plan that says the same
  thing every second costs nothing; a plan that says None stops the run;
* a test started from ``stopped`` begins with fresh statistics;
* ``stop`` is idempotent: a second call waits for the first to finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

from horde.errors import UsageError
from horde.events import Events
from horde.plan import class_targets
from horde.plan.executor import Executor, Target
from horde.plan.shape import CommonOptions, ShapePlan
from horde.plan.stages import RampingStages
from horde.plan.steady import SteadyUsers
from horde.runtime.dispatch import specs
from horde.runtime.lifecycle import Lifecycle, RunOptions, RunState
from horde.runtime.plantrace import LoadModel, PlanTrace, describe, target_at
from horde.runtime.testclock import TestClock
from horde.user import User

__all__ = ["RunBase"]

log = logging.getLogger(__name__)


class RunBase:
    def __init__(self, classes: Sequence[type[User]], options: RunOptions, events: Events,
                 loop: asyncio.AbstractEventLoop, plan: Executor | None) -> None:
        self._loop = loop
        self.classes = tuple(classes)
        self.options = options
        self.events = events
        self.plan = plan
        """The next (or current) test's plan: the command line's (stages, the open model),
        one the web UI chose (`choose_plan`), or the script's shape; None: ``-u``/``-r``."""
        self._shape = plan if isinstance(plan, ShapePlan) else None
        self.trace = PlanTrace()
        """The plan's target and what ran, per test second (horde.runtime.plantrace)."""
        self.clock = TestClock(loop)
        self.target_users = 0
        self.spawn_rate = 1.0
        self._life = Lifecycle()
        self._executor: Executor | None = None  # None: targets come from outside (a worker)
        self._goal: Target | None = None
        self._second = 0
        self._stopped = asyncio.Event()
        self._stop_task: asyncio.Task[None] | None = None
        self._quit = asyncio.Event()

    # --- what a role fills in ------------------------------------------------------------

    def _begin_test(self) -> None:
        raise NotImplementedError

    def _apply(self, counts: Mapping[str, int], spawn_rate: float) -> None:
        raise NotImplementedError

    def _ramp_done(self) -> bool:
        raise NotImplementedError

    async def _stop_load(self, grace: float | None) -> None:
        raise NotImplementedError

    def _close_second(self) -> None:
        raise NotImplementedError

    def _end_test(self) -> None:
        raise NotImplementedError

    def _listener_failed(self, where: str, exc: Exception) -> None:
        raise NotImplementedError

    def counts(self) -> Mapping[str, int]:
        raise NotImplementedError

    def _iterations_closed(self) -> int | None:
        """The open model: iterations started in the second just closed (None: closed model)."""
        return None

    # --- state ---------------------------------------------------------------------------

    @property
    def state(self) -> RunState:
        return self._life.state

    @property
    def user_count(self) -> int:
        """Users running now (Locust's name; a shape's `get_current_user_count`)."""
        return sum(self.counts().values())

    @property
    def load_model(self) -> LoadModel:
        """The model the next (or current) test follows, and the script's shape if any."""
        shape = type(self._shape.shape).__name__ if self._shape is not None else None
        return describe(self.plan, shape)

    def choose_plan(self, plan: Executor | None) -> None:
        """The plan of the next test (None: ``-u``/``-r``); the web UI's start form.

        Refused (UsageError) while a test runs, and when the script has a load
        shape: the shape drives every test.
        """
        if self._life.active or self._life.state is RunState.STOPPING:
            raise UsageError("a test is running: stop it before starting another load model")
        if self._shape is not None:
            if plan is self._shape:
                return
            raise UsageError(f"the script's load shape {type(self._shape.shape).__name__} "
                             "drives every test: start it without another load model")
        self.plan = plan

    @property
    def uses_own_plan(self) -> bool:
        """True when the script or ``--stages`` decide the users, not ``-u``/``-r``."""
        return self.plan is not None

    # --- start ---------------------------------------------------------------------------

    def _executor_for(self, users: int, spawn_rate: float,
                      run_time: float | None) -> Executor:
        if self.plan is None:
            return SteadyUsers(users, spawn_rate)
        if isinstance(self.plan, ShapePlan):
            self.plan.start(self, CommonOptions(users, spawn_rate, run_time))
        return self.plan

    async def start(self, users: int, spawn_rate: float, host: str | None = None,
                    run_time: float | None = None) -> None:
        """Begin a test (or, if one runs, change its target: `update`)."""
        if self._life.active:
            self.update(users, spawn_rate)
            return
        await self._begin(self._executor_for(users, spawn_rate, run_time), host, run_time)

    async def _begin(self, executor: Executor | None, host: str | None,
                     run_time: float | None) -> Target | None:
        if self._life.state is RunState.STOPPING:
            await self._stopped.wait()
        # The first target is computed before anything starts: a bad count (or a
        # shape that raises) is the caller's error, raised with nothing running.
        first = executor.at(0.0) if executor is not None else None
        if first is not None:
            # test_start listeners read the target (Locust's target_user_count: a script
            # splits its test data by it before any user starts).
            self.target_users = sum(class_targets(specs(self.classes), first).values())
            self.spawn_rate = first.spawn_rate
        if host is not None:
            self.options = replace(self.options, host=host)
        if self._life.state is RunState.STOPPED:
            self.reset_stats()  # a new test starts from zero, as in the UI's "new test"
        try:
            self.events.test_start.fire(environment=self)
        except Exception as exc:  # noqa: BLE001 - reported with the results; the test goes on
            self._listener_failed("test_start listener", exc)
        self._begin_test()
        self._stop_task = None
        self._second = 0
        self._stopped.clear()
        self._executor, self._goal = executor, None
        self.trace.clear()
        self.clock.begin(self._on_second, run_time, self.request_stop)
        if executor is not None:
            self._follow(first)
        return first

    def reset_stats(self) -> None:
        raise NotImplementedError

    # --- following the plan ------------------------------------------------------------

    def update(self, users: int, spawn_rate: float) -> None:
        """A new ``-u``/``-r`` for the running test (the web UI's "edit")."""
        if not self._life.active or self._executor is None:
            return
        if self.plan is not None:
            followed = ("the script's load shape" if isinstance(self.plan, ShapePlan)
                        else "--stages" if isinstance(self.plan, RampingStages)
                        else "the open model (--arrival-rate)")
            raise UsageError(f"the test follows {followed}: its user count cannot be changed")
        self._executor = SteadyUsers(users, spawn_rate)
        self._follow(self._executor.at(self._plan_time()))

    def _follow(self, target: Target | None) -> None:
        if target is None:
            log.info("the load plan has ended: stopping the test")
            self.request_stop()
            return
        if target == self._goal:
            return
        counts = class_targets(specs(self.classes), target)
        self._set_goal(target, counts)

    def _set_goal(self, target: Target | None, counts: Mapping[str, int]) -> None:
        self._goal = target
        self.target_users = sum(counts.values())
        self.spawn_rate = target.spawn_rate if target is not None else self.spawn_rate
        self._life.to(RunState.SPAWNING)
        self._apply(counts, self.spawn_rate)

    def _ask_plan(self) -> None:
        if self._executor is None or not self._life.active:
            return
        try:
            target = self._executor.at(self._plan_time())
        except Exception as exc:  # noqa: BLE001 - a broken shape ends the test, reported
            self._listener_failed("load plan", exc)
            log.error("the load plan failed (%s: %s): stopping the test",
                      type(exc).__name__, exc)
            self.request_stop()
            return
        self._follow(target)

    def _plan_time(self) -> float:
        """Test time as the plan sees it (a test replaces it with a fake clock)."""
        return self.clock.elapsed

    def _on_second(self) -> None:
        self._close_second()
        if self._executor is not None:  # a worker follows its master: the master traces
            # Second s covers test time [s, s + 1): its target is the plan's over it,
            # before the plan is asked again below (as its users are counted).
            self.trace.record(self._second,
                              target_at(self._executor, self._second + 1.0, self.target_users),
                              self._iterations_closed())
        self._second += 1
        self._ask_plan()
        self._check_ramp()

    def _check_ramp(self) -> None:
        if self._life.state is RunState.SPAWNING and self._ramp_done():
            self._life.to(RunState.RUNNING)

    # --- stop ----------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop soon (from a timer, a signal handler or the UI); `wait_stopped` tells when."""
        if self._life.ending or self._stop_task is not None:
            return
        self._stop_task = self._loop.create_task(self.stop())

    async def stop(self, grace: float | None = None) -> None:
        """Stop every user; ``grace`` overrides ``--stop-timeout`` (0: close the gates now)."""
        if self._life.ending:
            await self._stopped.wait()
            return
        if self._life.state is RunState.READY:
            self._life.to(RunState.STOPPED)
            self._stopped.set()
            return
        self._life.to(RunState.STOPPING)
        self.clock.cancel_run_timer()
        await self._stop_load(grace)
        self.clock.end()  # a stopped test's duration and rates stay put
        self._close_second()  # the last partial second, so nothing recorded is left behind
        try:
            self.events.test_stop.fire(environment=self)
        except Exception as exc:  # noqa: BLE001 - report, keep the results
            self._listener_failed("test_stop listener", exc)
        self._end_test()
        self._life.to(RunState.STOPPED)
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def request_quit(self) -> None:
        """End the run, not only its test (a script's `runner.quit()`): stop the test and
        tell whoever serves the run (the web UI's loop waits in `wait_quit`) to finish."""
        self._quit.set()
        self.request_stop()

    async def wait_quit(self) -> None:
        await self._quit.wait()
