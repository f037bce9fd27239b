"""A test script's own traffic on the wire: typed, bounded, never decoded by the runtime.

Script messages and report data carry msgpack bytes within fixed bounds (a
worker's are small: the master must stay safe against it); the script's
options ride on `Start`. Anything over a bound, or of the wrong shape, is a
`ProtocolError` at the decoder; `horde.wire.script.unpack` turns any bytes
into a value or a ProtocolError, never anything else.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.errors import ProtocolError, UsageError
from horde.wire import (
    PROTOCOL_VERSION,
    MessageToMaster,
    MessageToWorker,
    Start,
    StatsReport,
    decode_from_master,
    decode_from_worker,
    encode,
)
from horde.wire.messages import (
    MAX_MESSAGE_TO_MASTER_BYTES,
    MAX_MESSAGE_TO_WORKER_BYTES,
    MAX_REPORT_EXTRA_BYTES,
    MAX_SCRIPT_OPTIONS,
)
from horde.wire.script import pack, unpack

HEADER = b"hd" + bytes([PROTOCOL_VERSION])


def frame(body: dict[str, Any]) -> bytes:
    return HEADER + msgspec.msgpack.encode(body)


def test_script_messages_round_trip_each_way() -> None:
    data = pack({"users": ["a", "b"], "n": 2}, MAX_MESSAGE_TO_MASTER_BYTES)
    up = decode_from_worker(encode(MessageToMaster("ack", data)))
    assert up == MessageToMaster("ack", data)
    assert unpack(up.data) == {"users": ["a", "b"], "n": 2}
    down = decode_from_master(encode(MessageToWorker("users", data)))
    assert down == MessageToWorker("users", data)


def test_each_direction_refuses_the_other_ones_message() -> None:
    with pytest.raises(ProtocolError):
        decode_from_worker(encode(MessageToWorker("x", b"\xc0")))
    with pytest.raises(ProtocolError):
        decode_from_master(encode(MessageToMaster("x", b"\xc0")))


def test_a_workers_message_and_report_data_are_bounded() -> None:
    over = b"\xc0" * (MAX_MESSAGE_TO_MASTER_BYTES + 1)
    with pytest.raises(ProtocolError):
        decode_from_worker(frame({"t": "smsg", "kind": "x", "data": over}))
    ok = b"\xc0" * MAX_MESSAGE_TO_MASTER_BYTES
    assert decode_from_worker(frame({"t": "smsg", "kind": "x", "data": ok})) == \
        MessageToMaster("x", ok)
    report = {"t": "stats", "test_id": "t", "seq": 0}
    with pytest.raises(ProtocolError):
        decode_from_worker(frame({**report, "extra": b"\x80" * (MAX_REPORT_EXTRA_BYTES + 1)}))
    assert decode_from_worker(frame({**report, "extra": b"\x80"})) == \
        StatsReport(test_id="t", seq=0, extra=b"\x80")


@pytest.mark.parametrize("kind", ["", "k" * 257, 5, None])
def test_a_message_kind_is_short_text(kind: object) -> None:
    with pytest.raises(ProtocolError):
        decode_from_worker(frame({"t": "smsg", "kind": kind, "data": b""}))


def test_the_master_may_send_more_than_a_worker() -> None:
    big = b"\xc0" * (MAX_MESSAGE_TO_MASTER_BYTES * 4)
    assert decode_from_master(frame({"t": "wmsg", "kind": "x", "data": big})).data == big
    with pytest.raises(ProtocolError):
        decode_from_master(frame({"t": "wmsg", "kind": "x",
                                  "data": b"\xc0" * (MAX_MESSAGE_TO_WORKER_BYTES + 1)}))


def test_start_carries_the_scripts_options() -> None:
    options = {"my_path": "/x", "n": 3, "ratio": 0.5, "flag": True, "none": None,
               "many": ["a", "b"]}
    start = Start(test_id="t", targets={"U": 1}, spawn_rate=1.0, script_options=options)
    assert decode_from_master(encode(start)).script_options == options
    assert decode_from_master(encode(Start(test_id="t", targets={}, spawn_rate=1.0))) \
        .script_options == {}
    base = {"t": "start", "test_id": "t", "targets": {}, "spawn_rate": 1.0}
    for bad in ({"x": {"nested": 1}}, {"": 1}, {"x": [[1]]},
                {f"o{i}": 1 for i in range(MAX_SCRIPT_OPTIONS + 1)}):
        with pytest.raises(ProtocolError):
            decode_from_master(frame({**base, "script_options": bad}))


def test_pack_says_what_is_wrong_in_one_sentence() -> None:
    with pytest.raises(UsageError, match="plain data"):
        pack(object(), 100)
    with pytest.raises(UsageError, match="over the 10 bytes"):
        pack("x" * 20, 10, "the data of message 'm'")
    assert unpack(pack((1, "a"), 100)) == [1, "a"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_unpack_of_any_bytes_is_a_value_or_a_protocol_error(data: bytes) -> None:
    try:
        unpack(data)
    except ProtocolError:
        pass


def test_unpack_of_deep_nesting_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        unpack(b"\x91" * (MAX_MESSAGE_TO_MASTER_BYTES - 1) + b"\xc0")
