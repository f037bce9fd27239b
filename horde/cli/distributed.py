"""`--master`, `--worker` and `--processes`: the distributed roles on the command line.

* ``--master``: load the scripts (for the classes' weights), ship the ``-f``
  files to every worker, and drive the test headless (``--headless -u -r -t``,
  after ``--expect-workers`` have joined) or from the web UI;
* ``--worker``: run a master's tests until it says Quit (exit 0), refuses
  this worker (2), or cannot be reached for ``--reconnect-timeout`` (1);
* ``--processes N|auto``: a master on 127.0.0.1 (any free port unless
  ``--master`` names one) plus N ``python -m horde --worker`` children; with
  ``--worker``, N worker children for a remote master.

Children are ours: they get a private working directory and no ``HORDE_*``
environment (so no config file or variable makes them spawn children of
their own), they stop their users when the master falls silent, and they are
terminated by PID when the master is done.

Who may join is decided in `horde.cli.fleet_security` (a shared secret by
default, ``--curve-keys``, or ``--insecure``); local workers get the
master's secret in their environment, never on their command line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from horde.cli.checks import abort_hook, chain
from horde.cli.config import Config
from horde.cli.fleet_security import SECRET_ENV, Security, master_security, worker_security
from horde.cli.headless import (
    build_events,
    build_plan,
    check_watch,
    drive,
    fire_init,
    live_view,
    make_console,
    run_options,
)
from horde.cli.loader import default_script, load_scripts
from horde.cli.openmodel import open_model_plan
from horde.cli.options import OPTIONS
from horde.cli.process import new_loop
from horde.events import Events
from horde.http.source import LocalAddresses
from horde.net import MasterChannel
from horde.net.secret import FleetSecret
from horde.report.console import ConsoleReporter
from horde.runtime.bundle import read_test_files
from horde.runtime.limits import raise_open_files_limit
from horde.runtime.master import MasterRunner
from horde.runtime.worker import WorkerOptions, WorkerRuntime
from horde.user import User
from horde.wire import bundle_from_contents, sha_map

__all__ = ["run_distributed", "worker_command", "process_count"]

log = logging.getLogger(__name__)

CHILD_RECONNECT_S = 10.0
_CHILD_GRACE_S = 10.0


def process_count(value: int | str) -> int:
    return os.cpu_count() or 1 if value == "auto" else int(value)


def run_distributed(config: Config) -> int:
    """The role `config` asks for; horde's errors propagate to `horde.cli.main.run`."""
    raise_open_files_limit()
    with asyncio.Runner(loop_factory=new_loop) as runner:
        if config.worker:
            _note_ignored_options(config)
            if config.processes is not None:
                return _run_worker_children(config, process_count(config.processes))
            return runner.run(run_worker(config))
        local = process_count(config.processes) if config.processes is not None else 0
        return runner.run(run_master(config, local))


# Options only a master (or a local run) uses: a worker gets them from its master.
_MASTER_DECIDES = ("users", "spawn_rate", "stages", "run_time", "host", "headless", "tags",
                   "exclude_tags", "stop_timeout", "request_timeout", "csv", "json", "html",
                   "only_summary", "expect_workers", "expect_workers_max_wait", "checks",
                   "check_abort")


def _note_ignored_options(config: Config) -> None:
    defaults = Config()
    flags = {o.key: o.flags[-1] for o in OPTIONS}  # checks -> --check
    given = [flags[key] for key in _MASTER_DECIDES
             if getattr(config, key) != getattr(defaults, key)]
    if given:
        print(f"horde: note: a worker ignores {', '.join(given)}: its master decides "
              "those", file=sys.stderr)


def _say(security: Security) -> None:
    for line in security.notices:
        print(line, file=sys.stderr, flush=True)


# --- the master ---------------------------------------------------------------------------


