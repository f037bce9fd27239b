"""A worker: runs its share of a master's test with a `LocalRunner` engine.

One `WorkerRuntime` lives as long as the worker process. It connects to the
master, proves it runs the master's files, then obeys Start / Update / Stop /
Quit. Each second it sends a `WorkerHeartbeat` (with its health) and, while a
test runs, the `StatsReport` of what it recorded that second.

Invariants:

* slow is not dead: whether the master is there is the transport's verdict
  (horde.net.peers: ZMTP heartbeats in libzmq's I/O thread), not the time
  since this loop last read a message; a master (or a worker loop) that lags
  loses nothing;
* no orphaned load: when the connection to the master drops (it died, or
  was stopped for longer than the heartbeat timeout), the watcher thread
  closes every user's gate at once, even while this loop is blocked (no new
  request starts); the loop then stops the users, reconnects for
  ``reconnect_timeout`` seconds, joins a master's next test if one answers,
  and otherwise gives up. A master alive but deaf for `MASTER_UNRESPONSIVE_S`
  is treated the same way (a safety net, judged only when nothing is queued);
* a worker acts on what happened while its loop was blocked before it sends
  anything new: nothing is sent once the master is gone;
* superseded means start afresh: a Welcome (a new session with a master)
  stops whatever users this worker still holds before any Start is obeyed,
  so a worker the master had given up on never adds its old share on top of
  its new one;
* control messages are applied in arrival order, one at a time (a lock), but
  never block the receiver: heartbeats keep being heard while users stop;
* a report that could not be sent (no master connected) is kept and sent
  before the next one (horde.runtime.outbox);
* the runtime never prints: what the person must read comes back in
  `WorkerOutcome.message`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from horde._version import __version__
from horde.errors import HordeError
from horde.events import Events
from horde.http.source import LocalAddresses
from horde.net import CurveKeys, WorkerChannel
from horde.runtime.bundle import install_bundle, load_path
from horde.runtime.dispatch import arrival_plan
from horde.runtime.health import HealthMonitor, HealthSample
from horde.runtime.local import LocalRunner, RunOptions
from horde.runtime.outbox import MAX_PENDING_REPORTS, ReportOutbox
from horde.runtime.pressure import pace_for, user_capacity
from horde.runtime.procstats import RssReader
from horde.runtime.scriptlink import ScriptLink
from horde.stats import StatsDelta
from horde.stats.openmodel import PacedDelta
from horde.user import User
from horde.wire import (
    PROTOCOL_VERSION,
    ArrivalReport,
    DroppedCount,
    FilesAck,
    FilesBundle,
    Goodbye,
    Hello,
    MasterHeartbeat,
    MessageToMaster,
    MessageToWorker,
    Quit,
    Refuse,
    Start,
    StateChanged,
    Stop,
    Update,
    Welcome,
    WorkerBound,
    WorkerError,
    WorkerHeartbeat,
    WorkerState,
    delta_to_wire,
    sha_map,
)

__all__ = ["WorkerRuntime", "WorkerOptions", "WorkerOutcome", "LoadFn", "MASTER_UNRESPONSIVE_S",
           "MAX_PENDING_REPORTS", "new_worker_id"]

log = logging.getLogger(__name__)

MASTER_UNRESPONSIVE_S = 60.0
"""A connected master that says nothing for this long is treated as gone."""
HELLO_EVERY_S = 1.0

LoadFn = Callable[[Path], tuple[Sequence[type[User]], Events]]
"""Load the scripts at a path: (user classes, events with the scripts' listeners)."""

Outcome = Literal["quit", "refused", "gave_up", "broken"]


def new_worker_id() -> str:
    return f"{socket.gethostname()[:200]}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class WorkerOptions:
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    curve: CurveKeys | None = None
    reconnect_timeout: float = 60.0
    """How long to look for a master, at first and after losing one."""
    worker_id: str = field(default_factory=new_worker_id)
    own_files_sha: dict[str, str] | None = None
    """sha256 of this worker's own -f files (None: run what the master ships)."""
    local_addresses: LocalAddresses = LocalAddresses()
    """--local-ips of this worker's machine."""


@dataclass(frozen=True)
class WorkerOutcome:
    kind: Outcome
    message: str = ""

    @property
    def exit_code(self) -> int:
        return {"quit": 0, "gave_up": 1}.get(self.kind, 2)


class WorkerRuntime:
    def __init__(self, options: WorkerOptions, load: LoadFn,
                 scripts: tuple[Sequence[type[User]], Events] | None = None) -> None:
        self.options = options
        self._load = load
        self._loop = asyncio.get_running_loop()
        self._channel = WorkerChannel(options.worker_id, options.master_host,
                                      options.master_port, curve=options.curve,
                                      on_master_gone=self._transport_dropped)
        self._scripts = scripts
        self._installed_sha: dict[str, str] | None = None
        self._runner: LocalRunner | None = None
        self._test_id: str | None = None
        self._control = asyncio.Lock()
        self._outbox = ReportOutbox()
        self._beat = 0
        self._last_heard = 0.0
        self._welcomed = False
        self._outcome: WorkerOutcome | None = None
        self._wake = asyncio.Event()
        self._health = HealthMonitor(self._loop, watchdog=False)  # the runner's has one
        self._rss = RssReader()  # reads without a new file: works when files run out
        self._last_health = HealthSample(0.0, 0.0)
        self._throttled = False
        self._sent_counts: dict[str, int] | None = None
        self._sent_state = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._bundle_dirs: list[Path] = []
        self.state = "ready"
        self.script_link: ScriptLink | None = None
        """The test script's side of the fleet's traffic (horde.runtime.scriptlink)."""
        self._held: list[MessageToMaster] | None = None  # sent while joining (`_install`)

    @property
    def worker_id(self) -> str:
        return self.options.worker_id

    # --- the life of a worker ----------------------------------------------------

    async def run(self) -> WorkerOutcome:
        """Serve masters until told to quit, refused, or no master answers in time."""
        await self._channel.start()
        self._health.start()
        try:
            while True:
                outcome = await self._session()
                if outcome is not None:
                    return outcome
                log.warning("worker %s: lost the master; all users stopped, "
                            "reconnecting for up to %.0f s", self.worker_id,
                            self.options.reconnect_timeout)
                await self._channel.reconnect()
        finally:
            await self._stop_users(grace=0.0)
            self._health.stop()
            for task in list(self._tasks):
                task.cancel()
            self._channel.close()
            self._rss.close()
            for directory in self._bundle_dirs:  # the master's files leave with the worker
                shutil.rmtree(directory, ignore_errors=True)

    async def _session(self) -> WorkerOutcome | None:
        """One connection to a master; None when it went silent (reconnect)."""
        self._welcomed, self._outcome = False, None
        deadline = self._loop.time() + self.options.reconnect_timeout
        receiver = self._loop.create_task(self._receive(), name="worker-recv")
        next_hello = next_beat = self._loop.time()
        try:
            while self._outcome is None:
                now = self._loop.time()
                if self._channel.master_gone:
                    if self._welcomed:
                        self._master_lost()
                        return None
                    await self._channel.reconnect()  # dropped before the handshake
                elif not self._welcomed:
                    if now >= deadline:
                        return WorkerOutcome("gave_up", "no master answered at "
                                             f"{self._channel.endpoint} within "
                                             f"{self.options.reconnect_timeout:.0f} s")
                    if now >= next_hello:
                        self._channel.send(self._hello())
                        next_hello = now + HELLO_EVERY_S
                elif now - self._last_heard >= MASTER_UNRESPONSIVE_S:
                    if self._channel.has_queued():  # we were slow, not the master
                        self._last_heard = now
                    else:
                        log.warning("worker %s: the master is connected but has said "
                                    "nothing for %.0f s", self.worker_id, MASTER_UNRESPONSIVE_S)
                        self._master_lost()
                        return None
                elif now >= next_beat:
                    self._heartbeat()
                    next_beat = now + 1.0
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.25)
                except TimeoutError:
                    pass
            return self._outcome
        finally:
            receiver.cancel()

    def _transport_dropped(self) -> None:
        """The connection to the master dropped (called from the watcher thread).

        Closing the gates is all that is safe from another thread, and all
        that is urgent: no request starts from here on, however late this
        loop runs. The loop stops the users properly when it next wakes.
        """
        runner = self._runner
        if runner is not None:
            runner.population.close_gates_threadsafe()
        self._loop.call_soon_threadsafe(self._wake.set)

    def leave(self, reason: str = "stopped by a signal") -> None:
        """Stop the users, tell the master (Goodbye) and end `run` (signal handlers call it).

        Goodbye goes last, after the users' final report: the master ignores a
        worker that left, so a Goodbye first would lose what was answered last.
        """
        self._spawn(self._leave(reason))

    async def _leave(self, reason: str) -> None:
        async with self._control:
            await self._stop_users(grace=None)
            if self._welcomed:
                self._channel.send(Goodbye(reason))
            self._finish(WorkerOutcome("quit", reason))

    def _finish(self, outcome: WorkerOutcome) -> None:
        self._outcome = outcome
        self._wake.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("worker %s: %s", self.worker_id, exc)
            self._channel.send(WorkerError(f"{type(exc).__name__}: {exc}"))

    # --- messages from the master ----------------------------------------------------

    def _hello(self) -> Hello:
        return Hello(worker_id=self.worker_id, host=socket.gethostname(), pid=os.getpid(),
                     horde_version=__version__, protocol=PROTOCOL_VERSION,
                     cores=os.cpu_count() or 1, files_sha=self.options.own_files_sha,
                     capacity=user_capacity())

    async def _receive(self) -> None:
        while True:
            try:
                # Everything queued at once: on a lagging loop, one message per
                # turn let a Stop wait behind a growing queue of heartbeats.
                batch = await self._channel.recv_many()
            except HordeError as exc:
                self._finish(WorkerOutcome("broken", str(exc)))
                return
            self._last_heard = self._loop.time()
            for msg in batch:
                self._handle(msg)

    def _handle(self, msg: WorkerBound) -> None:
        if isinstance(msg, Refuse):
            self._finish(WorkerOutcome("refused", f"the master refused this worker: {msg.reason}"))
        elif isinstance(msg, Welcome):
            if not self._welcomed:
                log.info("worker %s: joined the master at %s", self.worker_id,
                         self._channel.endpoint)
            if self._runner is not None and self._runner.state in ("spawning", "running"):
                # A new session: the master has moved what we held to others.
                self._spawn(self._drop_superseded())
            self._welcomed = True
            self._sent_counts, self._sent_state = None, ""
            self._flush_pending()
        elif not self._welcomed:
            return  # stale traffic from before the handshake
        elif isinstance(msg, FilesBundle):
            self._install(msg)
        elif isinstance(msg, Start):
            self._spawn(self._start(msg))
        elif isinstance(msg, Update):
            self._spawn(self._update(msg))
        elif isinstance(msg, Stop):
            self._spawn(self._stop_test(msg.test_id))
        elif isinstance(msg, Quit):
            self._spawn(self._quit(msg.reason))
        elif isinstance(msg, MessageToWorker):
            if self.script_link is None:
                log.debug("worker %s: dropped script message %r: the script takes none",
                          self.worker_id, msg.kind)
            else:
                self.script_link.message(msg.kind, msg.data, self.worker_id)
        elif isinstance(msg, MasterHeartbeat):
            pass  # `_last_heard` is all it is for

    def _install(self, bundle: FilesBundle) -> None:
        shas = {f.path: f.sha256 for f in bundle.files}
        if shas != self._installed_sha or self._scripts is None:
            try:
                directory = install_bundle(bundle)
                self._bundle_dirs.append(directory)
                self.script_link = None  # the new scripts' init sets their own
                # What `init` sends the master waits for the FilesAck: the master hears
                # script messages only from workers that have proven its files.
                self._held = []
                classes, events = self._load(load_path(directory, bundle))
                events.init.fire(environment=self)
            except Exception as exc:  # noqa: BLE001 - a broken script is reported, not raised
                self._held = None
                message = f"cannot run the master's test files: {exc}"
                self._channel.send(WorkerError(message, fatal=True))
                self._finish(WorkerOutcome("broken", message))
                return
            self._scripts, self._installed_sha = (classes, events), shas
        self._channel.send(FilesAck(files_sha=sha_map({f.path: f.content for f in bundle.files})))
        held, self._held = self._held or [], None
        for msg in held:
            self._channel.send(msg)

    # --- running tests (serialised by `_control`) -----------------------------------------

    async def _start(self, msg: Start) -> None:
        async with self._control:
            runner = self._runner
            if runner is not None and self._test_id == msg.test_id \
                    and runner.state in ("spawning", "running"):
                runner.set_targets(msg.targets, msg.spawn_rate)
                return
            await self._stop_users(grace=0.0)
            if self._scripts is None:
                raise HordeError("asked to start a test before any test files arrived")
            classes, events = self._scripts

            def number(key: str, default: float) -> float:
                value = msg.options.get(key)
                return float(value) if isinstance(value, (int, float)) else default

            options = RunOptions(
                host=msg.host,
                tags=frozenset(msg.tags) if msg.tags is not None else None,
                exclude_tags=frozenset(msg.exclude_tags) if msg.exclude_tags is not None else None,
                stop_timeout=number("stop_timeout", 0.0),
                request_timeout=number("request_timeout", 60.0),
                local_addresses=self.options.local_addresses,  # this machine's, not the master's
            )
            if self.script_link is not None and msg.script_options:
                self.script_link.apply_options(msg.script_options)  # before test_start
            self._test_id = msg.test_id
            self._outbox.begin(msg.test_id)
            plan = (arrival_plan(msg.arrival, sum(msg.targets.values()))
                    if msg.arrival is not None else None)
            self._runner = LocalRunner(
                classes, options, events, on_delta=self._on_delta, plan=plan,
                on_paced=self._on_paced,
                arrival_offset=msg.arrival.test_time if msg.arrival is not None else 0.0)
            self._runner.health.on_note = lambda note: self._channel.send(WorkerError(note))
            self._runner.population.pace = self._pace
            await self._runner.start(0, msg.spawn_rate, targets=msg.targets)
            self._state_changed()

    async def _update(self, msg: Update) -> None:
        async with self._control:
            if self._runner is not None and self._test_id == msg.test_id \
                    and self._runner.state in ("spawning", "running"):
                self._runner.set_targets(msg.targets, msg.spawn_rate)
                if msg.arrival is not None:
                    self._runner.switch_arrival(
                        arrival_plan(msg.arrival, sum(msg.targets.values())))

    async def _stop_test(self, test_id: str) -> None:
        asked = self._loop.time()
        async with self._control:
            log.debug("worker %s: stop of %s asked, handled after %.1f s", self.worker_id,
                      test_id, self._loop.time() - asked)
            if self._test_id == test_id:
                await self._stop_users(grace=None)
            log.debug("worker %s: stopped %.1f s after the ask", self.worker_id,
                      self._loop.time() - asked)
            # Said even when this test was never started here: the master waits for it.
            self._channel.send(StateChanged(state="stopped", test_id=test_id, users={}))

    async def _quit(self, reason: str) -> None:
        async with self._control:
            await self._stop_users(grace=None)
            self._finish(WorkerOutcome("quit", reason))

    async def _drop_superseded(self) -> None:
        async with self._control:
            log.warning("worker %s: the master moved this worker's users elsewhere; "
                        "they stop before it takes a new share", self.worker_id)
            await self._stop_users(grace=0.0)

    async def _stop_users(self, grace: float | None) -> None:
        runner = self._runner
        if runner is not None and runner.state not in ("stopped", "ready"):
            await runner.stop(grace=grace)  # its last tick hands over the final delta

    def _master_lost(self) -> None:
        runner = self._runner
        if runner is not None and runner.state not in ("stopped", "ready"):
            # Gates close now: no request starts from here on (the stop itself
            # may wait for requests already in flight).
            self._spawn(runner.stop(grace=0.0))

    # --- what goes to the master ----------------------------------------------------

    def send_message(self, kind: str, data: bytes) -> bool:
        """A script's message to the master; False when there is no master to send it to."""
        if not self._welcomed or self._channel.master_gone:
            return False
        if self._held is not None:  # the scripts' init, before the FilesAck
            if len(self._held) >= MAX_PENDING_REPORTS:
                return False
            self._held.append(MessageToMaster(kind, data))
            return True
        return self._channel.send(MessageToMaster(kind, data))

    def _on_delta(self, delta: StatsDelta) -> None:
        extra = self._report_extra()
        if not (delta.endpoints or delta.errors or delta.exceptions or extra) \
                or self._test_id is None:
            return
        self._outbox.add(delta, self._test_id, extra)
        self._flush_pending()

    def _report_extra(self) -> bytes:
        link = self.script_link
        if link is None:
            return b""
        try:
            return link.report_extra()
        except Exception as exc:  # noqa: BLE001 - the script's, never the clock's, failure
            log.warning("worker %s: the script's report data was left out: %s: %s",
                        self.worker_id, type(exc).__name__, exc)
            return b""

    def _on_paced(self, paced: PacedDelta) -> None:
        """The open model's figures of the interval (sent as they come; not resent)."""
        if self._test_id is None or not self._welcomed:
            return
        service = paced.service
        self._channel.send(ArrivalReport(
            test_id=self._test_id, iterations=paced.iterations, dropped=paced.dropped,
            dropped_by_endpoint=[DroppedCount(m, n, c) for m, n, c in paced.dropped_by_endpoint],
            service=delta_to_wire(service, test_id=self._test_id, seq=self._outbox.seq)
            if service.endpoints else None))

    def _flush_pending(self) -> None:
        if self._welcomed and not self._channel.master_gone:
            self._outbox.flush(self._channel.send)

    def _current_state(self) -> WorkerState:
        runner = self._runner
        return cast(WorkerState, runner.state) if runner is not None else "ready"

    def _state_changed(self) -> None:
        runner = self._runner
        counts = dict(runner.counts()) if runner is not None else {}
        state = self._current_state()
        if counts == self._sent_counts and state == self._sent_state:
            return
        if self._channel.master_gone:
            return
        if self._channel.send(StateChanged(state=state, test_id=self._test_id, users=counts)):
            self._sent_counts, self._sent_state = counts, state

    def _pace(self) -> float:
        """Back-pressure on ramps: slower while this process is over its health limits."""
        sample = self._last_health
        pace = pace_for(sample)
        if pace < 1.0 and not self._throttled and self._runner is not None:
            log.warning("worker %s: spawning slowed to %.0f%% (CPU %.0f%%, loop lag median "
                        "%.1f ms: over the health limits)", self.worker_id, pace * 100,
                        sample.cpu_percent, sample.loop_lag_p50_ms)
        self._throttled = pace < 1.0
        return pace

    def _heartbeat(self) -> None:
        if self._channel.master_gone:
            return  # act on that first (`_session`), send nothing new
        sample: HealthSample = self._health.sample()
        self._last_health = sample
        runner = self._runner
        users = runner.population.count if runner is not None else 0
        rss = self._rss.read()
        self._beat += 1
        # Class counts first: the master never shows a user total newer than them.
        self._state_changed()
        self._channel.send(WorkerHeartbeat(
            state=self._current_state(),
            users=users, cpu_percent=max(0.0, sample.cpu_percent),
            loop_lag_p99_ms=max(0.0, sample.loop_lag_p99_ms), memory_rss=rss, seq=self._beat,
            test_id=self._test_id,
            spawn_rate=runner.population.effective_spawn_rate if runner is not None else 0.0,
        ))
        self._flush_pending()
