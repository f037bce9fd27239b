"""`locust.env.Environment`: the object Locust listeners and users receive.

Two ways to get one:

* under the horde CLI, the script loader makes one per run (with the run's
  `LocustEvents`); the first event the runtime fires binds it to the run's
  controller (`bind`), which gives it `runner`, `stats` and `host`;
* in library use, a script builds it (`Environment(user_classes=[...],
  host=...)`) and calls `create_local_runner()`. Locust runs everything in
  gevent without an event loop in sight; horde's runner lives in an asyncio
  loop, so here the Environment owns one (uvloop, made on first need and set
  as the thread's current loop), and the calls that wait for the run —
  `runner.greenlet.join()`, `runner.wait()` — run that loop until the test has
  stopped. `runner.start()` and `gevent.spawn_later(...)` only schedule work
  on it. See docs/migrating-from-locust.md.

Invariant: an Environment is bound to at most one controller at a time;
`runner` always wraps the bound controller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from horde.compat.events import LocustEvents
from horde.compat.messages import ScriptBridge
from horde.compat.runners import LocalRunner, MasterRunner, Runner, WorkerRunner
from horde.compat.stats import RequestStats
from horde.compat.webui import WebUI
from horde.stats import StatsSnapshot

__all__ = ["Environment"]

log = logging.getLogger(__name__)


def _runner_class(controller: Any) -> type[Runner]:
    # By the controller's own class name, so that this module needs no import
    # of the runtime's role classes (they may move while the runtime is reshaped).
    name = type(controller).__name__
    if name == "MasterRunner":
        return MasterRunner
    if name in ("WorkerRuntime", "WorkerRunner"):
        return WorkerRunner
    return LocalRunner


class Environment:
    """What Locust calls the environment: runner, stats, events, options, web UI."""

    def __init__(
        self,
        *,
        user_classes: Sequence[type] | None = None,
        shape_class: Any = None,
        tags: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        events: LocustEvents | None = None,
        host: str | None = None,
        reset_stats: bool = False,
        stop_timeout: float | None = None,
        catch_exceptions: bool = True,
        parsed_options: Any = None,
        available_user_classes: dict[str, type] | None = None,
        **_ignored: Any,
    ) -> None:
        self.user_classes = list(user_classes or [])
        self.shape_class = shape_class
        self.tags = tags
        self.exclude_tags = exclude_tags
        self.events = events if events is not None else LocustEvents(self)
        if events is not None:
            events.environment = self
            for name in vars(events):
                hook = getattr(events, name)
                if hasattr(hook, "_env"):
                    hook._env = self
        self._host = host
        self.reset_stats = reset_stats
        self.stop_timeout = stop_timeout
        self.catch_exceptions = catch_exceptions
        self.parsed_options = parsed_options
        self.available_user_classes = available_user_classes or {
            c.__name__: c for c in self.user_classes}
        self.process_exit_code: int | None = None
        self.iterations: int | None = None
        """-i/--iterations: tasks left to run over all users (None: no limit)."""
        self.runner: Runner | None = None
        self.web_ui: WebUI | None = None
        self.stats = RequestStats(self._snapshot, self._reset)
        self.controller: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owned_loop = False
        self._watcher: asyncio.Task[None] | None = None
        self.script_bridge = ScriptBridge(self)
        """Messages, report data and options across a fleet (horde.compat.messages)."""

    # --- the run this Environment describes -------------------------------------

    def bind(self, controller: Any) -> None:
        """Describe `controller`'s run (the runtime's LocalRunner, MasterRunner, ...)."""
        if controller is self.controller or isinstance(controller, Environment):
            return
        if isinstance(self.runner, WorkerRunner) and _runner_class(controller) is LocalRunner:
            # A worker's own test runner (its test_start): the script still runs on a
            # worker, so `isinstance(environment.runner, WorkerRunner)` must stay true.
            self.runner.current_test = controller
            return
        self.controller = controller
        self.runner = _runner_class(controller)(self, controller)
        if hasattr(controller, "script_link"):  # a master or a worker carries script traffic
            controller.script_link = self.script_bridge

    @property
    def host(self) -> str | None:
        if self.controller is not None:
            bound = getattr(self.controller, "host", None)
            if bound:
                return str(bound)
        return self._host

    @host.setter
    def host(self, value: str | None) -> None:
        self._host = value

    def _snapshot(self) -> StatsSnapshot | None:
        snapshot = getattr(self.controller, "snapshot", None)
        if snapshot is None:
            return None  # a worker keeps no statistics: it sends them to its master
        snap: StatsSnapshot = snapshot()
        return snap

    def _reset(self) -> None:
        if self.controller is not None:
            self.controller.reset_stats()

    def record_request(self, method: str, name: str, latency_us: int, size: int,
                       error: str | None) -> None:
        """Count a request a script reported itself (`events.request.fire`)."""
        stats = getattr(self.controller, "stats", None)
        record = getattr(stats, "record", None)
        if record is None:  # a worker: its current test's runner counts
            runner = getattr(self.runner, "current_test", None)
            record = getattr(getattr(runner, "stats", None), "record", None)
        if record is None:
            log.debug("request event fired with no test running: %s %s not counted", method,
                      name)
            return
        record(method, name, max(0, latency_us), max(0, size), error, 0)

    def spend_iteration(self) -> bool:
        """Count one finished task against -i; True when the budget is spent (stop)."""
        if self.iterations is None:
            return False
        self.iterations -= 1
        if self.iterations > 0:
            return False
        if self.controller is not None:
            self.controller.request_stop()
        return True

    def watch_spawning(self) -> None:
        """Fire `spawning_complete` once the test that just started has all its users."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = self.loop()
        if self._watcher is not None:
            self._watcher.cancel()  # a new test: the last one's ramp no longer matters
        self._watcher = loop.create_task(self._spawning_complete())

    async def _spawning_complete(self) -> None:
        controller = self.controller
        if isinstance(self.runner, WorkerRunner):
            # On a worker, its own test's runner spawns the users (the worker itself
            # has no run state to follow: watching it would never end).
            controller = self.runner.current_test
        if controller is None:
            return
        # The Controller surface has states, not a ramp-done signal: look a few
        # times a second (only while a test is spawning).
        while controller.state in ("ready", "spawning"):
            await asyncio.sleep(0.05)
        if controller.state == "running":
            self.events.spawning_complete.fire(
                user_count=sum(controller.counts().values()))

    def after_run(self, exit_code: int) -> int:
        """Fire `quitting`; a listener may set `process_exit_code` to change `exit_code`."""
        self.events.quitting.fire(environment=self)
        return exit_code if self.process_exit_code is None else int(self.process_exit_code)

    # --- library use ----------------------------------------------------------------

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, or (library use) this Environment's own."""
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            pass
        if self._loop is None:
            import uvloop

            self._loop = uvloop.new_event_loop()
            self._owned_loop = True
            asyncio.set_event_loop(self._loop)
        return self._loop

    def run_until(self, awaitable: Any, timeout: float | None = None) -> None:
        """Run this Environment's loop until `awaitable` is done (library use)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("runner.wait()/greenlet.join() block; inside a running event "
                               "loop use `await environment.controller.wait_stopped()`")
        loop = self.loop()
        coro = asyncio.wait_for(awaitable, timeout) if timeout is not None else awaitable
        try:
            loop.run_until_complete(coro)
        except TimeoutError:
            pass

    def create_local_runner(self) -> LocalRunner:
        """A runner in this process for `user_classes` (library use)."""
        from horde.runtime.local import LocalRunner as Engine
        from horde.runtime.local import RunOptions

        loop = self.loop()
        options = RunOptions(host=self._host,
                             tags=frozenset(self.tags) if self.tags is not None else None,
                             exclude_tags=frozenset(self.exclude_tags)
                             if self.exclude_tags is not None else None,
                             stop_timeout=self.stop_timeout or 0.0)

        async def build() -> Engine:
            return Engine(self.user_classes, options, self.events)

        engine = loop.run_until_complete(build()) if not loop.is_running() else None
        if engine is None:
            raise RuntimeError("create_local_runner() inside a running loop: build "
                               "horde.runtime.local.LocalRunner directly")
        self.bind(engine)
        runner = self.runner
        assert isinstance(runner, LocalRunner)
        return runner

    def create_web_ui(self, *args: Any, **kwargs: Any) -> WebUI:
        if self.web_ui is None:
            self.web_ui = WebUI(self)
        return self.web_ui

    def close(self) -> None:
        """Close the loop this Environment made for library use."""
        if self._owned_loop and self._loop is not None:
            self._loop.close()
            self._loop = None
