"""A headless run: start at once, show live statistics, summarise, write files.

`drive` does it for any `Controller`: a local runner here, a master in
horde.cli.distributed, so both print and exit the same way.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from horde.cli.checks import CHECK_FAILED_EXIT, abort_hook, chain, checks_failed
from horde.cli.config import Config
from horde.cli.loader import LoadedScripts
from horde.cli.metrics import metrics_served
from horde.cli.openmodel import open_model_plan
from horde.cli.process import TwoStageSignals
from horde.compat import LocustEvents
from horde.errors import UsageError
from horde.events import Events
from horde.http.source import LocalAddresses
from horde.plan import Executor, RampingStages, ShapePlan
from horde.report.console import ConsoleReporter
from horde.report.csv_report import write_csv
from horde.report.html_report import write_html
from horde.report.json_report import write_json
from horde.report.model import RunInfo, with_checks
from horde.runtime.control import Controller
from horde.runtime.health import HealthSample
from horde.runtime.local import LocalRunner, RunOptions
from horde.runtime.plantrace import plan_columns
from horde.stats import StatsSnapshot
from horde.stats.checks import CheckWatch

__all__ = ["run_headless", "exit_code_for", "build_events", "run_options", "drive",
           "live_view", "make_console", "write_result_files", "fire_init", "check_watch",
           "after_run", "reset_when_spawned", "build_plan"]

log = logging.getLogger(__name__)

LIVE_EVERY_S = 2


def build_events(scripts: LoadedScripts) -> Events:
    # A Locust script's listeners are already on its events (horde.compat).
    events = scripts.events if scripts.events is not None else Events()
    for name, fn in scripts.listeners:
        events.hook(name).add_listener(fn)
    return events


def run_options(config: Config) -> RunOptions:
    return RunOptions(
        host=config.host,
        tags=frozenset(config.tags) if config.tags is not None else None,
        exclude_tags=frozenset(config.exclude_tags) if config.exclude_tags is not None else None,
        stop_timeout=config.stop_timeout,
        request_timeout=config.request_timeout,
        local_addresses=LocalAddresses.from_spec(config.local_ips),
    )


def build_plan(config: Config, scripts: LoadedScripts) -> Executor | None:
    """The run's plan: the script's shape, else --stages, else None (-u/-r).

    As in Locust, a shape ignores -u/-r (with a warning) unless it sets
    ``use_common_options``; -t still ends the run whatever the plan.
    """
    defaults = Config()
    gave_users = (config.users, config.spawn_rate) != (defaults.users, defaults.spawn_rate)
    if scripts.shape is not None:
        if config.stages is not None:
            raise UsageError(f"the script defines a load shape ({scripts.shape.__name__}) and "
                             "--stages is given: use one or the other")
        if gave_users and not scripts.shape.use_common_options:
            log.warning("the script's load shape %s decides the users: -u/-r are ignored",
                        scripts.shape.__name__)
        try:
            shape = scripts.shape()
        except Exception as exc:  # noqa: BLE001 - user code: a broken script, exit 2
            raise UsageError(f"{scripts.shape.__name__}() raised {type(exc).__name__}: "
                             f"{exc}") from exc
        return ShapePlan(shape)
    if config.stages is not None:
        if gave_users:
            log.warning("--stages decide the users: -u/-r are ignored")
        return RampingStages(config.stages)
    return None


def check_watch(config: Config) -> CheckWatch:
    return CheckWatch(config.checks, abort=config.check_abort)


def exit_code_for(snapshot: StatsSnapshot, config: Config, info: RunInfo | None = None) -> int:
    """3 when a check in `info` failed, else `--exit-code-on-error` for a failure, else 0."""
    if info is not None and checks_failed(info):
        return CHECK_FAILED_EXIT
    failed = snapshot.total.failures > 0 or bool(snapshot.exceptions)
    return config.exit_code_on_error if failed else 0


def write_result_files(config: Config, snapshot: StatsSnapshot, info: RunInfo,
                       controller: Controller | None = None) -> bool:
    """Write --json, --csv and --html; say so on stderr and return False if one failed.

    `controller`: the run, whose plan trace the HTML report charts beside what ran.

    The paths were checked before the run (horde.cli.outputs); this still
    fails when the disk fills up, a device refuses, or a directory went away.
    """
    plan = (plan_columns([r.t_s for r in snapshot.history], controller.trace,
                         controller.load_model) if controller is not None else None)
    wanted: list[tuple[str | None, str, Callable[[str], None]]] = [
        (config.json, "the JSON result", lambda p: write_json(Path(p), snapshot, info)),
        (config.csv, "the CSV files", lambda p: write_csv(p, snapshot)),
        (config.html, "the HTML report", lambda p: write_html(Path(p), snapshot, info, plan)),
    ]
    ok = True
    for target, what, write in wanted:
        if target is None:
            continue
        try:
            write(target)
        except UsageError as exc:
            print(f"horde: could not write {what} {exc}", file=sys.stderr)
            ok = False
    return ok


def make_console() -> Console:
    # Off a terminal (CI logs, files) rich would assume 80 columns and cut the
    # tables; a log line has room for the whole table.
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 180)


def live_view(config: Config, reporter: ConsoleReporter,
              controller: Callable[[], Controller | None]) -> Callable[[int, HealthSample], None]:
    """The per-second callback printing the live table every `LIVE_EVERY_S` seconds."""

    def on_second(second: int, health: HealthSample) -> None:
        run = controller()
        if not config.only_summary and run is not None and (second + 1) % LIVE_EVERY_S == 0:
            info = run.info()
            # Live, the warning is about this very second, not the whole run.
            live_info = replace(info, generator=replace(info.generator, warnings=health.warnings()))
            reporter.live(run.snapshot(), live_info)

    return on_second


async def drive(controller: Controller, config: Config, console: Console,
                reporter: ConsoleReporter, force_stop: Callable[[], None],
                prepare: Callable[[], Awaitable[bool]] | None = None,
                watch: CheckWatch | None = None) -> int:
    """Run one headless test on `controller`: signals, start, wait, summary, files, exit code.

    `prepare` (a master waiting for its workers) runs first, under the same
    signal handling; False from it ends the run with exit code 2.
    """
    watch = watch or check_watch(config)
    async with metrics_served(controller, config, console, watch):
        with TwoStageSignals(console, "stopping", controller.request_stop,
                             force_stop) as signals:
            if prepare is not None and not await prepare():
                return 2
            if signals.seen == 0:
                await controller.start(config.users, config.spawn_rate,
                                       run_time=config.run_time)
                resetter = reset_when_spawned(controller) if config.reset_stats else None
                await controller.wait_stopped()
                if resetter is not None:
                    resetter.cancel()
    snapshot = controller.snapshot()
    info = with_checks(controller.info(), snapshot, watch)
    reporter.summary(snapshot, info)
    if not write_result_files(config, snapshot, info, controller):
        return 2
    return after_run(getattr(controller, "events", None), exit_code_for(snapshot, config, info))


def reset_when_spawned(controller: Controller) -> asyncio.Task[None]:
    """--reset-stats: forget the ramp-up's statistics once every user has started."""

    async def watch() -> None:
        # The Controller surface has states, not a ramp-done signal: look a few times a second.
        while controller.state == "spawning":
            await asyncio.sleep(0.05)
        if controller.state == "running":
            controller.reset_stats()

    return asyncio.get_running_loop().create_task(watch())


