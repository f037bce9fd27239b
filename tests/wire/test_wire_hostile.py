"""Well-formed but hostile values never get past the decoder.

Messages of the right shape whose numbers are inf, nan, 2**63, negative or
absurd, and lists far longer than any worker sends, are refused with
`ProtocolError`; whatever is accepted has every number finite and in range.
The same values through the fleet bookkeeping never raise.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.errors import ProtocolError
from horde.runtime.fleet import Fleet
from horde.wire import PROTOCOL_VERSION, WorkerHeartbeat, decode_from_worker, merge_report
from horde.wire.messages import MAX_COUNT, MAX_ERRORS_PER_REPORT

HEADER = b"hd" + bytes([PROTOCOL_VERSION])
HOSTILE_FLOATS = [math.inf, -math.inf, math.nan, -1.0, 1e308, -0.0001]
HOSTILE_INTS = [2**63, 2**64 - 1, -(2**63), -1, 2**53]

hostile_number = st.sampled_from(HOSTILE_FLOATS + HOSTILE_INTS)
fine_float = st.floats(0, 100, allow_nan=False)
fine_int = st.integers(0, 1000)


def frame(body: dict[str, Any]) -> bytes:
    return HEADER + msgspec.msgpack.encode(body)


@st.composite
def heartbeat(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"t": "whb", "state": "running", "users": draw(fine_int),
                            "cpu_percent": draw(fine_float), "loop_lag_p99_ms": draw(fine_float),
                            "memory_rss": draw(fine_int), "seq": draw(fine_int)}
    body[draw(st.sampled_from(["users", "cpu_percent", "loop_lag_p99_ms", "memory_rss",
                               "seq"]))] = draw(hostile_number)
    return body


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value) and 0 <= value <= 1e12
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 <= value <= MAX_COUNT
    return True


@settings(max_examples=300, deadline=None)
@given(heartbeat())
def test_a_hostile_heartbeat_is_refused(body: dict[str, Any]) -> None:
    try:
        msg = decode_from_worker(frame(body))
    except ProtocolError:
        return
    # -0.0001 etc. are refused; -0.0 is 0 and harmless: everything accepted is in range
    assert isinstance(msg, WorkerHeartbeat)
    assert all(_finite(getattr(msg, f)) for f in msg.__struct_fields__)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["start_count", "error_count", "exception_count", "targets", "pid",
                        "cores", "cpu"]), hostile_number)
def test_hostile_counts_anywhere_are_refused(where: str, value: Any) -> None:
    bodies = {
        "error_count": {"t": "stats", "test_id": "t", "seq": 0,
                        "errors": [["GET", "/", "boom", value]]},
        "exception_count": {"t": "stats", "test_id": "t", "seq": 0,
                            "exceptions": [["task", "E", "tb", value]]},
        "targets": {"t": "state", "state": "running", "test_id": "t", "users": {"A": value}},
        "pid": {"t": "hello", "worker_id": "w", "host": "h", "pid": value,
                "horde_version": "0", "protocol": PROTOCOL_VERSION},
        "cores": {"t": "hello", "worker_id": "w", "host": "h", "pid": 1, "cores": value,
                  "horde_version": "0", "protocol": PROTOCOL_VERSION},
        "start_count": {"t": "state", "state": "running", "test_id": None,
                        "users": {"A": value, "B": 1}},
        "cpu": {"t": "whb", "state": "ready", "users": 0, "cpu_percent": value,
                      "loop_lag_p99_ms": 0.0, "memory_rss": 0, "seq": 0},
    }
    with pytest.raises(ProtocolError):
        decode_from_worker(frame(bodies[where]))


def test_huge_lists_are_refused() -> None:
    errors = [["GET", "/", f"e{i}", 1] for i in range(MAX_ERRORS_PER_REPORT + 1)]
    with pytest.raises(ProtocolError):
        decode_from_worker(frame({"t": "stats", "test_id": "t", "seq": 0, "errors": errors}))
    users = {f"C{i}": 1 for i in range(10_001)}
    with pytest.raises(ProtocolError):
        decode_from_worker(frame({"t": "state", "state": "running", "test_id": "t",
                                  "users": users}))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["GET", "POST"]), st.text(max_size=6),
                          st.sampled_from(HOSTILE_INTS + [1, 5])), max_size=6))
def test_hostile_counters_in_a_report_change_nothing(rows: list[tuple[str, str, int]]) -> None:
    """Counter columns arrive as raw int64 bytes: checked where they are read."""
    import numpy as np

    from horde.stats import StatsAggregate
    from horde.wire import StatsReport

    counters = np.zeros((len(rows), 9), dtype="<i8")
    for k, (_, _, value) in enumerate(rows):
        counters[k, 0] = np.int64(value if -(2**63) <= value < 2**63 else -1)
        counters[k, 1] = 0
    report = StatsReport("t", 0, methods=[r[0] for r in rows], names=[r[1] for r in rows],
                         counters=counters.tobytes())
    aggregate = StatsAggregate()
    hostile = any(v < 0 or v >= 2**40 for _, _, v in rows)
    try:
        merged = merge_report(aggregate, report, 0)
    except ProtocolError:
        assert aggregate.snapshot(1.0).total.requests == 0
        return
    assert not hostile
    assert merged == sum(v for _, _, v in rows)


@settings(max_examples=100, deadline=None)
@given(fine_float, fine_float, fine_int, st.floats(0, 1e9), st.floats(0, 1e5))
def test_fleet_bookkeeping_takes_any_accepted_heartbeat(cpu: float, lag: float, users: int,
                                                        big_lag: float, big_cpu: float) -> None:
    fleet = Fleet()
    record = fleet.add("w", "h", 1, 0.0)
    for c, g in ((cpu, lag), (big_cpu, big_lag)):
        record.heartbeat(c, g, users, 0, "running")
    assert math.isfinite(record.loop_lag_p99_ms)
    assert fleet.summaries(1.0)[0].id == "w"
