"""A run steered from the web UI: serve it until Ctrl-C, then summarise.

Used for a local run and for a master alike: both are a `Controller`. Tests
are started, changed and stopped from the browser (or its JSON API); the
process ends on Ctrl-C or SIGTERM, stopping a running test first (losing no
request), and then prints the summary and writes the result files of the last
test, as a headless run does.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from rich.console import Console

from horde.cli.config import Config
from horde.cli.headless import build_events, exit_code_for, run_options, write_result_files
from horde.cli.loader import LoadedScripts
from horde.errors import UsageError
from horde.runtime.control import Controller
from horde.runtime.local import LocalRunner
from horde.web.server import WebDefaults, start_web

__all__ = ["run_with_web", "run_local_with_web"]


def _auth(config: Config) -> tuple[str, str] | None:
    if config.web_auth is None:
        return None
    user, _, password = config.web_auth.partition(":")
    return user, password


async def run_with_web(controller: Controller, config: Config) -> int:
    loop = asyncio.get_running_loop()
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 180)
    defaults = WebDefaults(users=config.users, spawn_rate=config.spawn_rate, host=config.host,
                           run_time=config.run_time)
    server = await start_web(controller, config.web_host, config.web_port, _auth(config),
                             defaults)
    console.print(f"horde: web UI at {server.url} (Ctrl-C to quit)", markup=False,
                  highlight=False)
    quit_requested = asyncio.Event()
    signals_seen = 0

    def on_signal() -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen == 1:
            console.print("horde: quitting; stopping the test first "
                          "(press Ctrl-C again to stop at once)")
            quit_requested.set()
        else:
            force = getattr(controller, "force_stop", None)
            if callable(force):
                force()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await quit_requested.wait()
        controller.request_stop()
        await controller.wait_stopped()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.close()
    snapshot, info = controller.snapshot(), controller.info()
    if snapshot.total.requests == 0 and not snapshot.exceptions:
        console.print("horde: no test was run")
        return 0
    from horde.report.console import ConsoleReporter

    ConsoleReporter(console).summary(snapshot, info)
    if not write_result_files(config, snapshot, info, console):
        return 2
    return exit_code_for(snapshot, config)


async def run_local_with_web(config: Config, scripts: LoadedScripts) -> int:
    """A local run whose tests are started from the web UI."""
    events = build_events(scripts)
    runner = LocalRunner(scripts.user_classes, run_options(config), events)
    try:
        events.init.fire(environment=runner)
    except Exception as exc:  # noqa: BLE001 - a broken init listener is a broken script
        raise UsageError(f"an init event listener raised {type(exc).__name__}: {exc}") from exc
    return await run_with_web(runner, config)
