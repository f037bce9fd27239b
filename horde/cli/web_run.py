"""A run steered from the web UI: serve it until Ctrl-C, then summarise.

Used for a local run and for a master alike: both are a `StoppableController`.
Tests are started, changed and stopped from the browser (or its JSON API);
the process ends on Ctrl-C or SIGTERM, stopping a running test first (losing
no request), and then prints the summary and writes the result files of the
last test, as a headless run does.
"""

from __future__ import annotations

import asyncio

from horde.cli.config import Config
from horde.cli.headless import (
    build_events,
    exit_code_for,
    fire_init,
    make_console,
    run_options,
    write_result_files,
)
from horde.cli.loader import LoadedScripts
from horde.cli.process import TwoStageSignals
from horde.report.console import ConsoleReporter
from horde.runtime.control import StoppableController
from horde.runtime.local import LocalRunner
from horde.web.server import WebDefaults, start_web

__all__ = ["run_with_web", "run_local_with_web"]


def _auth(config: Config) -> tuple[str, str] | None:
    if config.web_auth is None:
        return None
    user, _, password = config.web_auth.partition(":")
    return user, password


async def run_with_web(controller: StoppableController, config: Config) -> int:
    console = make_console()
    defaults = WebDefaults(users=config.users, spawn_rate=config.spawn_rate, host=config.host,
                           run_time=config.run_time)
    server = await start_web(controller, config.web_host, config.web_port, _auth(config),
                             defaults)
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
    snapshot, info = controller.snapshot(), controller.info()
    if snapshot.total.requests == 0 and not snapshot.exceptions:
        console.print("horde: no test was run")
        return 0
    ConsoleReporter(console).summary(snapshot, info)
    if not write_result_files(config, snapshot, info, console):
        return 2
    return exit_code_for(snapshot, config)


async def run_local_with_web(config: Config, scripts: LoadedScripts) -> int:
    """A local run whose tests are started from the web UI."""
    events = build_events(scripts)
    runner = LocalRunner(scripts.user_classes, run_options(config), events)
    fire_init(events, runner)
    return await run_with_web(runner, config)
