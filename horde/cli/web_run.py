"""A run steered from the web UI: serve it until Ctrl-C, then summarise.

Used for a local run and for a master alike: both are a `StoppableController`.
Tests are started, changed and stopped from the browser (or its JSON API);
the process ends on Ctrl-C or SIGTERM, stopping a running test first (losing
no request), and then prints the summary and writes the result files of the
last test, as a headless run does.
"""

from __future__ import annotations

import asyncio

from horde.cli.checks import abort_hook
from horde.cli.config import Config
from horde.cli.headless import (
    build_events,
    check_watch,
    exit_code_for,
    fire_init,
    make_console,
    run_options,
    write_result_files,
)
from horde.cli.loader import LoadedScripts
from horde.cli.process import TwoStageSignals
from horde.report.console import ConsoleReporter
from horde.report.model import with_checks
from horde.runtime.control import StoppableController
from horde.runtime.local import LocalRunner
from horde.stats.checks import CheckWatch
from horde.web.server import WebDefaults, start_web

__all__ = ["run_with_web", "run_local_with_web"]


def _auth(config: Config) -> tuple[str, str] | None:
    if config.web_auth is None:
        return None
    user, _, password = config.web_auth.partition(":")
    return user, password


async def run_with_web(controller: StoppableController, config: Config,
                       watch: CheckWatch | None = None) -> int:
    """Serve the UI until Ctrl-C; `watch` holds the --check thresholds (shown live, judged
    at the end). A --check-abort hook, if any, is the caller's to install on the runner."""
    console = make_console()
    watch = watch if watch is not None else check_watch(config)
    defaults = WebDefaults(users=config.users, spawn_rate=config.spawn_rate, host=config.host,
                           run_time=config.run_time)
    server = await start_web(controller, config.web_host, config.web_port, _auth(config),
                             defaults, checks=watch)
    console.print(f"horde: web UI at {server.url} (Ctrl-C to quit)", markup=False,
                  highlight=False)
    quit_requested = asyncio.Event()
    try:
        with TwoStageSignals(console, "quitting; stopping the test first", quit_requested.set,
                             controller.force_stop):
            await quit_requested.wait()
            controller.request_stop()
            await controller.wait_stopped()
    finally:
        await server.close()
    snapshot = controller.snapshot()
    if snapshot.total.requests == 0 and not snapshot.exceptions:
        console.print("horde: no test was run")
        return 0
    info = with_checks(controller.info(), snapshot, watch)
    ConsoleReporter(console).summary(snapshot, info)
    if not write_result_files(config, snapshot, info):
        return 2
    return exit_code_for(snapshot, config, info)


async def run_local_with_web(config: Config, scripts: LoadedScripts) -> int:
    """A local run whose tests are started from the web UI."""
    events = build_events(scripts)
    watch = check_watch(config)
    runner: LocalRunner | None = None
    on_second = abort_hook(watch, lambda: runner, make_console())
    runner = LocalRunner(scripts.user_classes, run_options(config), events, on_second=on_second)
    fire_init(events, runner)
    return await run_with_web(runner, config, watch)