async def run_master(config: Config, local_workers: int) -> int:
    path = Path(config.hordefile) if config.hordefile else default_script(Path.cwd())
    from horde.cli.main import prepare_scripts  # the same checks as a local run

    config, scripts = prepare_scripts(config)
    files, entry = read_test_files(path)
    bundle = bundle_from_contents(files, entry, entry_only=path.is_file())
    events = build_events(scripts)
    # --processes alone: a private master on loopback, on any free port.
    own_port = local_workers > 0 and not config.master
    host = "127.0.0.1" if own_port else config.master_bind_host
    port = 0 if own_port else config.master_bind_port
    security = master_security(config, bind_host=host, port=port, private=own_port)
    _say(security)
    console = make_console()
    reporter = ConsoleReporter(console)
    async with MasterChannel(host, port, curve=security.curve) as channel:
        runner: MasterRunner | None = None
        watch = check_watch(config)
        on_second = chain(live_view(config, reporter, lambda: runner),
                          abort_hook(watch, lambda: runner, console))
        runner = MasterRunner(scripts.user_classes, run_options(config), events, channel,
                              bundle, on_second=on_second,
                              plan=open_model_plan(config, scripts.shape is not None)
                              or build_plan(config, scripts))
        if not config.headless:
            from horde.cli.web_run import prepare_web_ui

            prepare_web_ui(events)
        fire_init(events, runner)
        runner.serve()
        log.info("master listening on %s", channel.endpoint)
        children = (_start_children(config, local_workers, channel.port,
                                    secret=security.secret) if local_workers else [])
        expect = local_workers or config.expect_workers
        try:
            if not config.headless:
                from horde.cli.web_run import run_with_web  # aiohttp: only when serving

                return await run_with_web(runner, config, watch)
            return await drive(runner, config, console, reporter, runner.force_stop,
                               prepare=lambda: _wait_for_workers(runner, config, expect, console,
                                                                 children), watch=watch)
        finally:
            runner.quit_workers()
            await asyncio.sleep(0.2)  # let the Quit frames leave before the socket closes
            runner.close()
            _end_children(children)


async def _first_child_exit(children: Sequence[subprocess.Popen[bytes]]) -> int:
    """The exit code of the first local worker that ends (never returns without children)."""
    while True:
        for proc in children:
            code = proc.poll()
            if code is not None:
                return code
        await asyncio.sleep(0.2)


async def _wait_for_workers(runner: MasterRunner, config: Config, n: int, console: Any,
                            children: Sequence[subprocess.Popen[bytes]] = ()) -> bool:
    console.print(f"horde: waiting for {n} worker{'s' if n != 1 else ''} to connect")
    joined = asyncio.ensure_future(runner.wait_for_workers(n, config.expect_workers_max_wait))
    stopped = asyncio.ensure_future(runner.wait_stopped())
    # A local worker that ends before the test starts could not join (a broken
    # script, refused files): waiting for it would wait forever.
    died = asyncio.ensure_future(_first_child_exit(children)) if children else None
    waiting = {joined, stopped} | ({died} if died is not None else set())
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if died is not None and not died.done():
            died.cancel()
    if died is not None and died.done() and not joined.done():
        joined.cancel()
        console.print(f"horde: a local worker process ended (exit code {died.result()}) "
                      "before the test could start; its messages are above",
                      style="red", markup=False)
        return False
    if stopped.done() and not joined.done():
        joined.cancel()
        return True  # Ctrl-C while waiting: `drive` sees the signal and summarises
    if not joined.result():
        have = len(runner.fleet.active())
        console.print(f"horde: only {have} of {n} workers connected within "
                      f"{config.expect_workers_max_wait:.0f} s (--expect-workers-max-wait)",
                      style="red", markup=False)
        return False
    return True


# --- local worker processes ---------------------------------------------------------------


