"""A run steered from the web UI: serve it until Ctrl-C, then summarise.

Used for a local run and for a master alike: both are a `StoppableController`.
Tests are started, changed and stopped from the browser (or its JSON API);
the process ends on Ctrl-C or SIGTERM, or when a script calls
`runner.quit()` (as under Locust), stopping a running test first (losing no
request), and then prints the summary and writes the result files of the
last test, as a headless run does.

"The last test" is the one the UI ran last, even when its statistics were
reset after it stopped (the page's "Reset stats" clears the view; the
figures the test ended with are kept for the summary and the files until a
new test starts). Only when no test ever started does horde say "no test was
run" and write nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from horde.cli.checks import abort_hook
from horde.cli.config import Config
from horde.cli.headless import (
    after_run,
    build_events,
    build_plan,
    check_watch,
    exit_code_for,
    fire_init,
    make_console,
    reset_when_spawned,
    run_options,
    write_result_files,
)
from horde.cli.loader import LoadedScripts
from horde.cli.metrics import metrics_served
from horde.cli.openmodel import open_model_plan
from horde.cli.process import TwoStageSignals
from horde.compat import LocustEvents
from horde.plan.duration import format_duration
from horde.report.console import ConsoleReporter
from horde.report.model import RunInfo, with_checks
from horde.runtime.control import Controller, StoppableController
from horde.runtime.local import LocalRunner
from horde.stats import StatsSnapshot
from horde.stats.checks import CheckWatch
from horde.web.server import ScriptRoute, WebDefaults, start_web

__all__ = ["LastTest", "run_with_web", "run_local_with_web", "script_routes", "prepare_web_ui",
           "autostart", "web_defaults"]


def _auth(config: Config) -> tuple[str, str] | None:
    if config.web_auth is None:
        return None
    user, _, password = config.web_auth.partition(":")
    return user, password


def _has_figures(snapshot: StatsSnapshot) -> bool:
    return snapshot.total.requests > 0 or bool(snapshot.exceptions)


class LastTest:
    """The results to summarise at the end: the last test's, through a reset after its stop.

    `before_reset` is called by the web UI before it resets the statistics
    (POST /api/reset, or a new test after a stop). When the test has stopped
    and has figures, they are kept: the reset clears the page, not the test's
    results. `result()` gives the kept figures while no newer test has
    started (the run info's `started_at` tells), else the controller's own.
    """

    def __init__(self, controller: Controller) -> None:
        self._controller = controller
        self._kept: tuple[StatsSnapshot, RunInfo] | None = None

    def before_reset(self) -> None:
        ctl = self._controller
        if ctl.state == "stopped":
            snapshot = ctl.snapshot()
            if _has_figures(snapshot):
                self._kept = (snapshot, ctl.info())

    def result(self) -> tuple[StatsSnapshot, RunInfo] | None:
        """The last test's figures, or None when no test ever ran."""
        snapshot, info = self._controller.snapshot(), self._controller.info()
        if self._kept is not None and self._kept[1].started_at == info.started_at:
            return self._kept
        # A test that started has run for some time, even one that sent nothing.
        if _has_figures(snapshot) or info.duration_s > 0:
            return snapshot, info
        return None


def _quit_message(controller: Controller) -> str:
    if controller.state in ("spawning", "running", "stopping"):
        return ("quitting; stopping the test first; waiting for requests in flight "
                "(press Ctrl-C again to stop at once)")
    return "quitting (no test is running)"


async def run_with_web(controller: StoppableController, config: Config,
                       watch: CheckWatch | None = None) -> int:
    """Serve the UI until Ctrl-C; `watch` holds the --check thresholds (shown live, judged
    at the end). A --check-abort hook, if any, is the caller's to install on the runner."""
    console = make_console()
    watch = watch if watch is not None else check_watch(config)
    defaults = web_defaults(config)
    last = LastTest(controller)
    server = await start_web(controller, config.web_host, config.web_port, _auth(config),
                             defaults, checks=watch, allowed_hosts=config.web_allowed_host,
                             on_reset=last.before_reset,
                             script_routes=script_routes(controller))
    console.print(f"horde: web UI at {server.url} (Ctrl-C to quit)", markup=False,
                  highlight=False)
    quit_requested = asyncio.Event()
    try:
        async with metrics_served(controller, config, console, watch):
            with TwoStageSignals(console, lambda: _quit_message(controller),
                                 quit_requested.set, controller.force_stop):
                if config.autostart:
                    await autostart(controller, config, quit_requested)
                await _first_of(quit_requested.wait(), controller.wait_quit())
                controller.request_stop()
                await controller.wait_stopped()
    finally:
        await server.close()
    result = last.result()
    if result is None:
        console.print("horde: no test was run")
        return 0
    snapshot, info = result
    info = with_checks(info, snapshot, watch)
    ConsoleReporter(console).summary(snapshot, info)
    if not write_result_files(config, snapshot, info, controller):
        return 2
    return after_run(getattr(controller, "events", None), exit_code_for(snapshot, config, info))


async def _first_of(*waits: Coroutine[Any, Any, object]) -> None:
    """Until one of `waits` is done (Ctrl-C, or the script's `runner.quit()`)."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def web_defaults(config: Config) -> WebDefaults:
    """The start form's first values: the command line's, for every load model."""
    return WebDefaults(
        users=config.users, spawn_rate=config.spawn_rate, host=config.host,
        run_time=config.run_time,
        stages=(",".join(f"{format_duration(s.duration)}:{s.users}" for s in config.stages)
                if config.stages else None),
        arrival_rate=config.arrival_rate,
        arrival_stages=(",".join(f"{format_duration(s.duration)}:{s.rate:g}"
                                 for s in config.arrival_stages)
                        if config.arrival_stages else None),
        max_lateness=config.max_lateness)


async def autostart(controller: StoppableController, config: Config,
                    quit_requested: asyncio.Event) -> None:
    """--autostart: start at once with -u/-r/-t; --autoquit T: quit T after the test ends."""
    await controller.start(config.users, config.spawn_rate, run_time=config.run_time)
    if config.reset_stats:
        reset_when_spawned(controller)
    if config.autoquit is None:
        return
    delay = config.autoquit

    async def quit_later() -> None:
        await controller.wait_stopped()
        await asyncio.sleep(delay)
        quit_requested.set()

    asyncio.get_running_loop().create_task(quit_later())


def script_routes(controller: object) -> list[ScriptRoute]:
    """Routes a Locust script added with `@environment.web_ui.app.route` (horde.compat)."""
    events = getattr(controller, "events", None)
    if isinstance(events, LocustEvents) and events.environment.web_ui is not None:
        return events.environment.web_ui.routes
    return []


def prepare_web_ui(events: object) -> None:
    """Give a Locust script its `environment.web_ui` before `init` fires, as Locust does."""
    if isinstance(events, LocustEvents):
        events.environment.create_web_ui()


async def run_local_with_web(config: Config, scripts: LoadedScripts) -> int:
    """A local run whose tests are started from the web UI."""
    events = build_events(scripts)
    watch = check_watch(config)
    runner: LocalRunner | None = None
    on_second = abort_hook(watch, lambda: runner, make_console())
    runner = LocalRunner(scripts.user_classes, run_options(config), events, on_second=on_second,
                         plan=open_model_plan(config, scripts.shape is not None)
                         or build_plan(config, scripts))
    prepare_web_ui(events)
    fire_init(events, runner)
    return await run_with_web(runner, config, watch)
