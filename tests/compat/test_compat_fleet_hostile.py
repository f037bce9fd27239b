"""A peer with the fleet's secret cannot flood a Locust script's message handlers.

A real master runs a Locust script that registers handlers for workers'
messages; one real worker runs the load against a counting target. This test
process joins as a second worker with the fleet's keys (Hello, then a
FilesAck that proves the master's files, so it is a ready worker whose
script messages reach the handlers) and floods: messages for a concurrent
handler that never finishes in time, data over the 64 KiB bound, data that
is not msgpack, and thousands of messages for a quick handler. The master's
script reports how many handler calls it saw: the concurrent ones stop at
`MAX_CONCURRENT`, the quick ones at the per-worker burst and rate; the
master's totals still equal what the target served.
"""

from __future__ import annotations

import textwrap
import time

import msgspec
import pytest
import zmq

from horde._version import __version__
from horde.compat.messages import MAX_CONCURRENT
from horde.net.secret import FleetSecret
from horde.runtime.scriptlink import MESSAGE_BURST, MESSAGE_RATE
from horde.wire import (
    PROTOCOL_VERSION,
    FilesAck,
    FilesBundle,
    Goodbye,
    Hello,
    MessageToMaster,
    Start,
    decode,
    encode,
    sha_map,
)
from horde.wire.messages import MAX_MESSAGE_TO_MASTER_BYTES
from tests.distributed.fleet_procs import Fleet, free_port, wait_until, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow

HEADER = b"hd" + bytes([PROTOCOL_VERSION])

SCRIPT = """
    import sys
    import gevent
    from locust import HttpUser, task, constant, events
    from locust.runners import MasterRunner

    handled = {"note": 0, "slow": 0}

    def note(environment, msg, **kwargs):
        handled["note"] += 1

    def slow(environment, msg, **kwargs):
        handled["slow"] += 1
        gevent.sleep(5)

    @events.init.add_listener
    def on_init(environment, **kwargs):
        if isinstance(environment.runner, MasterRunner):
            environment.runner.register_message("note", note)
            environment.runner.register_message("slow", slow, concurrent=True)

    @events.quitting.add_listener
    def report(environment, **kwargs):
        if isinstance(environment.runner, MasterRunner):
            print("HANDLED", handled["note"], handled["slow"], file=sys.stderr)

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            self.client.get("/fast")
"""




def _join(sock: zmq.Socket[bytes]) -> None:
    """Say Hello, prove the shipped files, and wait for a share of the test."""
    sock.send(encode(Hello("liar", "nowhere", 1, __version__, PROTOCOL_VERSION, 1, None)))
    for _ in range(200):
        assert sock.poll(10_000), "the master did not talk to the liar"
        msg = decode(sock.recv())
        if isinstance(msg, FilesBundle):
            sock.send(encode(FilesAck(files_sha=sha_map({f.path: f.content
                                                         for f in msg.files}))))
        elif isinstance(msg, Start):
            return
    raise AssertionError("the liar never got a Start")


def test_a_flood_of_script_messages_is_bounded(fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m", textwrap.dedent(SCRIPT), "locustfile.py")
    master = fleet.master(port, script, plain_target.url, "-u", "4", "-r", "100", "-t", "10s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "30s")
    worker = fleet.worker(port, "--reconnect-timeout", "30s")
    wait_until(lambda: plain_target.counts().total > 0, 40, "the test to start")

    keys = FleetSecret(fleet.secret).worker_keys()
    assert keys.server_public is not None
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 1000)
    sock.setsockopt(zmq.ROUTING_ID, b"liar\x00one")
    sock.setsockopt(zmq.CURVE_SERVERKEY, keys.server_public)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.connect(f"tcp://127.0.0.1:{port}")
    try:
        _join(sock)
        began = time.monotonic()
        slow = int(MAX_CONCURRENT * 3)
        for _ in range(slow):
            sock.send(encode(MessageToMaster("slow", b"\xc0")))
        over = b"\xc0" * (MAX_MESSAGE_TO_MASTER_BYTES + 1)
        sock.send(HEADER + msgspec.msgpack.encode({"t": "smsg", "kind": "note", "data": over}))
        sock.send(encode(MessageToMaster("note", b"\xc1")))  # not msgpack: no handler call
        for _ in range(1_500):
            sock.send(encode(MessageToMaster("note", b"\xc0")))
        sock.send(encode(Goodbye("done lying")))
        assert master.wait(90) == 0, master.stderr()
        # The master reads when it can: its buckets refill until it has read the last one.
        window = time.monotonic() - began
    finally:
        ctx.destroy(linger=0)
    assert worker.wait(30) == 0, worker.stderr()
    err = master.stderr()
    handled = next(line for line in err.splitlines() if line.startswith("HANDLED")).split()
    notes, slows = int(handled[1]), int(handled[2])
    assert slows == MAX_CONCURRENT, err
    left = MESSAGE_BURST - slow - 1  # the burst, less the slow ones and the undecodable one
    assert left * 0.9 <= notes <= left + MESSAGE_RATE * window < 1_500, (notes, window)
    assert "over the 50/s a worker may send" in err
    assert "concurrent handlers are running already" in err
    assert plain_target.counts().total == fleet.result()["total"]["requests"] > 0
    assert "Traceback" not in err + worker.stderr()
