"""The master's picture of its workers: who is there, in what state, how healthy.

Pure bookkeeping, no I/O and no clock of its own: every method that depends
on time takes ``now`` (the master loop's monotonic seconds), so the rules can
be tested without sleeping.

States of a worker, as the master sees it:

* ``joining``  — said Hello and was welcomed; its files are not proven yet;
* ``ready``    — files proven, has not taken part in a test yet;
* ``running``  — has taken part in a test; holds its share while one runs
  (``test_id`` says which);
* ``missing``  — its connection dropped (the transport's verdict, see
  horde.net.peers); its users were moved to the others, its statistics so
  far are kept; it rejoins with a new Hello if it comes back;
* ``lost``     — still missing when the test ended (reported with 0 users);
* ``left``     — said Goodbye;
* ``done``     — shown, not held: a ready or running worker after its test
  ended (the summary and JSON say what became of each worker).

Silence is not death: a connected worker not heard for `SLOW_AFTER_S` keeps
its users and shows as saturated (its loop is blocked or starved).

Invariants:

* `active()` (the workers that get users) is exactly the ``ready`` and
  ``running`` workers, in the order they first joined, so a rebalance after a
  join or a loss moves as few users as `horde.plan.split_users` allows;
* a worker's ``requests`` only grow (the sum of its reports), whatever its state;
* a saturation warning is recorded once per streak of `SATURATED_FOR_S`
  consecutive saturated heartbeats, not once per heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from horde.report.model import GeneratorHealth, WorkerSummary
from horde.runtime.health import CPU_LIMIT_PERCENT, LAG_LIMIT_MS, HealthSample
from horde.stats import Histogram

__all__ = ["Fleet", "WorkerRecord", "SLOW_AFTER_S", "SATURATED_FOR_S", "PRUNE_AFTER_S"]

SLOW_AFTER_S = 3.0
PRUNE_AFTER_S = 30.0
"""A worker missing this long that never took part in a test is forgotten."""
SATURATED_FOR_S = 5
_MAX_WARNINGS = 20  # per worker: a flapping worker must not grow the summary forever
_MAX_RUN_WARNINGS = 50  # over the whole fleet, in the run's generator verdict


@dataclass
class WorkerRecord:
    id: str
    host: str
    pid: int
    joined_at: float
    state: str = "joining"
    last_seen: float = 0.0
    test_id: str | None = None
    """The test whose share it was last sent (None: holds nothing)."""
    took_part: bool = False
    """It was sent a share of some test (then it stays in the summary for good)."""
    users: int = 0
    final_users: int | None = None
    """Users held when the test began stopping (what the summary shows)."""
    class_users: dict[str, int] = field(default_factory=dict)
    assigned: dict[str, int] = field(default_factory=dict)
    worker_state: str = "ready"
    requests: int = 0
    cpu_percent_max: float = 0.0
    cpu_percent: float = 0.0
    loop_lag_ms: float = 0.0
    """Loop-lag p99 in the last heartbeat."""
    memory_rss: int = 0
    warnings: list[str] = field(default_factory=list)
    rps: float = 0.0
    """Requests it reported during the master's last closed second."""
    capacity: int | None = None
    """Users it can hold, as its Hello said (None: no known limit)."""
    spawn_rate: float = 0.0
    """Its effective spawn rate (after back-pressure), as its last heartbeat said."""
    second_requests: int = 0
    _lags: Histogram = field(default_factory=Histogram, repr=False)
    _lag_p99_ms: float = field(default=0.0, repr=False)
    _lags_new: bool = field(default=False, repr=False)
    _streak: int = field(default=0, repr=False)
    _slow_noted: bool = field(default=False, repr=False)
    done: bool = False
    """It took part in the test that ended (shown as ``done``)."""

    def warn(self, message: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(message)

    def heartbeat(self, cpu: float, lag_p99_ms: float, users: int, memory: int,
                  state: str, spawn_rate: float = 0.0) -> str | None:
        """Record one heartbeat; returns a warning when a saturation streak reaches its limit."""
        self.cpu_percent, self.users, self.memory_rss = cpu, users, memory
        self.loop_lag_ms = lag_p99_ms
        self.spawn_rate = spawn_rate
        self.worker_state = state
        self.cpu_percent_max = max(self.cpu_percent_max, cpu)
        # Folded only when read: a heartbeat must stay cheap with 1,000 workers.
        self._lags.record(int(lag_p99_ms * 1000.0))
        self._lags_new = True
        saturated = cpu > CPU_LIMIT_PERCENT or lag_p99_ms > LAG_LIMIT_MS
        self._streak = self._streak + 1 if saturated else 0
        if self._streak != SATURATED_FOR_S:
            return None
        message = (f"saturated for {SATURATED_FOR_S} s (CPU {cpu:.0f}%, loop lag p99 "
                   f"{lag_p99_ms:.1f} ms): its latency figures include its own delay; "
                   "add workers or give each fewer users")
        self.warn(message)
        return message

    @property
    def loop_lag_p99_ms(self) -> float:
        """p99 of the per-second loop-lag p99s this worker reported."""
        if self._lags_new:
            self._lags.fold()
            self._lag_p99_ms = round(self._lags.percentile(0.99) / 1000.0, 2)
            self._lags_new = False
        return self._lag_p99_ms

    @property
    def saturated(self) -> bool:
        return self._streak >= SATURATED_FOR_S

    def room(self, now: float) -> int | None:
        """How many users it may be given: its capacity, and, while it is
        saturated, no more than it was given already (never pile onto it)."""
        cap = self.capacity
        if self.test_id is not None and (self.saturated or self.silent_for(now) >= SLOW_AFTER_S):
            given = sum(self.assigned.values())
            cap = given if cap is None else min(cap, given)
        return cap

    def silent_for(self, now: float) -> float:
        return max(0.0, now - self.last_seen)

    def shown_state(self) -> str:
        return "done" if self.done and self.state in ("ready", "running") else self.state

    def close_second(self) -> None:
        self.rps, self.second_requests = float(self.second_requests), 0

    def summary(self, now: float) -> WorkerSummary:
        lost = self.state == "lost"
        connected = self.state in ("ready", "running")
        slow = connected and self.test_id is not None and self.silent_for(now) >= SLOW_AFTER_S
        return WorkerSummary(
            id=self.id, host=self.host, state=self.shown_state(),
            users=0 if lost else (self.users if self.final_users is None else self.final_users),
            requests=self.requests,
            cpu_percent_max=self.cpu_percent_max, loop_lag_p99_ms=self.loop_lag_p99_ms,
            warnings=list(self.warnings), rps=self.rps, cpu_percent=self.cpu_percent,
            memory_bytes=self.memory_rss, heartbeat_age_s=round(max(0.0, now - self.last_seen), 1),
            saturated=(self.saturated and connected) or slow,
            loop_lag_ms=self.loop_lag_ms,
            spawn_rate=round(self.spawn_rate, 1) if connected else 0.0,
            capacity=self.capacity,
        )


class Fleet:
    """Every worker the master has welcomed during its life, by id."""

    def __init__(self) -> None:
        self._workers: dict[str, WorkerRecord] = {}

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._workers

    def __len__(self) -> int:
        return len(self._workers)

    def get(self, worker_id: str) -> WorkerRecord | None:
        return self._workers.get(worker_id)

    def all(self) -> list[WorkerRecord]:
        return list(self._workers.values())

    def add(self, worker_id: str, host: str, pid: int, now: float,
            capacity: int | None = None) -> WorkerRecord:
        """A welcomed worker (a returning one keeps its statistics and warnings)."""
        record = self._workers.get(worker_id)
        if record is None:
            record = WorkerRecord(worker_id, host, pid, joined_at=now)
            self._workers[worker_id] = record
        record.host, record.pid, record.capacity = host, pid, capacity
        record.state, record.last_seen, record.test_id = "joining", now, None
        return record

    def active(self) -> list[WorkerRecord]:
        """Workers that hold (or should hold) users, in join order."""
        return sorted((w for w in self._workers.values() if w.state in ("ready", "running")),
                      key=lambda w: w.joined_at)

    def connected(self) -> list[WorkerRecord]:
        """Workers the master heartbeats: joining, ready or running."""
        return [w for w in self._workers.values() if w.state in ("joining", "ready", "running")]

    def seen(self, worker_id: str, now: float) -> WorkerRecord | None:
        record = self._workers.get(worker_id)
        if record is not None:
            record.last_seen = now
        return record

    def mark_missing(self, w: WorkerRecord) -> None:
        """Its connection dropped: it holds nothing from now on."""
        w.state, w.test_id, w.users = "missing", None, 0
        w.class_users, w.assigned = {}, {}
        w.warn("its connection dropped: marked missing, users moved")

    def newly_slow(self, now: float) -> list[WorkerRecord]:
        """Connected workers holding users that just passed `SLOW_AFTER_S` of silence.

        They keep their users (slow is not dead); each silence is noted once.
        """
        out = []
        for w in self.active():
            silent = w.silent_for(now) >= SLOW_AFTER_S and w.test_id is not None
            if silent and not w._slow_noted:
                w.warn(f"silent for over {SLOW_AFTER_S:.0f} s while connected: its loop is "
                       "blocked or starved (saturated); it keeps its users")
                out.append(w)
            w._slow_noted = silent
        return out

    def prune(self, now: float) -> list[str]:
        """Forget workers that never took part and are gone for good; return their ids.

        Gone: it left, failed or was refused, or it has been missing for
        `PRUNE_AFTER_S`. Workers that took part stay: the summary lists them.
        """
        gone = [w.id for w in self._workers.values() if not w.took_part and (
            w.state in ("left", "failed", "lost")
            or (w.state == "missing" and now - w.last_seen >= PRUNE_AFTER_S))]
        for worker_id in gone:
            del self._workers[worker_id]
        return gone

    def begin_stop(self) -> None:
        """A test begins stopping: remember what each worker held."""
        for w in self._workers.values():
            w.final_users = w.users if w.state in ("ready", "running") else 0

    def end_test(self) -> None:
        """A test ended: missing workers are lost; the others hold nothing now."""
        for w in self._workers.values():
            if w.state == "missing":
                w.state = "lost"
                w.users = 0
            w.done = w.test_id is not None and w.state in ("ready", "running")
            w.test_id = None
            w.assigned = {}

    def begin_test(self) -> None:
        for w in self._workers.values():
            w.final_users, w.done = None, False

    def close_second(self) -> None:
        for w in self._workers.values():
            w.close_second()

    def class_users(self, names: list[str]) -> dict[str, int]:
        """Users running now per class, over the active workers (every name present)."""
        out = dict.fromkeys(names, 0)
        for w in self.active():
            for name, n in w.class_users.items():
                out[name] = out.get(name, 0) + n
        return out

    def current_health(self) -> HealthSample:
        """The worst active worker's last heartbeat."""
        active = self.active()
        return HealthSample(max((w.cpu_percent for w in active), default=0.0),
                            max((w.loop_lag_p99_ms for w in active), default=0.0))

    def run_health(self) -> GeneratorHealth:
        """The worst figures any worker had during the master's life."""
        workers = self.all()
        # The run's verdict carries each worker's warnings, named, once each:
        # a distributed result must say when its generators distorted it,
        # as a local one does (each worker keeps its own list too).
        warnings = list(dict.fromkeys(f"worker {w.id}: {text}"
                                      for w in workers for text in w.warnings))
        return GeneratorHealth(
            cpu_percent_max=max((w.cpu_percent_max for w in workers), default=0.0),
            loop_lag_p99_ms=max((w.loop_lag_p99_ms for w in workers), default=0.0),
            warnings=warnings[:_MAX_RUN_WARNINGS])

    def summaries(self, now: float) -> list[WorkerSummary]:
        return [w.summary(now) for w in sorted(self._workers.values(), key=lambda w: w.joined_at)]
