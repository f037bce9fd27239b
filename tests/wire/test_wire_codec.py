"""Every message round-trips; anything else decodes to ProtocolError and nothing else."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from horde.errors import ProtocolError
from horde.wire import (
    MAGIC,
    PROTOCOL_VERSION,
    EndpointCounters,
    ErrorCount,
    ExceptionCount,
    FileEntry,
    FilesAck,
    FilesBundle,
    Goodbye,
    Hello,
    MasterHeartbeat,
    Message,
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
    decode,
    decode_from_master,
    decode_from_worker,
    encode,
    peek_version,
)

SHA = hashlib.sha256(b"print(1)\n").hexdigest()

WORKER_MESSAGES: list[Message] = [
    Hello("w1", "host-a", 123, "0.1.0", PROTOCOL_VERSION, 8, None),
    Hello("w2", "host-b", 1, "0.1.0", PROTOCOL_VERSION, 2, {"hordefile.py": SHA}),
    FilesAck({"hordefile.py": SHA}),
    WorkerHeartbeat("running", 50, 12.5, 0.8, 50_000_000, 7, "t1"),
    WorkerHeartbeat("ready", 0, 0.0, 0.0, 1, 0),
    StateChanged("spawning", "t1", {"WebUser": 3, "Admin": 1}),
    StateChanged("stopped", None, {}),
    StatsReport(
        "t1",
        3,
        [EndpointCounters("GET", "/", 3, 1, 30, 10, 900, 1200, 600, 2, 1)],
        hist_idx=b"\x0a\x00\x0b\x00",
        hist_cnt=(2).to_bytes(8, "little") + (1).to_bytes(8, "little"),
        ttfb_idx=b"\x05\x00",
        ttfb_cnt=(3).to_bytes(8, "little"),
        errors=[ErrorCount("GET", "/", "HTTP 500", 1)],
        exceptions=[ExceptionCount("WebUser.index", "KeyError: 'x'", "Traceback...", 2)],
    ),
    StatsReport("t1", 0),
    WorkerError("ImportError: no module named foo", fatal=True),
    Goodbye("ctrl-c"),
]

MASTER_MESSAGES: list[Message] = [
    Welcome("0.1.0", 1.0),
    Refuse("protocol version 2, master speaks 1"),
    FilesBundle([FileEntry("hordefile.py", b"print(1)\n", SHA)], entry="hordefile.py"),
    Start("t1", {"WebUser": 10}, 2.5, "http://127.0.0.1:8080", ["a"], None, {"x": 1, "y": None}),
    Start("t2", {}, 1e9),
    Update("t1", {"WebUser": 4, "Admin": 0}, 1.0),
    Stop("t1"),
    Quit(),
    MasterHeartbeat(12.0, "t1"),
    MasterHeartbeat(0.0),
]


@pytest.mark.parametrize("msg", WORKER_MESSAGES + MASTER_MESSAGES, ids=repr)
def test_round_trip(msg: Message) -> None:
    frame = encode(msg)
    assert frame[:2] == MAGIC and peek_version(frame) == PROTOCOL_VERSION
    assert decode(frame) == msg
    assert decode(bytearray(frame)) == msg
    assert decode(memoryview(frame)) == msg


@pytest.mark.parametrize("msg", WORKER_MESSAGES, ids=repr)
def test_direction_worker_to_master(msg: Message) -> None:
    assert decode_from_worker(encode(msg)) == msg
    with pytest.raises(ProtocolError):
        decode_from_master(encode(msg))


@pytest.mark.parametrize("msg", MASTER_MESSAGES, ids=repr)
def test_direction_master_to_worker(msg: Message) -> None:
    assert decode_from_master(encode(msg)) == msg
    with pytest.raises(ProtocolError):
        decode_from_worker(encode(msg))


def _frame(value: object, version: int = PROTOCOL_VERSION) -> bytes:
    return MAGIC + bytes([version]) + msgspec.msgpack.encode(value)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"hd",
        b"xx\x01\x80",
        _frame({"t": "nope"}),
        _frame({"t": "hello"}),  # missing fields
        _frame({"t": "hello", "worker_id": "", "host": "h", "pid": 1, "horde_version": "v",
                "protocol": 1}),  # empty id
        _frame({"t": "whb", "state": "dancing", "users": 1, "cpu_percent": 1.0,
                "loop_lag_p99_ms": 0.0, "memory_rss": 1, "seq": 1}),
        _frame({"t": "whb", "state": "running", "users": -1, "cpu_percent": 1.0,
                "loop_lag_p99_ms": 0.0, "memory_rss": 1, "seq": 1}),
        _frame({"t": "whb", "state": "running", "users": 1, "cpu_percent": float("nan"),
                "loop_lag_p99_ms": 0.0, "memory_rss": 1, "seq": 1}),
        _frame({"t": "start", "test_id": "t", "targets": {"A": 1}, "spawn_rate": 0.0}),
        _frame({"t": "start", "test_id": "t", "targets": {"A": -1}, "spawn_rate": 1.0}),
        _frame({"t": "stats", "test_id": "t", "seq": 1,
                "endpoints": [["GET", "/", 1, 0, 0, 0, 0, 0, 0, 1, 0]]}),  # buffers missing
        _frame({"t": "stats", "test_id": "t", "seq": 1,
                "endpoints": [["GET", "/", 1, 2, 0, 0, 0, 0, 0, 0, 0]]}),  # failures > requests
        _frame({"t": "files", "entry": "a.py", "files": [["../a.py", b"x",
                hashlib.sha256(b"x").hexdigest()]]}),
        _frame({"t": "files", "entry": "a.py", "files": [["a.py", b"x", SHA]]}),  # bad sha
        _frame({"t": "files", "entry": "b.py", "files": []}),
        _frame([1, 2, 3]),
        _frame(None),
        _frame({"t": "stop", "test_id": "t"}, version=PROTOCOL_VERSION + 1),
    ],
)
def test_malformed_is_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(frame)


def test_other_version_handshake_is_still_readable() -> None:
    newer_hello = {"t": "hello", "worker_id": "w9", "host": "h", "pid": 5,
                   "horde_version": "9.0.0", "protocol": 9, "a_future_field": [1, 2]}
    msg = decode_from_worker(_frame(newer_hello, version=9))
    assert isinstance(msg, Hello) and msg.protocol == 9 and msg.horde_version == "9.0.0"
    refuse = decode_from_master(_frame({"t": "refuse", "reason": "too old"}, version=0))
    assert refuse == Refuse("too old")
    with pytest.raises(ProtocolError, match="protocol 9"):
        decode_from_worker(_frame({"t": "whb"}, version=9))


def test_unknown_fields_from_newer_peer_are_ignored() -> None:
    msg = decode(_frame({"t": "stop", "test_id": "t", "later": True}))
    assert msg == Stop("t")


msgpack_ints = st.integers(-(2**63), 2**64 - 1)
msgpack_values = st.recursive(
    st.none() | st.booleans() | msgpack_ints | st.floats()
    | st.text(max_size=20) | st.binary(max_size=40),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=12) | msgpack_ints, children, max_size=6),
    max_leaves=30,
)
tags = st.sampled_from(
    ["hello", "refuse", "welcome", "files", "files_ack", "start", "update", "stop", "quit",
     "mhb", "whb", "state", "stats", "error", "bye", "x"]
)
FIELDS = ["worker_id", "host", "pid", "horde_version", "protocol", "cores", "files_sha",
          "reason", "master_version", "files", "entry", "test_id", "targets", "spawn_rate",
          "tags", "options", "test_time", "state", "users", "cpu_percent", "loop_lag_p99_ms",
          "memory_rss", "seq", "endpoints", "hist_idx", "hist_cnt", "ttfb_idx", "ttfb_cnt",
          "errors", "exceptions", "message", "fatal"]
tagged_maps = st.builds(
    lambda t, d: {"t": t, **d},
    tags,
    st.dictionaries(st.sampled_from(FIELDS), msgpack_values, max_size=10),
)


def _decodes_or_protocol_error(frame: bytes) -> None:
    for fn in (decode, decode_from_master, decode_from_worker):
        try:
            msg = fn(frame)
        except ProtocolError:
            continue
        # a valid message must survive its own round trip
        assert decode(encode(msg)) == msg


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes) -> None:
    _decodes_or_protocol_error(data)
    _decodes_or_protocol_error(MAGIC + bytes([PROTOCOL_VERSION]) + data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(msgpack_values | tagged_maps, st.sampled_from([PROTOCOL_VERSION, 0, 2, 255]))
def test_fuzz_random_msgpack(value: object, version: int) -> None:
    _decodes_or_protocol_error(_frame(value, version))


def test_deep_nesting_is_protocol_error() -> None:
    deep = b"\x91" * 100_000 + b"\xc0"
    with pytest.raises(ProtocolError):
        decode(MAGIC + bytes([PROTOCOL_VERSION]) + deep)


def test_non_bytes_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode("hello")  # type: ignore[arg-type]
