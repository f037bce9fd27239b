"""The master: holds the test's state, hands out users, merges the fleet's statistics.

`MasterRunner` implements the `Controller` Protocol (horde.runtime.control),
so the web UI and the headless view drive it exactly like a local run.

Invariants:

* a worker takes part only after proving, by sha256, that it runs the
  master's files (`Hello.files_sha` equal to the master's, or a `FilesAck`
  equal to the shipped bundle), and only if it speaks the same protocol and
  horde version; everything else is refused in words naming the cause;
* the per-worker targets sent are absolute (`horde.plan.split_users` over the
  active workers in join order), and recomputed in full whenever a worker
  joins, goes missing, comes back or leaves, or the user count changes; the
  spawn rate is split so the fleet-wide rate holds;
* every report of the current test is merged into `aggregate` at the
  master's own test second, never a worker's clock; the master's totals are
  the sum of what the workers reported;
* a test has stopped only when every worker that held part of it has said
  so (after sending its last report) or has gone missing; so, without
  faults, the totals equal what the target answered;
* nothing a worker sends can stop the master: malformed frames never get
  here (horde.net drops them), and a report that fails to convert is dropped
  and logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from horde._version import __version__
from horde.errors import HordeError, ProtocolError
from horde.events import Events
from horde.net import MasterChannel
from horde.plan.split import class_counts, split_rate, split_users
from horde.report.model import GeneratorHealth, RunInfo, WorkerSummary
from horde.runtime.fleet import Fleet, WorkerRecord
from horde.runtime.health import HealthSample
from horde.runtime.local import RunOptions
from horde.stats import StatsAggregate, StatsSnapshot
from horde.user import User
from horde.wire import (
    PROTOCOL_VERSION,
    FilesAck,
    FilesBundle,
    Goodbye,
    Hello,
    MasterBound,
    MasterHeartbeat,
    Quit,
    Refuse,
    Start,
    StateChanged,
    StatsReport,
    Stop,
    Update,
    Welcome,
    WorkerError,
    WorkerHeartbeat,
    delta_from_wire,
    differing_files,
)

__all__ = ["MasterRunner", "OnSecond"]

log = logging.getLogger(__name__)

OnSecond = Callable[[int, HealthSample], None]
"""Called once a test second has closed: (second, the worst worker's health)."""
_STOP_EXTRA_S = 10.0  # beyond stop + request timeouts, a silent worker is missing anyway


class MasterRunner:
    def __init__(
        self,
        classes: Sequence[type[User]],
        options: RunOptions,
        events: Events,
        channel: MasterChannel,
        bundle: FilesBundle,
        *,
        on_second: OnSecond | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.classes = tuple(classes)
        self.options = options
        self.events = events
        self.channel = channel
        self.bundle = bundle
        self._files_sha = {f.path: f.sha256 for f in bundle.files}
        self.fleet = Fleet()
        self.aggregate = StatsAggregate()
        self.state: str = "ready"  # a RunState; str so it satisfies Controller
        self.target_users = 0
        self.spawn_rate = 1.0
        self.test_id: str | None = None
        self._last_test_id: str | None = None
        self.started_at: datetime | None = None
        self._start_time = 0.0
        self._end_time: float | None = None
        self._second = 0
        self._on_second = on_second
        self._tasks: list[asyncio.Task[None]] = []
        self._ticker: asyncio.Task[None] | None = None
        self._run_timer: asyncio.TimerHandle | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._awaiting_stop: set[str] = set()
        self._all_stopped = asyncio.Event()
        self._fleet_changed = asyncio.Event()

    # --- lifecycle of the master itself ---------------------------------------------------

    def serve(self) -> None:
        """Start hearing workers and heartbeating them (returns at once)."""
        self._tasks = [self._loop.create_task(self._receive(), name="master-recv"),
                       self._loop.create_task(self._liveness(), name="master-liveness")]

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._ticker is not None:
            self._ticker.cancel()

    async def wait_for_workers(self, n: int, max_wait: float) -> bool:
        """Until `n` workers are ready (False if `max_wait` > 0 passed first)."""
        deadline = self._loop.time() + max_wait if max_wait > 0 else None
        while len(self.fleet.active()) < n:
            self._fleet_changed.clear()
            timeout = None if deadline is None else deadline - self._loop.time()
            if timeout is not None and timeout <= 0:
                return False
            try:
                await asyncio.wait_for(self._fleet_changed.wait(), timeout)
            except TimeoutError:
                return False
        return True

    def quit_workers(self, reason: str = "the master is done") -> None:
        for w in self.fleet.connected():
            self.channel.send(w.id, Quit(reason))

    # --- Controller ------------------------------------------------------------------------

    async def start(self, users: int, spawn_rate: float, host: str | None = None,
                    run_time: float | None = None) -> None:
        if self.state in ("spawning", "running"):
            self.update(users, spawn_rate)
            return
        if self.state == "stopping":
            await self._stopped.wait()
        if host is not None:
            self.options = RunOptions(host, self.options.tags, self.options.exclude_tags,
                                      self.options.stop_timeout, self.options.request_timeout)
        self.class_targets(users)  # a bad count is the caller's UsageError, before anything
        try:
            self.events.test_start.fire(environment=self)
        except Exception as exc:  # noqa: BLE001 - reported with the results; the test goes on
            log.warning("a test_start listener raised %s: %s", type(exc).__name__, exc)
        self.test_id = self._last_test_id = uuid.uuid4().hex[:12]
        self.started_at = datetime.now(UTC)
        self._start_time, self._end_time, self._second = self._loop.time(), None, 0
        self._stopped.clear()
        self._stop_task = None
        self.fleet.begin_test()
        self._ticker = self._loop.create_task(self._tick_loop(), name="master-tick")
        if run_time is not None:
            self._run_timer = self._loop.call_later(run_time, self.request_stop)
        self.update(users, spawn_rate)

    def update(self, users: int, spawn_rate: float) -> None:
        if self.state == "stopping" or self.test_id is None:
            return
        self.target_users, self.spawn_rate = users, spawn_rate
        self.state = "spawning"
        self._rebalance()

    def request_stop(self) -> None:
        if self.state in ("stopping", "stopped") or self._stop_task is not None:
            return
        self._stop_task = self._loop.create_task(self.stop())

    async def stop(self) -> None:
        if self.state in ("stopping", "stopped"):
            await self._stopped.wait()
            return
        if self.state == "ready":
            self.state = "stopped"
            self._stopped.set()
            return
        self.state = "stopping"
        if self._run_timer is not None:
            self._run_timer.cancel()
        self.fleet.begin_stop()
        assert self.test_id is not None
        self._awaiting_stop = {w.id for w in self.fleet.active() if w.test_id == self.test_id}
        self._all_stopped.clear()
        for wid in self._awaiting_stop:
            self.channel.send(wid, Stop(self.test_id))
        if self._awaiting_stop:
            limit = self.options.stop_timeout + self.options.request_timeout + _STOP_EXTRA_S
            try:
                await asyncio.wait_for(self._all_stopped.wait(), limit)
            except TimeoutError:
                log.warning("workers %s did not confirm the stop in time",
                            ", ".join(sorted(self._awaiting_stop)))
        if self._ticker is not None:
            self._ticker.cancel()
        self._end_time = self._loop.time()
        self.aggregate.close_second(self._second, 0)
        try:
            self.events.test_stop.fire(environment=self)
        except Exception as exc:  # noqa: BLE001 - keep the results
            log.warning("a test_stop listener raised %s: %s", type(exc).__name__, exc)
        self.fleet.end_test()
        self.test_id = None
        self.state = "stopped"
        self._stopped.set()

    def force_stop(self) -> None:
        """Second Ctrl-C: stop waiting for workers to confirm; the summary comes now."""
        self.request_stop()
        self._awaiting_stop.clear()
        self._all_stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def reset_stats(self) -> None:
        self.aggregate.reset()

    def snapshot(self) -> StatsSnapshot:
        return self.aggregate.snapshot(self.elapsed)

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self._end_time or self._loop.time()) - self._start_time

    @property
    def host(self) -> str | None:
        return self.options.host

    def info(self) -> RunInfo:
        workers = self.fleet.all()
        return RunInfo(
            horde_version=__version__,
            started_at=(self.started_at or datetime.now(UTC)).isoformat(),
            duration_s=round(self.elapsed, 3),
            users=self.target_users,
            host=self.options.host or "",
            generator=GeneratorHealth(
                cpu_percent_max=max((w.cpu_percent_max for w in workers), default=0.0),
                loop_lag_p99_ms=max((w.loop_lag_p99_ms for w in workers), default=0.0),
            ),
            workers=self.workers(),
        )

    def counts(self) -> Mapping[str, int]:
        out = {c.__name__: 0 for c in self.classes}
        for w in self.fleet.active():
            for name, n in w.class_users.items():
                out[name] = out.get(name, 0) + n
        return out

    def current_health(self) -> HealthSample:
        active = self.fleet.active()
        return HealthSample(max((w.cpu_percent for w in active), default=0.0),
                            max((w.loop_lag_p99_ms for w in active), default=0.0))

    def workers(self) -> list[WorkerSummary]:
        return self.fleet.summaries(self._loop.time())

    # --- dispatch --------------------------------------------------------------------------

    def _specs(self) -> list[tuple[str, float, int]]:
        return [(c.__name__, c.weight, c.fixed_count) for c in self.classes]

    def class_targets(self, users: int) -> dict[str, int]:
        return class_counts(self._specs(), users)

    def _rebalance(self) -> None:
        if self.test_id is None or self.state not in ("spawning", "running"):
            return
        active = self.fleet.active()
        if not active:
            log.warning("no worker connected: the users wait for one to join")
            return
        shares = split_users(self._specs(), self.target_users, [w.id for w in active])
        rate = split_rate(self.spawn_rate, len(active))
        for w in active:
            share = shares[w.id]
            if w.test_id == self.test_id:
                if share != w.assigned:
                    self.channel.send(w.id, Update(self.test_id, share, rate))
            else:
                self.channel.send(w.id, Start(
                    test_id=self.test_id, targets=share, spawn_rate=rate,
                    host=self.options.host,
                    tags=sorted(self.options.tags) if self.options.tags is not None else None,
                    exclude_tags=(sorted(self.options.exclude_tags)
                                  if self.options.exclude_tags is not None else None),
                    options={"stop_timeout": self.options.stop_timeout,
                             "request_timeout": self.options.request_timeout},
                ))
                w.test_id, w.state = self.test_id, "running"
            w.assigned = share
        log.info("users per worker: %s",
                 ", ".join(f"{w.id}={sum(shares[w.id].values())}" for w in active))

    # --- the clocks ------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        next_at = self._start_time + 1.0
        while True:
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))
            next_at += 1.0
            users = sum(w.users for w in self.fleet.active())
            self.aggregate.close_second(self._second, users)
            self.fleet.close_second()
            if self.state == "spawning" and self._ramp_done():
                self.state = "running"
            if self._on_second is not None:
                self._on_second(self._second, self.current_health())
            self._second += 1

    def _ramp_done(self) -> bool:
        active = self.fleet.active()
        return bool(active) and all(
            w.class_users == w.assigned and w.worker_state == "running" for w in active)

    async def _liveness(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            now = self._loop.time()
            beat = MasterHeartbeat(test_time=round(self.elapsed, 3), test_id=self.test_id)
            for w in self.fleet.connected():
                self.channel.send(w.id, beat)
            gone = self.fleet.find_silent(now)
            for w in gone:
                log.warning("worker %s is silent: marked missing; its users move to the others",
                            w.id)
                self._stopped_or_gone(w.id)
            if gone:
                self._fleet_changed.set()
                self._rebalance()

    # --- messages from workers ---------------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            try:
                wid, msg = await self.channel.recv()
            except HordeError as exc:
                log.error("%s", exc)
                return
            try:
                self._handle(wid, msg)
            except (ProtocolError, ValueError) as exc:
                log.warning("dropped a message from worker %s: %s", wid, exc)

    def _handle(self, wid: str, msg: MasterBound) -> None:
        now = self._loop.time()
        if isinstance(msg, Hello):
            self._hello(wid, msg, now)
            return
        record = self.fleet.seen(wid, now)
        if record is None or record.state in ("left", "lost"):
            if record is None:
                log.debug("ignored %s from unknown worker %s", type(msg).__name__, wid)
            return
        if record.state == "missing":
            # Heard again without a new Hello: it never lost us; it rejoins.
            log.warning("worker %s is back; it gets its share again", wid)
            record.state = "running"
            self._fleet_changed.set()
            self._rebalance()
        if isinstance(msg, StatsReport):
            self._report(record, msg)
        elif isinstance(msg, WorkerHeartbeat):
            warning = record.heartbeat(msg.cpu_percent, msg.loop_lag_p99_ms, msg.users,
                                       msg.memory_rss, msg.state)
            if warning:
                log.warning("worker %s %s", wid, warning)
        elif isinstance(msg, StateChanged):
            record.class_users, record.worker_state = dict(msg.users), msg.state
            record.users = sum(msg.users.values())
            if msg.state == "stopped" and msg.test_id == self.test_id:
                self._stopped_or_gone(wid)
        elif isinstance(msg, FilesAck):
            self._files_ack(record, msg)
        elif isinstance(msg, WorkerError):
            log.warning("worker %s: %s", wid, msg.message)
            record.warn(msg.message)
            if msg.fatal:
                self._leave(record, "failed")
        elif isinstance(msg, Goodbye):
            self._leave(record, "left")

    def _refuse(self, wid: str, reason: str) -> None:
        log.warning("refused worker %s: %s", wid, reason)
        self.channel.send(wid, Refuse(reason))

    def _hello(self, wid: str, msg: Hello, now: float) -> None:
        if msg.worker_id != wid:
            self._refuse(wid, f"its Hello names worker {msg.worker_id!r} but it connected as "
                              f"{wid!r}")
            return
        if msg.protocol != PROTOCOL_VERSION or msg.horde_version != __version__:
            self._refuse(wid, f"version mismatch: the worker runs horde {msg.horde_version} "
                              f"(protocol {msg.protocol}), the master horde {__version__} "
                              f"(protocol {PROTOCOL_VERSION}); install the same version on both")
            return
        if msg.files_sha is not None:
            differ = differing_files(self._files_sha, msg.files_sha)
            if differ:
                self._refuse(wid, "its own test files (-f) differ from the master's: "
                                  + ", ".join(differ)
                                  + "; start the worker without -f to run the master's files")
                return
        known = self.fleet.get(wid)
        if known is not None and known.state in ("joining", "ready", "running") \
                and (known.host, known.pid) != (msg.host, msg.pid):
            self._refuse(wid, f"worker id {wid!r} is already in use by another worker")
            return
        was_in_test = known is not None and known.test_id is not None
        self._stopped_or_gone(wid)  # a stop it had not confirmed is moot now
        record = self.fleet.add(wid, msg.host, msg.pid, now)
        self.channel.send(wid, Welcome(master_version=__version__))
        if was_in_test:
            self._rebalance()  # it rejoins afresh: the others take its users meanwhile
        if msg.files_sha is not None:
            self._files_ok(record)
        else:
            self.channel.send(wid, self.bundle)

    def _files_ack(self, record: WorkerRecord, msg: FilesAck) -> None:
        if record.state != "joining":
            return
        differ = differing_files(self._files_sha, msg.files_sha)
        if differ:
            self._refuse(record.id, "the files it installed differ from the master's: "
                                    + ", ".join(differ))
            record.state = "left"
            return
        self._files_ok(record)

    def _files_ok(self, record: WorkerRecord) -> None:
        record.state = "ready"
        log.info("worker %s (%s, pid %d) joined", record.id, record.host, record.pid)
        self._fleet_changed.set()
        self._rebalance()

    def _leave(self, record: WorkerRecord, state: str) -> None:
        record.state, record.test_id, record.users = state, None, 0
        self._stopped_or_gone(record.id)
        self._fleet_changed.set()
        self._rebalance()

    def _stopped_or_gone(self, wid: str) -> None:
        if wid in self._awaiting_stop:
            self._awaiting_stop.discard(wid)
            if not self._awaiting_stop:
                self._all_stopped.set()

    def _report(self, record: WorkerRecord, report: StatsReport) -> None:
        if report.test_id not in (self.test_id, self._last_test_id):
            return  # a report of an older test, sent late after a reconnect
        try:
            delta = delta_from_wire(report)
        except ProtocolError as exc:
            log.warning("dropped a statistics report of worker %s: %s", record.id, exc)
            return
        self.aggregate.apply(delta, self._second)
        requests = sum(ep.requests for ep in delta.endpoints)
        record.requests += requests
        record.second_requests += requests
