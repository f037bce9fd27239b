"""The master: holds the test's state, hands out users, merges the fleet's statistics.

`MasterRunner` implements the `Controller` Protocol (horde.runtime.control),
so the web UI and the headless view drive it exactly like a local run. Its
start and stop steps and the plan it follows (``-u/-r``, stages, the script's
shape: the master runs it, workers never do) are `RunBase`'s; what is its
own is the fleet.

Invariants:

* a worker takes part only once `Admission` (horde.runtime.joining) has
  made it ``ready``: same version, its files proven by sha256;
* the per-worker targets sent are absolute: the plan's fleet-wide per-class
  counts split over the active workers in join order (`horde.plan.split`
  through horde.runtime.dispatch), recomputed in full whenever a worker
  joins, goes missing, comes back or leaves, or the plan's target changes;
* every report of the current test is merged into `aggregate` at the
  master's own test second, never a worker's clock; the master's totals are
  the sum of what the workers reported;
* a test has stopped only when every worker that held part of it has said
  so (after sending its last report) or has gone missing; so, without
  faults, the totals equal what the target answered;
* nothing a worker sends can stop the master: malformed frames never get
  here (horde.net drops them), a report that fails to convert is dropped,
  and any exception while handling one message drops that message only
  (`_handle_one`: counted in `failed_messages`, logged at a bounded rate);
* records of workers that never took part in a test and are gone (refused,
  left, lost before their first share) are pruned (`Fleet.prune`), so a
  stream of peers saying Hello does not grow the master.
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
from horde.net.droplog import DropLog
from horde.plan.arrival import ArrivalRate
from horde.plan.executor import Executor
from horde.report.model import RunInfo, WorkerSummary
from horde.runtime.dispatch import (
    arrival_shares,
    busy_workers,
    ended_share,
    placement_of,
    shrink_first,
    start_message,
    targets_for,
    unplaced_advice,
)
from horde.runtime.fleet import Fleet, WorkerRecord
from horde.runtime.health import HealthSample
from horde.runtime.joining import Admission
from horde.runtime.lifecycle import ACTIVE, RunOptions, RunState
from horde.runtime.limits import TOO_MANY_NAMES_ADVICE
from horde.runtime.runbase import RunBase
from horde.runtime.scriptlink import ScriptInbox, ScriptLink
from horde.stats import LatencyTable, RequestStats, StatsAggregate, StatsSnapshot
from horde.stats.openmodel import PacedAggregate
from horde.user import User
from horde.wire import (
    ArrivalReport,
    ArrivalShare,
    FilesAck,
    FilesBundle,
    Goodbye,
    Hello,
    MasterBound,
    MasterHeartbeat,
    MessageToMaster,
    MessageToWorker,
    Quit,
    ScriptOption,
    StateChanged,
    StatsReport,
    Stop,
    Update,
    WorkerError,
    WorkerHeartbeat,
    merge_report,
)

__all__ = ["MasterRunner", "OnSecond"]

log = logging.getLogger(__name__)

_RECEIVE_PAUSE_S = 0.05  # far below the 1 s heartbeat, far above a frame's cost
_LIVENESS_EVERY_S = 0.5  # a killed worker is seen within about this (kill -9: < 3 s)

OnSecond = Callable[[int, HealthSample], None]
"""Called once a test second has closed: (second, the worst worker's health)."""
_STOP_EXTRA_S = 10.0  # beyond stop + request timeouts, a silent worker is missing anyway
_RATE_SWITCH_S = 1.0  # a new split of the open model's rate starts this far ahead (delivery)


class MasterRunner(RunBase):
    def __init__(
        self,
        classes: Sequence[type[User]],
        options: RunOptions,
        events: Events,
        channel: MasterChannel,
        bundle: FilesBundle,
        *,
        on_second: OnSecond | None = None,
        plan: Executor | None = None,
    ) -> None:
        super().__init__(classes, options, events, asyncio.get_running_loop(), plan)
        self.channel = channel
        self.bundle = bundle
        self.fleet = Fleet()
        self._admission = Admission(channel, self.fleet, bundle, on_joined=self._joined,
                                    on_rejoin=self._rejoined)
        self.aggregate = StatsAggregate()
        self.paced_aggregate = PacedAggregate()  # the open model's figures from ArrivalReports
        self.test_id: str | None = None
        self._last_test_id: str | None = None
        self._warned_names = self._warned_errors = False
        self._on_second_cb = on_second
        self._class_targets: dict[str, int] = {}
        # When each worker was last sent a share, and last said it was at one:
        # "running" said after the share was sent means it reached that share
        # even if some of its users stopped themselves since (they stay stopped).
        self._share_sent_at: dict[str, float] = {}
        self._running_said_at: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._awaiting_stop: set[str] = set()
        self._all_stopped = asyncio.Event()
        self._fleet_changed = asyncio.Event()
        self._failures = DropLog(log, "master")
        self.failed_messages = 0
        """Messages dropped because handling them raised (each logged, at a bounded rate)."""
        self._rate_split: tuple[str, ...] = ()
        """The open model: the workers the rate is split over now, in order."""
        self._deferred = False
        """Some worker's share is held back until others have shrunk (`_rebalance`)."""
        self._quitting = False
        self.unplaced_users = 0
        """Users of the target that fit on no worker (capacity, saturation)."""
        self.unplaced_advice = ""
        self.script_link: ScriptLink | None = None
        """The test script's side of the fleet's traffic (horde.runtime.scriptlink)."""
        self.script_inbox = ScriptInbox()
        self._script_options: dict[str, ScriptOption] = {}

    # --- lifecycle of the master itself ---------------------------------------------------

    def serve(self) -> None:
        """Start hearing workers and heartbeating them (returns at once)."""
        self._tasks = [self._loop.create_task(self._receive(), name="master-recv"),
                       self._loop.create_task(self._liveness(), name="master-liveness")]

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.clock.end()

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

    def send_message(self, kind: str, data: bytes, worker_id: str | None = None) -> int:
        """A script's message to one worker, or to every ready one; how many it went to."""
        ids = [w.id for w in self.fleet.active()] if worker_id is None else [worker_id]
        return sum(self.channel.send(wid, MessageToWorker(kind, data)) for wid in ids)

    def quit_workers(self, reason: str = "the master is done") -> None:
        self._quitting = True  # they leave now because we asked: not "missing"
        for w in self.fleet.connected():
            self.channel.send(w.id, Quit(reason))

    # --- RunBase -------------------------------------------------------------------------

    def _begin_test(self) -> None:
        self._rate_split = ()
        self.test_id = self._last_test_id = uuid.uuid4().hex[:12]
        self.fleet.begin_test()
        # After test_start: a listener may still have set an option (Locust's order).
        link = self.script_link
        self._script_options = dict(link.options()) if link is not None else {}

    def _listener_failed(self, where: str, exc: Exception) -> None:
        """Count it with the results (exit code 1), as a local run does."""
        stats = RequestStats()
        stats.record_exception(where, exc)
        self.aggregate.apply(stats.take_delta(), self._second)

    def _apply(self, counts: Mapping[str, int], spawn_rate: float) -> None:
        self._class_targets = dict(counts)
        self._rebalance()

    async def _stop_load(self, grace: float | None) -> None:
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

    def _end_test(self) -> None:
        self.fleet.end_test()
        self.test_id = None

    def force_stop(self) -> None:
        """Second Ctrl-C: stop waiting for workers to confirm; the summary comes now."""
        self.request_stop()
        self._awaiting_stop.clear()
        self._all_stopped.set()

    def reset_stats(self) -> None:
        self.aggregate.reset()
        self.paced_aggregate.reset()
        self.clock.mark_stats_reset()
        for worker in self.fleet.all():  # the workers table must add up to the totals
            worker.requests = worker.second_requests = 0

    def snapshot(self) -> StatsSnapshot:
        snapshot = self.aggregate.snapshot(self.clock.stats_elapsed)
        if not isinstance(self.plan, ArrivalRate):
            return snapshot
        return self.paced_aggregate.decorate(snapshot, self.plan.rate_at(self.clock.elapsed) or 0.0,
                                             self.plan.max_lateness)

    def latency_table(self, edges_us: Sequence[int]) -> LatencyTable:
        return self.aggregate.latency_table(edges_us)

    @property
    def elapsed(self) -> float:
        return self.clock.elapsed

    @property
    def started_at(self) -> datetime | None:
        return self.clock.started_at

    @property
    def host(self) -> str | None:
        return self.options.host

    def info(self) -> RunInfo:
        return RunInfo(
            horde_version=__version__,
            started_at=(self.started_at or datetime.now(UTC)).isoformat(),
            duration_s=round(self.elapsed, 3),
            users=self.target_users,
            host=self.options.host or "",
            generator=self.fleet.run_health(),
            workers=self.workers(),
            unplaced_users=self.unplaced_users,
            unplaced_advice=self.unplaced_advice,
        )

    def counts(self) -> Mapping[str, int]:
        return self.fleet.class_users([c.__name__ for c in self.classes])

    def current_health(self) -> HealthSample:
        return self.fleet.current_health()

    def workers(self) -> list[WorkerSummary]:
        return self.fleet.summaries(self._loop.time())

    # --- dispatch --------------------------------------------------------------------------

    def class_targets(self, users: int) -> dict[str, int]:
        return targets_for(self.classes, users)

    def _rebalance(self) -> None:
        if self.test_id is None or self.state not in ACTIVE:
            return
        active = self.fleet.active()
        if not active:
            log.warning("no worker connected: the users wait for one to join")
            return
        now = self._loop.time()
        placement, rate = placement_of(self._class_targets, self.spawn_rate,
                                       {w.id: w.room(now) for w in active})
        shares = placement.shares
        self._note_unplaced(placement.unplaced_total, active)
        # Shrink before growing (dispatch.shrink_first); the rest follows when the
        # shrinking workers report (StateChanged calls back here).
        sent, self._deferred = shrink_first(
            shares, {w.id: w.class_users for w in active if w.test_id == self.test_id})
        arrival = self._split_rate(sent)
        for w in active:
            share = sent[w.id]
            if w.test_id == self.test_id:
                if share != w.assigned or w.id in arrival:
                    self.channel.send(w.id, Update(self.test_id, share, rate, arrival.get(w.id)))
                    self._share_sent_at[w.id] = self._loop.time()
            else:
                self.channel.send(w.id, start_message(self.test_id, share, rate, self.options,
                                                      arrival.get(w.id) or self._no_rate(),
                                                      self._script_options))
                self._share_sent_at[w.id] = self._loop.time()
                w.test_id, w.state, w.took_part = self.test_id, "running", True
            w.assigned = share
        log.info("users per worker: %s%s",
                 ", ".join(f"{w.id}={sum(shares[w.id].values())}" for w in active),
                 " (growing once the others have shrunk)" if self._deferred else "")

    def _split_rate(self, sent: Mapping[str, Mapping[str, int]]) -> dict[str, ArrivalShare]:
        """The open model: new shares of the rate when the workers holding users changed.

        Every worker that holds users has one share, from the test's start or,
        when the set changes during the test (a worker joined, or was lost),
        from the first fleet-wide iteration due `_RATE_SWITCH_S` from now (time
        for the message to arrive): the previous split ends there, so each
        iteration still runs on exactly one worker. A worker that no longer
        holds users gets an empty share. Unchanged set: no new shares ({}).
        """
        plan = self.plan
        if not isinstance(plan, ArrivalRate):
            return {}
        busy = busy_workers(sent)
        if busy == self._rate_split:
            return {}
        now = self.clock.elapsed
        # The first split of a test runs the schedule from its start (the start itself
        # takes a few ms); later ones begin a little ahead, when the message is there.
        first = (0 if now < _RATE_SWITCH_S else plan.first_due(now)) if not self._rate_split \
            else plan.first_due(now + _RATE_SWITCH_S)
        split = arrival_shares(plan, {wid: sent[wid] for wid in busy}, first=first,
                               test_time=now)
        for wid in self._rate_split:
            if wid not in split and wid in sent:
                split[wid] = ended_share(plan, first, now)
        if self._rate_split:
            log.info("the open model's rate is split anew from iteration %d: %s", first,
                     ", ".join(f"{wid}=1/{len(busy)}" for wid in busy) or "no worker")
        self._rate_split = busy
        return split

    def _no_rate(self) -> ArrivalShare | None:
        """The open model for a worker that starts the test with no share of the rate yet:
        it paces its users (none now) and takes a share when one comes (`Update`)."""
        plan = self.plan
        if not isinstance(plan, ArrivalRate):
            return None
        now = self.clock.elapsed
        return ended_share(plan, plan.first_due(now), now)

    def _note_unplaced(self, unplaced: int, active: list[WorkerRecord]) -> None:
        """Users that fit on no worker wait; say so (once per change) and what to add."""
        if unplaced == self.unplaced_users:
            return
        self.unplaced_users = unplaced
        if unplaced:
            self.unplaced_advice = unplaced_advice(unplaced, [w.capacity for w in active])
            log.warning("%s", self.unplaced_advice)
        else:
            self.unplaced_advice = ""
            log.info("every user is placed again")

    # --- the clocks ------------------------------------------------------------------------

    def _iterations_closed(self) -> int | None:
        return self.paced_aggregate.last_closed if isinstance(self.plan, ArrivalRate) else None

    def _close_second(self) -> None:
        if self.state is RunState.STOPPING:
            # The stop's last partial second: what the workers said last is in.
            self.aggregate.close_second(self._second, 0)
            self.paced_aggregate.close_second(self._second)
            return
        users = sum(w.users for w in self.fleet.active())
        self.aggregate.close_second(self._second, users)
        self.paced_aggregate.close_second(self._second)
        if self.aggregate.names_overflowed and not self._warned_names:
            self._warned_names = True
            log.warning(TOO_MANY_NAMES_ADVICE)
        if self.aggregate.errors_overflowed and not self._warned_errors:
            self._warned_errors = True
            log.warning("too many distinct errors or exceptions: the rest are counted together")
        self.fleet.close_second()
        if self._on_second_cb is not None:
            self._on_second_cb(self._second, self.current_health())

    def _ramp_done(self) -> bool:
        active = self.fleet.active()
        return bool(active) and all(
            w.worker_state == "running" and (
                w.class_users == w.assigned
                or self._running_said_at.get(w.id, -1.0) > self._share_sent_at.get(w.id, 0.0))
            for w in active)

    async def _liveness(self) -> None:
        """Heartbeat the workers; the transport says who is gone, silence only who is slow.

        A worker whose connection dropped (killed, stopped past the ZMTP
        heartbeat timeout, cut off) is marked missing and its users move; one
        that is connected but silent keeps its users and shows as saturated
        (horde.net.peers). Before a verdict, what arrived meanwhile is read:
        a worker that said Goodbye and then went away has left, not vanished.
        """
        while True:
            await asyncio.sleep(_LIVENESS_EVERY_S)
            if self._quitting:
                continue
            beat = MasterHeartbeat(test_time=round(self.elapsed, 3), test_id=self.test_id)
            gone = [w for w in self.fleet.connected()
                    if self.channel.deliver(w.id, beat) == "gone"]
            if gone:
                await self._drain_received()
                gone = [w for w in gone if w in self.fleet.connected()
                        and self.channel.deliver(w.id, beat) == "gone"]
            self.fleet.prune(self._loop.time())
            for w in gone:
                log.warning("worker %s is gone (its connection dropped): marked missing; "
                            "its users move to the others", w.id)
                self.fleet.mark_missing(w)
                self._stopped_or_gone(w.id)
            if gone:
                self._fleet_changed.set()
                self._rebalance()
            for w in self.fleet.newly_slow(self._loop.time()):
                log.warning("worker %s %s", w.id, w.warnings[-1] if w.warnings else "is slow")
            if self.unplaced_users and not gone:
                self._rebalance()  # room may have come back (a worker recovered)

    async def _drain_received(self) -> None:
        """Until the receive loop has handled every frame queued now (bounded)."""
        deadline = self._loop.time() + 1.0
        while self.channel.has_queued() and self._loop.time() < deadline:
            await asyncio.sleep(_RECEIVE_PAUSE_S)
        await asyncio.sleep(_RECEIVE_PAUSE_S)  # a batch taken but not yet handled

    # --- messages from workers ---------------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            try:
                batch = await self.channel.recv_many()
            except HordeError as exc:
                log.error("%s", exc)
                return
            for wid, msg in batch:
                self._handle_one(wid, msg)
            # Let messages gather: a few wake-ups a second instead of one per frame.
            await asyncio.sleep(_RECEIVE_PAUSE_S)

    def _handle_one(self, wid: str, msg: MasterBound) -> None:
        """Handle one message; whatever it raises drops it alone, never the receive loop."""
        try:
            self._handle(wid, msg)
        except Exception as exc:  # noqa: BLE001 - one peer's message must not stop the master
            self.failed_messages += 1
            self._failures.event(f"dropped a {type(msg).__name__} from worker {wid!r}: "
                                 f"{type(exc).__name__}: {exc}")

    def _handle(self, wid: str, msg: MasterBound) -> None:
        now = self._loop.time()
        if isinstance(msg, Hello):
            self._admission.hello(wid, msg, now)
            return
        record = self.fleet.seen(wid, now)
        if record is None or record.state in ("left", "lost"):
            if record is None:
                log.debug("ignored %s from unknown worker %s", type(msg).__name__, wid)
            return
        if record.state == "missing":
            # Its connection dropped, so it lost us too: it stops its users and
            # says Hello again (horde.runtime.worker). Until then it gets no
            # share; what it reports meanwhile was served, so it still counts.
            if isinstance(msg, StatsReport):
                self._report(record, msg)
            return
        if isinstance(msg, StatsReport):
            self._report(record, msg)
        elif isinstance(msg, ArrivalReport):
            self._arrival_report(record, msg)
        elif isinstance(msg, WorkerHeartbeat):
            warning = record.heartbeat(msg.cpu_percent, msg.loop_lag_p99_ms, msg.users,
                                       msg.memory_rss, msg.state, msg.spawn_rate)
            if warning:
                log.warning("worker %s %s", wid, warning)
        elif isinstance(msg, StateChanged):
            record.class_users, record.worker_state = dict(msg.users), msg.state
            record.users = sum(msg.users.values())
            if msg.state == "running" and msg.test_id == self.test_id:
                self._running_said_at[wid] = now
            if msg.state == "stopped" and msg.test_id == self.test_id:
                self._stopped_or_gone(wid)
            elif self._deferred:
                self._rebalance()
        elif isinstance(msg, FilesAck):
            self._admission.files_ack(record, msg)
        elif isinstance(msg, WorkerError):
            log.warning("worker %s: %s", wid, msg.message)
            record.warn(msg.message)
            if msg.fatal:
                self._leave(record, "failed")
        elif isinstance(msg, Goodbye):
            self._leave(record, "left")
        elif isinstance(msg, MessageToMaster):
            # Only from a worker that has proven it runs our files: the script's handlers
            # are not the place to meet strangers.
            self.script_inbox.received(self.script_link, wid, msg.kind, msg.data,
                                       joined=record.state in ("ready", "running"))

    def _joined(self, record: WorkerRecord) -> None:
        self._fleet_changed.set()
        self._rebalance()

    def _rejoined(self, wid: str, was_in_test: bool) -> None:
        self._stopped_or_gone(wid)  # a stop it had not confirmed is moot now
        if was_in_test:
            self._rebalance()  # it rejoins afresh: the others take its users meanwhile

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

    def _arrival_report(self, record: WorkerRecord, report: ArrivalReport) -> None:
        if report.test_id not in (self.test_id, self._last_test_id):
            return
        paced = self.paced_aggregate
        if report.service is not None:
            try:
                merge_report(paced.service, report.service, self._second)
            except ProtocolError as exc:
                log.warning("dropped an open-model report of worker %s: %s", record.id, exc)
                return
        paced.add_counts(report.iterations, report.dropped, self._second,
                         [(d.method, d.name, d.count) for d in report.dropped_by_endpoint])

    def _report(self, record: WorkerRecord, report: StatsReport) -> None:
        if report.test_id not in (self.test_id, self._last_test_id):
            return  # a report of an older test, sent late after a reconnect
        try:
            # The columnar fast path: no per-endpoint Python objects on the master.
            requests = merge_report(self.aggregate, report, self._second)
        except ProtocolError as exc:
            self._failures.event(f"dropped a statistics report of worker {record.id}: {exc}")
            return
        record.requests += requests
        record.second_requests += requests
        if self.script_link is not None:
            self.script_link.worker_report(record.id, report.extra)
