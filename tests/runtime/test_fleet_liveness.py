"""The master's bookkeeping of its workers on a fake clock: silence is slowness,
a dropped connection is absence, and after a test each worker is what it is."""

from __future__ import annotations

from horde.runtime.fleet import SATURATED_FOR_S, SLOW_AFTER_S, Fleet, WorkerRecord


def running(fleet: Fleet, wid: str, now: float, users: int = 10,
            capacity: int | None = None) -> WorkerRecord:
    w = fleet.add(wid, "h", 1, now, capacity)
    w.state, w.test_id, w.last_seen = "running", "t1", now
    w.assigned = {"A": users}
    w.class_users, w.users = {"A": users}, users
    return w


def test_a_silent_but_connected_worker_keeps_its_users_and_shows_saturated() -> None:
    fleet = Fleet()
    w = running(fleet, "w", now=0.0)
    assert fleet.newly_slow(SLOW_AFTER_S - 0.1) == []
    assert fleet.newly_slow(SLOW_AFTER_S + 0.1) == [w]
    assert fleet.newly_slow(SLOW_AFTER_S + 5) == []  # noted once per silence
    assert w.state == "running" and w.users == 10 and w in fleet.active()
    summary = w.summary(SLOW_AFTER_S + 5)
    assert summary.saturated and summary.users == 10
    assert any("blocked or starved" in m for m in summary.warnings)
    w.last_seen = SLOW_AFTER_S + 6  # heard again
    assert not w.summary(SLOW_AFTER_S + 6).saturated


def test_a_worker_whose_connection_dropped_holds_nothing_and_ends_lost() -> None:
    fleet = Fleet()
    w = running(fleet, "w", now=0.0)
    kept = running(fleet, "k", now=0.0)
    fleet.mark_missing(w)
    assert w.users == 0 and w.assigned == {} and fleet.active() == [kept]
    fleet.begin_stop()
    fleet.end_test()
    assert [(s.id, s.state, s.users) for s in fleet.summaries(1.0)] == \
        [("w", "lost", 0), ("k", "done", 10)]


def test_a_worker_that_left_stays_left_and_one_that_never_took_part_stays_ready() -> None:
    fleet = Fleet()
    left = running(fleet, "l", now=0.0)
    left.state, left.test_id = "left", None
    idle = fleet.add("i", "h", 2, 0.0)
    idle.state = "ready"
    fleet.end_test()
    assert {s.id: s.state for s in fleet.summaries(1.0)} == {"l": "left", "i": "ready"}
    fleet.begin_test()
    running(fleet, "i", now=2.0)
    assert {s.id: s.state for s in fleet.summaries(2.0)}["i"] == "running"


def test_room_is_the_capacity_and_a_saturated_worker_gets_no_more_than_it_was_given() -> None:
    fleet = Fleet()
    w = running(fleet, "w", now=0.0, users=40, capacity=100)
    assert w.room(0.5) == 100
    for _ in range(SATURATED_FOR_S):
        w.heartbeat(cpu=99.0, lag_p99_ms=50.0, users=40, memory=0, state="running")
    assert w.room(0.5) == 40
    unlimited = running(fleet, "u", now=0.0, users=7)
    assert unlimited.room(0.5) is None
    assert unlimited.room(SLOW_AFTER_S + 1) == 7  # silent: nothing piled on it either


def test_the_run_verdict_names_each_workers_warnings_once() -> None:
    fleet = Fleet()
    quiet = running(fleet, "quiet", now=0.0)
    slow = running(fleet, "slow", now=0.0)
    fleet.newly_slow(SLOW_AFTER_S + 0.1)  # both silent: both warned
    quiet.warnings.clear()
    slow.warn(slow.warnings[0])  # the same text twice on one worker
    health = fleet.run_health()
    assert len(health.warnings) == 1
    assert health.warnings[0].startswith("worker slow: ") \
        and "blocked or starved" in health.warnings[0]