def worker_command(config: Config, master_host: str, master_port: int,
                   reconnect_timeout: float) -> list[str]:
    # Children of a master share its terminal: their INFO lines would repeat
    # the master's ("joined", ...), so they say only what goes wrong, unless the
    # user asked for DEBUG. Children of `--worker --processes` keep the level:
    # there they are the only voice.
    quiet = not config.worker and config.loglevel != "DEBUG"
    level = "WARNING" if quiet else config.loglevel
    argv = [sys.executable, "-m", "horde", "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--loglevel", level,
            "--reconnect-timeout", f"{reconnect_timeout}s"]
    if config.curve_keys is not None:
        argv += ["--curve-keys", str(Path(config.curve_keys).resolve())]
    elif config.insecure:
        argv += ["--insecure"]
    if config.worker and config.hordefile:
        argv += ["-f", str(Path(config.hordefile).resolve())]
    if config.local_ips is not None:  # machine-local: the children share this machine
        argv += ["--local-ips", config.local_ips]
    return argv


def _child_env(secret: FleetSecret | None = None) -> dict[str, str]:
    # HORDE_BUILD stays: the children run the build (pure or compiled) that this one runs.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HORDE_") or k == "HORDE_BUILD"}
    if secret is not None:  # the environment, not argv: only this user can read it
        env[SECRET_ENV] = secret.text
    # The child must import the same horde as this process.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class _Children(list[subprocess.Popen[bytes]]):
    """Local worker processes, and the working directory they share."""

    def __init__(self, procs: list[subprocess.Popen[bytes]], workdir: str) -> None:
        super().__init__(procs)
        self.workdir = workdir


def _start_children(config: Config, n: int, port: int, host: str = "127.0.0.1",
                    reconnect_timeout: float = CHILD_RECONNECT_S, *,
                    secret: FleetSecret | None = None) -> _Children:
    # An empty working directory: a child must not read a horde.toml meant for
    # the parent (its options come from the command line). `_end_children`
    # removes it.
    workdir = tempfile.mkdtemp(prefix="horde-workers-")
    argv = worker_command(config, host, port, reconnect_timeout)
    # Own sessions: a Ctrl-C on the terminal reaches the master only, which
    # stops the test through its workers and loses no answered request.
    return _Children([subprocess.Popen(argv, cwd=workdir, env=_child_env(secret),
                                       stdin=subprocess.DEVNULL, start_new_session=True)
                      for _ in range(n)], workdir)


def _end_children(children: Sequence[subprocess.Popen[bytes]]) -> None:
    """Wait briefly for children that got Quit, then terminate (and kill) by PID;
    remove their working directory."""
    for proc in children:
        try:
            proc.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            proc.terminate()
    for proc in children:
        try:
            proc.wait(timeout=_CHILD_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if isinstance(children, _Children):
        shutil.rmtree(children.workdir, ignore_errors=True)


def _run_worker_children(config: Config, n: int) -> int:
    security = worker_security(config)
    _say(security)
    children = _start_children(config, n, config.master_port, config.master_host,
                               config.reconnect_timeout, secret=security.secret)

    def forward(signum: int, _frame: object) -> None:
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signum)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # A child killed by a signal has a negative code: report it as a shell
        # would (128 + signal), so one crashed child is never an exit 0.
        return max((code if code >= 0 else 128 - code) for code in
                   (proc.wait() for proc in children))
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _end_children(children)


# --- a worker -----------------------------------------------------------------------------


def _load(path: Path) -> tuple[Sequence[type[User]], Events]:
    loaded = load_scripts(path)
    return loaded.user_classes, build_events(loaded)


async def run_worker(config: Config) -> int:
    own_sha = None
    scripts = None
    if config.hordefile:
        path = Path(config.hordefile)
        files, _ = read_test_files(path)
        own_sha = sha_map(files)
        scripts = _load(path)
    security = worker_security(config)
    _say(security)
    options = WorkerOptions(master_host=config.master_host, master_port=config.master_port,
                            curve=security.curve,
                            reconnect_timeout=config.reconnect_timeout, own_files_sha=own_sha,
                            local_addresses=LocalAddresses.from_spec(config.local_ips))
    runtime = WorkerRuntime(options, _load, scripts)
    if scripts is not None:
        fire_init(scripts[1], runtime)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runtime.leave)
    try:
        outcome = await runtime.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if outcome.message and outcome.kind != "quit":
        print(f"horde: worker {runtime.worker_id}: {outcome.message}", file=sys.stderr)
    return outcome.exit_code