def after_run(events: object, exit_code: int) -> int:
    """A Locust script's `quitting` listeners may set the exit code (horde.compat)."""
    if isinstance(events, LocustEvents):
        try:
            return events.environment.after_run(exit_code)
        except Exception as exc:  # noqa: BLE001 - a broken listener is the script's error
            raise UsageError(f"a quitting event listener raised {type(exc).__name__}: "
                             f"{exc}") from exc
    return exit_code


def fire_init(events: Events, environment: object) -> None:
    """The scripts' `init` listeners; one that raises is a broken script (exit 2)."""
    try:
        events.init.fire(environment=environment)
    except Exception as exc:  # noqa: BLE001 - a broken init listener is a broken script
        raise UsageError(f"an init event listener raised {type(exc).__name__}: {exc}") from exc


async def run_headless(config: Config, scripts: LoadedScripts) -> int:
    console = make_console()
    reporter = ConsoleReporter(console)
    events = build_events(scripts)
    runner: LocalRunner | None = None
    watch = check_watch(config)
    on_second = chain(live_view(config, reporter, lambda: runner),
                      abort_hook(watch, lambda: runner, console))
    runner = LocalRunner(scripts.user_classes, run_options(config), events, on_second=on_second,
                         plan=open_model_plan(config, scripts.shape is not None)
                         or build_plan(config, scripts))
    fire_init(events, runner)
    return await drive(runner, config, console, reporter, runner.force_stop, watch=watch)
