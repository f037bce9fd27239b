"""A peer that holds the fleet's secret but lies cannot break the master or its counts.

A real master runs a test with one real worker against a counting target.
This test process joins as a second peer with the fleet's keys (it passes
every handshake, so its messages reach the decoder and the master's
handlers), learns the test id from the master's heartbeats, and sends
well-formed messages full of hostile values: inf, nan, 2**63, negatives,
huge lists, reports whose counters cannot be. Afterwards the master's totals
equal what the target served, and the real worker took part throughout.
Tests in this module share those processes and run in file order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from horde._version import __version__
from horde.net.secret import FleetSecret
from horde.wire import PROTOCOL_VERSION, Goodbye, Hello, MasterHeartbeat, decode, encode
from horde.wire.messages import MAX_ERRORS_PER_REPORT
from tests.distributed.fleet_procs import Fleet, free_port, wait_until, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow

HEADER = b"hd" + bytes([PROTOCOL_VERSION])
HOSTILE = [math.inf, -math.inf, math.nan, -1, -1.5, 2**63, 2**64 - 1, -(2**63), 1e308]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, Target, str]]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    fleet = Fleet(directory)
    with Target("plain") as target:
        try:
            port = free_port()
            script = write_script(directory / "m")
            fleet.master(port, script, target.url, "-u", "4", "-r", "100", "-t", "25s",
                         "--expect-workers", "1", "--expect-workers-max-wait", "30s",
                         "--request-timeout", "5")
            fleet.worker(port, "--reconnect-timeout", "30s")
            wait_until(lambda: target.counts().total > 0, 40, "the test to start")
            yield fleet, target, f"tcp://127.0.0.1:{port}"
        finally:
            fleet.close()


@pytest.fixture(scope="module")
def liar(setup: tuple[Fleet, Target, str]) -> Iterator[tuple[zmq.Socket[bytes], str]]:
    """A peer with the fleet's worker keys, joined (it said Hello), and the test id."""
    fleet, _, endpoint = setup
    keys = FleetSecret(fleet.secret).worker_keys()
    assert keys.server_public is not None
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTING_ID, b"liar\x00one")
    sock.setsockopt(zmq.CURVE_SERVERKEY, keys.server_public)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.connect(endpoint)
    try:
        sock.send(encode(Hello("liar", "nowhere", 1, __version__, PROTOCOL_VERSION, 1, None)))
        test_id = None
        for _ in range(100):  # Welcome, the files, then heartbeats naming the test
            assert sock.poll(10_000), "the master did not talk to the liar"
            msg = decode(sock.recv())
            if isinstance(msg, MasterHeartbeat) and msg.test_id:
                test_id = msg.test_id
                break
        assert test_id is not None
        yield sock, test_id
    finally:
        ctx.destroy(linger=0)


hostile = st.sampled_from(HOSTILE)
small = st.integers(0, 5)


@st.composite
def lies(draw: st.DrawFn, test_id: str) -> dict[str, Any]:
    """A well-formed message with at least one value no honest worker sends."""
    kind = draw(st.sampled_from(["whb", "state", "stats_counters", "stats_errors",
                                 "stats_exceptions", "stats_huge", "error"]))
    if kind == "whb":
        body: dict[str, Any] = {"t": "whb", "state": "running", "users": 1, "cpu_percent": 1.0,
                                "loop_lag_p99_ms": 1.0, "memory_rss": 1, "seq": 1,
                                "test_id": test_id}
        body[draw(st.sampled_from(["users", "cpu_percent", "loop_lag_p99_ms", "memory_rss",
                                   "seq"]))] = draw(hostile)
        return body
    if kind == "state":
        return {"t": "state", "state": "running", "test_id": test_id,
                "users": {"Plain": draw(hostile)}}
    if kind == "error":
        return {"t": "error", "message": "x" * draw(st.integers(0, 70_000)),
                "fatal": draw(hostile)}
    stats: dict[str, Any] = {"t": "stats", "test_id": test_id, "seq": draw(small)}
    if kind == "stats_counters":
        n = draw(st.integers(1, 3))
        counters = np.ones((n, 9), dtype="<i8")
        counters[:, 7:] = 0  # no buckets
        row, col = draw(st.integers(0, n - 1)), draw(st.integers(0, 6))
        bad = draw(st.sampled_from([-1, -(2**63), 2**62, 2**40]))
        counters[row, col] = bad
        if col != 1:
            counters[row, 1] = 2  # more failures than requests, whatever else
        stats.update(methods=["GET"] * n, names=[f"/lie{i}" for i in range(n)],
                     counters=counters.tobytes())
    elif kind == "stats_errors":
        stats["errors"] = [["GET", "/fast", "lie", draw(hostile)]]
    elif kind == "stats_exceptions":
        stats["exceptions"] = [["task", "Lie", "tb", draw(hostile)]]
    else:
        stats["errors"] = [["GET", "/fast", f"e{i}", 1] for i in range(MAX_ERRORS_PER_REPORT + 1)]
    return stats


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_lies_are_dropped(liar: tuple[zmq.Socket[bytes], str], data: st.DataObject) -> None:
    sock, test_id = liar
    body = data.draw(lies(test_id))
    sock.send(HEADER + msgspec.msgpack.encode(body), flags=zmq.DONTWAIT)


def test_the_master_kept_exact_counts(setup: tuple[Fleet, Target, str],
                                      liar: tuple[zmq.Socket[bytes], str]) -> None:
    fleet, target, _ = setup
    sock, _ = liar
    sock.send(encode(Goodbye("done lying")))
    master = fleet.procs[0]
    assert master.wait(90) == 0, master.stderr()
    result = fleet.result()
    assert result["total"]["requests"] == target.counts().total > 0
    assert result["total"]["failures"] == 0 and result["errors"] == []
    names = {e["name"] for e in result["endpoints"]}
    assert not any(name.startswith("/lie") for name in names), names
    real = [w for w in result["workers"] if w["id"] != "liar"]
    assert [w["state"] for w in real] == ["done"] and real[0]["requests"] == \
        result["total"]["requests"]
    assert "dropped" in master.stderr()

