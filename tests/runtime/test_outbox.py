"""A worker's reports on their way to the master (horde/runtime/outbox.py)."""

from __future__ import annotations

from horde.runtime.outbox import MAX_PENDING_REPORTS, ReportOutbox
from horde.stats import RequestStats, StatsDelta
from horde.wire import StatsReport


def delta_of(requests: int) -> StatsDelta:
    stats = RequestStats()
    for _ in range(requests):
        stats.record("GET", "/", 100, 10, None, 50)
    return stats.take_delta()


def test_reports_go_in_order_and_wait_while_the_channel_refuses() -> None:
    box = ReportOutbox()
    box.begin("t1")
    for n in (1, 2, 3):
        box.add(delta_of(n), "t1")
    sent: list[StatsReport] = []
    open_ = [True, False]  # the channel takes one, then refuses

    def send(report: StatsReport) -> bool:
        ok = open_.pop(0) if open_ else True
        if ok:
            sent.append(report)
        return ok

    box.flush(send)
    assert [r.seq for r in sent] == [0]
    box.flush(send)  # the rest, oldest first
    assert [r.seq for r in sent] == [0, 1, 2]
    box.flush(send)
    assert len(sent) == 3  # nothing sent twice


def test_a_new_test_numbers_afresh_and_keeps_only_its_own_waiting_reports() -> None:
    box = ReportOutbox()
    box.begin("t1")
    box.add(delta_of(1), "t1")
    box.begin("t2")  # t1's report would be dropped by the master anyway
    box.add(delta_of(1), "t2", extra=b"\x81\xa1k\x01")
    got: list[StatsReport] = []
    box.flush(lambda r: got.append(r) is None)
    assert [(r.test_id, r.seq, r.extra) for r in got] == [("t2", 0, b"\x81\xa1k\x01")]


def test_at_most_the_limit_waits_the_oldest_going_first() -> None:
    box = ReportOutbox()
    box.begin("t")
    for _ in range(MAX_PENDING_REPORTS + 5):
        box.add(delta_of(1), "t")
    got: list[StatsReport] = []
    box.flush(lambda r: got.append(r) is None)
    assert len(got) == MAX_PENDING_REPORTS
    assert got[0].seq == 5
