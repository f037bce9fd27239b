"""Garbage on the master's port never stops it nor skews its totals.

One master runs a real test with one real worker against a counting target,
while a raw DEALER (this test process) sends random bytes, random msgpack
(with and without horde's frame header) and messages of the wrong shape or
direction, and raw bytes hit the port over plain TCP. Afterwards the
master's totals still equal the target's count. The fleet runs --insecure,
so the garbage reaches the decoder (with a secret it never gets past the
handshake: tests/distributed/test_dist_secret.py). Tests in this module
share those processes and run in file order.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from horde._version import __version__
from horde.wire import PROTOCOL_VERSION, Hello, Refuse, decode, encode
from tests.distributed.fleet_procs import (
    Fleet,
    free_port,
    raw_bytes_for,
    wait_until,
    write_script,
)
from tests.support.target import Target

pytestmark = pytest.mark.slow

HEADER = b"hd" + bytes([PROTOCOL_VERSION])
TAGS = ["hello", "files_ack", "whb", "state", "stats", "error", "bye", "start", "mhb", "zzz"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, Target, int]]:
    directory: Path = tmp_path_factory.mktemp("garbage")
    fleet = Fleet(directory)
    with Target("plain") as target:
        try:
            port = free_port()
            script = write_script(directory / "m")
            # Long enough to outlast the tests on a loaded machine; the last test stops it.
            fleet.master(port, script, target.url, "-u", "4", "-r", "100", "-t", "120s",
                         "--expect-workers", "1", "--expect-workers-max-wait", "30s",
                         "--insecure")
            fleet.worker(port, "--reconnect-timeout", "20s", "--insecure")
            wait_until(lambda: target.counts().total > 0, 30, "the test to start")
            yield fleet, target, port
        finally:
            fleet.close()


@pytest.fixture(scope="module")
def dealer(setup: tuple[Fleet, Target, int]) -> Iterator[zmq.Socket[bytes]]:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTING_ID, b"fuzzer")
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.connect(f"tcp://127.0.0.1:{setup[2]}")
    try:
        yield sock
    finally:
        ctx.destroy(linger=0)


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=20) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=5),
    max_leaves=20,
)


@st.composite
def frames(draw: st.DrawFn) -> list[bytes]:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return [draw(st.binary(max_size=300))]
    if kind == 1:
        return [HEADER + draw(st.binary(max_size=300))]
    if kind == 2:
        return [HEADER + msgspec.msgpack.encode(draw(values))]
    if kind == 3:
        body: dict[str, Any] = draw(st.dictionaries(st.text(max_size=12), values, max_size=8))
        body["t"] = draw(st.sampled_from(TAGS))
        return [HEADER + msgspec.msgpack.encode(body)]
    return draw(st.lists(st.binary(max_size=50), min_size=2, max_size=4))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(parts=frames())
def test_garbage_is_dropped(dealer: zmq.Socket[bytes], parts: list[bytes]) -> None:
    dealer.send_multipart(parts, flags=zmq.DONTWAIT)


def test_raw_bytes_on_the_master_port(setup: tuple[Fleet, Target, int]) -> None:
    raw_bytes_for(setup[2], 1.5)


def _hello_answer(port: int, routing_id: bytes, hello: Hello) -> Refuse:
    ctx = zmq.Context()
    try:
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTING_ID, routing_id)
        sock.connect(f"tcp://127.0.0.1:{port}")
        sock.send(encode(hello))
        assert sock.poll(10_000), "the master did not answer the Hello"
        answer = decode(sock.recv())
        assert isinstance(answer, Refuse), answer
        return answer
    finally:
        ctx.destroy(linger=0)


def test_another_version_is_refused_in_words(setup: tuple[Fleet, Target, int]) -> None:
    hello = Hello("old-worker", "h", 1, "0.0.1", PROTOCOL_VERSION, 1, None)
    refuse = _hello_answer(setup[2], b"old-worker", hello)
    assert "version" in refuse.reason and "0.0.1" in refuse.reason and __version__ in refuse.reason


def test_a_hello_under_another_routing_id_is_refused(setup: tuple[Fleet, Target, int]) -> None:
    hello = Hello("someone-else", "h", 1, __version__, PROTOCOL_VERSION, 1, None)
    refuse = _hello_answer(setup[2], b"impostor", hello)
    assert "someone-else" in refuse.reason


def test_the_master_survived_and_its_totals_are_right(setup: tuple[Fleet, Target, int]) -> None:
    fleet, target, _ = setup
    master = fleet.procs[0]
    assert master.popen.poll() is None, master.stderr()  # alive after all of the above
    master.popen.send_signal(signal.SIGINT)  # Ctrl-C: stop the test, write the summary
    assert master.wait(60) == 0, master.stderr()
    result = fleet.result()
    assert result["total"]["requests"] == target.counts().total > 0
    assert [w["state"] for w in result["workers"]] == ["done"]
    assert "dropped" in master.stderr()
    assert "--insecure" in master.stderr()  # warned at start
