"""The open model's messages: a share and a report round-trip; hostile numbers are refused."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from horde.errors import ProtocolError
from horde.plan.arrival import ArrivalRate, RateStage
from horde.runtime.dispatch import arrival_plan, arrival_shares, ended_share, start_message
from horde.runtime.lifecycle import RunOptions
from horde.wire import (
    PROTOCOL_VERSION,
    ArrivalReport,
    DroppedCount,
    Start,
    Update,
    decode_from_master,
    decode_from_worker,
    encode,
)

HEADER = b"hd" + bytes([PROTOCOL_VERSION])


def test_shares_go_to_workers_with_users_and_round_trip() -> None:
    plan = ArrivalRate(100.0, users=3, stages=(RateStage(5, 300),), max_lateness=2.0)
    shares = arrival_shares(plan, {"a": {"U": 2}, "b": {"U": 0}, "c": {"U": 1}})
    assert set(shares) == {"a", "c"}  # b has no user: it would only drop its iterations
    msg = start_message("t1", {"U": 2}, 5.0, RunOptions(), shares["c"])
    got = decode_from_master(encode(msg))
    assert isinstance(got, Start) and got.arrival == shares["c"]
    worker_plan = arrival_plan(got.arrival, 1)
    assert worker_plan == ArrivalRate(100.0, 1, plan.stages, 2.0, index=1, count=2)
    assert worker_plan.start_time(0) == plan.start_time(1)


def test_a_split_during_the_test_round_trips_in_an_update() -> None:
    plan = ArrivalRate(100.0, users=4)
    shares = arrival_shares(plan, {"a": {"U": 2}, "b": {"U": 2}}, first=750, test_time=6.5)
    assert [(s.index, s.count, s.first, s.test_time) for s in shares.values()] == [
        (0, 2, 750, 6.5), (1, 2, 750, 6.5)]
    got = decode_from_master(encode(Update("t1", {"U": 2}, 5.0, shares["b"])))
    assert isinstance(got, Update) and got.arrival == shares["b"]
    assert arrival_plan(got.arrival, 2).start_time(0) == plan.start_time(751)
    # A worker that no longer holds users: a share with no iteration from 750 on.
    empty = arrival_plan(ended_share(plan, 750, 6.5), 1)
    assert empty.start_time(0) is None


def test_report_round_trips() -> None:
    report = ArrivalReport(test_id="t1", iterations=10, dropped=2,
                           dropped_by_endpoint=[DroppedCount("GET", "/a", 2)])
    assert decode_from_worker(encode(report)) == report


@pytest.mark.parametrize(("field", "value"), [
    ("iterations", -1), ("iterations", 2**63), ("dropped", math.nan), ("dropped", math.inf),
])
def test_hostile_counts_are_refused(field: str, value: Any) -> None:
    body: dict[str, Any] = {"t": "arrival", "test_id": "t1", field: value}
    with pytest.raises(ProtocolError):
        decode_from_worker(HEADER + msgspec.msgpack.encode(body))


@pytest.mark.parametrize("arrival", [
    {"start_rate": math.inf, "max_lateness": 1.0, "index": 0, "count": 1},
    {"start_rate": 10.0, "max_lateness": 0.0, "index": 0, "count": 1},
    {"start_rate": 10.0, "max_lateness": 1.0, "index": 3, "count": 2},
    {"start_rate": 0.0, "max_lateness": 1.0, "index": 0, "count": 1},
    {"start_rate": 1.0, "max_lateness": 1.0, "index": 0, "count": 1, "stages": [[-1.0, 5.0]]},
    {"start_rate": 1.0, "max_lateness": 1.0, "index": 0, "count": 1, "first": -1},
    {"start_rate": 1.0, "max_lateness": 1.0, "index": 0, "count": 1, "first": 9, "until": 3},
    {"start_rate": 1.0, "max_lateness": 1.0, "index": 0, "count": 1, "test_time": math.nan},
    {"start_rate": 1.0, "max_lateness": 1.0, "index": 0, "count": 1, "first": 2**60},
])
def test_hostile_shares_are_refused(arrival: dict[str, Any]) -> None:
    body = {"t": "start", "test_id": "t1", "targets": {"U": 1}, "spawn_rate": 1.0,
            "arrival": arrival}
    with pytest.raises(ProtocolError):
        decode_from_master(HEADER + msgspec.msgpack.encode(body))
