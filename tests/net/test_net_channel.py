"""Master and worker channels on loopback, on asyncio and on uvloop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable

import msgspec
import pytest
import uvloop
import zmq
import zmq.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from horde.errors import HordeError, UsageError
from horde.net import MasterChannel, WorkerChannel
from horde.wire import (
    MAGIC,
    PROTOCOL_VERSION,
    Goodbye,
    Hello,
    MasterHeartbeat,
    Start,
    Welcome,
    WorkerHeartbeat,
    encode,
)

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
STEP = 5.0  # upper bound for any single expected delivery on loopback


def run(loop_kind: str, main: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=LOOPS[loop_kind]) as runner:
        runner.run(asyncio.wait_for(main(), 30))


def hello(wid: str) -> Hello:
    return Hello(wid, "localhost", os.getpid(), "0.1.0", PROTOCOL_VERSION, 1, None)


async def joined_worker(master: MasterChannel, wid: str) -> WorkerChannel:
    """A started worker channel whose Hello the master has read."""
    worker = WorkerChannel(wid, "127.0.0.1", master.port)
    await worker.start()
    for _ in range(500):
        if worker.send(hello(wid)):  # IMMEDIATE: False until the connection is up
            break
        await asyncio.sleep(0.01)
    await asyncio.wait_for(master.recv(), STEP)
    return worker


@pytest.fixture(params=sorted(LOOPS))
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_master_and_workers_exchange_messages(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            assert master.port > 0 and master.endpoint.startswith("tcp://127.0.0.1:")
            workers = [WorkerChannel(f"w{i}", "127.0.0.1", master.port) for i in range(4)]
            for w in workers:
                await w.start()
            try:
                for w in workers:
                    # IMMEDIATE: until the connection is up, send says False
                    for _ in range(500):
                        if w.send(hello(w.worker_id)):
                            break
                        await asyncio.sleep(0.01)
                    else:
                        pytest.fail("worker never connected")
                seen = {}
                for _ in workers:
                    wid, msg = await asyncio.wait_for(master.recv(), STEP)
                    seen[wid] = msg
                assert seen == {w.worker_id: hello(w.worker_id) for w in workers}
                for w in workers:
                    assert master.send(w.worker_id, Welcome("0.1.0"))
                    assert master.send(w.worker_id, MasterHeartbeat(1.5, "t"))
                for w in workers:
                    assert await asyncio.wait_for(w.recv(), STEP) == Welcome("0.1.0")
                    assert await asyncio.wait_for(w.recv(), STEP) == MasterHeartbeat(1.5, "t")
                # many messages each way, in order per worker
                for i in range(200):
                    assert workers[0].send(WorkerHeartbeat("running", i, 1.0, 0.1, 1, i))
                for i in range(200):
                    wid, msg = await asyncio.wait_for(master.recv(), STEP)
                    assert wid == "w0" and isinstance(msg, WorkerHeartbeat) and msg.seq == i
                # unknown worker: not sent, no exception, no block
                assert master.send("nobody", Welcome("0.1.0")) is False
                assert master.dropped == 0
            finally:
                for w in workers:
                    w.close()

    run(loop_kind, main)


async def _connected_worker(
    wid: str, port: int, master: MasterChannel, host: str = "127.0.0.1"
) -> WorkerChannel:
    w = WorkerChannel(wid, host, port)
    await w.start()
    for _ in range(500):
        if w.send(hello(wid)):
            break
        await asyncio.sleep(0.01)
    got = await asyncio.wait_for(master.recv(), STEP)
    assert got == (wid, hello(wid))
    return w


async def _raw_dealer(
    ctx: zmq.asyncio.Context, port: int, ident: bytes | None
) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if ident is not None:
        sock.setsockopt(zmq.ROUTING_ID, ident)
    sock.connect(f"tcp://127.0.0.1:{port}")
    return sock


GARBAGE: list[list[bytes]] = [
    [b""],
    [b"\x00\x01\x02"],
    [os.urandom(300)],
    [MAGIC + bytes([PROTOCOL_VERSION]) + os.urandom(50)],
    [MAGIC + bytes([PROTOCOL_VERSION]) + msgspec.msgpack.encode({"t": "start"})],
    [encode(Welcome("0.1.0"))],  # master-bound only the other way round
    [encode(Start("t", {"A": 1}, 1.0))],
    [MAGIC + bytes([PROTOCOL_VERSION + 1]) + msgspec.msgpack.encode({"t": "whb"})],
    [b"a", b"b"],
    [b"a", b"b", b"c"],
    [b"", b"", b"", b""],
]


def test_garbage_never_breaks_the_master(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            good = await _connected_worker("good", master.port, master)
            ctx = zmq.asyncio.Context()
            try:
                named = await _raw_dealer(ctx, master.port, b"raw")
                anon = await _raw_dealer(ctx, master.port, None)  # binary auto id
                bad_id = await _raw_dealer(ctx, master.port, b"\xff\xfe")
                for sock in (named, anon, bad_id):
                    for frames in GARBAGE:
                        await sock.send_multipart(frames)
                # a valid frame after the garbage, on the same connection (so it
                # arrives after all of it)
                # (a connection is heard once its Hello bound its worker id)
                await named.send(encode(hello("raw")))
                await named.send(encode(Goodbye("after garbage")))
                wid, msg = await asyncio.wait_for(master.recv(), STEP)
                assert (wid, msg) == ("raw", hello("raw"))
                wid, msg = await asyncio.wait_for(master.recv(), STEP)
                assert (wid, msg) == ("raw", Goodbye("after garbage"))
                assert master.dropped >= len(GARBAGE)
                # and the master still talks with the good worker both ways
                assert good.send(WorkerHeartbeat("ready", 0, 0.0, 0.0, 1, 1))
                wid, msg = await asyncio.wait_for(master.recv(), STEP)
                assert wid == "good" and isinstance(msg, WorkerHeartbeat)
                assert master.send("good", Welcome("x"))
                assert await asyncio.wait_for(good.recv(), STEP) == Welcome("x")
            finally:
                good.close()
                ctx.destroy(linger=0)

    run(loop_kind, main)


def test_hypothesis_frames_to_the_master_port() -> None:
    """Random frame lists and random msgpack, then a sentinel: only valid messages come out."""

    async def setup() -> tuple[MasterChannel, zmq.asyncio.Context, zmq.asyncio.Socket]:
        master = MasterChannel("127.0.0.1", 0)
        await master.start()
        ctx = zmq.asyncio.Context()
        raw = await _raw_dealer(ctx, master.port, b"fuzzer")
        await raw.send(encode(hello("fuzzer")))  # binds the id to this connection
        assert await asyncio.wait_for(master.recv(), STEP) == ("fuzzer", hello("fuzzer"))
        return master, ctx, raw

    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    master, ctx, raw = runner.run(setup())
    payload = st.one_of(
        st.binary(max_size=120),
        st.builds(
            lambda v: MAGIC + bytes([PROTOCOL_VERSION]) + msgspec.msgpack.encode(v),
            st.recursive(
                st.none()
                | st.integers(-5, 2**40)
                | st.text(max_size=8)
                | st.binary(max_size=8)
                | st.floats(),
                lambda c: (
                    st.lists(c, max_size=4)
                    | st.dictionaries(
                        st.sampled_from(["t", "state", "seq", "users", "worker_id", "x"]),
                        c,
                        max_size=5,
                    )
                ),
                max_leaves=12,
            ),
        ),
    )

    counter = iter(range(10**9))

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.lists(payload, min_size=1, max_size=3), max_size=5))
    def check(messages: list[list[bytes]]) -> None:
        n = next(counter)

        async def body() -> None:
            for frames in messages:
                await raw.send_multipart(frames)
            await raw.send(encode(Goodbye(f"sentinel {n}")))
            while True:
                wid, msg = await asyncio.wait_for(master.recv(), STEP)
                assert wid == "fuzzer"
                if msg == Goodbye(f"sentinel {n}"):
                    return
                # anything else that came through must be a valid message
                assert encode(msg)

        runner.run(body())

    try:
        check()
    finally:
        master.close()
        ctx.destroy(linger=0)
        runner.close()


def test_send_to_a_peer_that_stopped_reading_never_blocks(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, hwm=10) as master:
            ctx = zmq.asyncio.Context()
            try:
                sock = await _raw_dealer(ctx, master.port, b"sleepy")
                sock.setsockopt(zmq.RCVHWM, 10)
                await sock.send(encode(hello("sleepy")))
                await asyncio.wait_for(master.recv(), STEP)
                big = MasterHeartbeat(1.0, "x" * 200)
                refused = 0
                for _ in range(200_000):  # bounded; each send returns at once
                    if not master.send("sleepy", big):
                        refused += 1
                        break
                assert refused == 1
            finally:
                ctx.destroy(linger=0)

    run(loop_kind, main)


def test_worker_without_master_does_not_queue(loop_kind: str) -> None:
    async def main() -> None:
        # find a free port, then leave it closed
        probe = MasterChannel("127.0.0.1", 0)
        await probe.start()
        port = probe.port
        probe.close()
        async with WorkerChannel("lonely", "127.0.0.1", port) as w:
            assert w.send(hello("lonely")) is False
            await w.reconnect()
            assert w.send(hello("lonely")) is False

    run(loop_kind, main)


def test_worker_reconnect_keeps_a_pending_recv(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            w = await _connected_worker("w", master.port, master)
            try:
                pending = asyncio.ensure_future(w.recv())
                await asyncio.sleep(0.05)
                await w.reconnect()
                for _ in range(500):
                    if w.send(hello("w")):
                        break
                    await asyncio.sleep(0.01)
                assert await asyncio.wait_for(master.recv(), STEP) == ("w", hello("w"))
                assert master.send("w", Welcome("again"))
                assert await asyncio.wait_for(pending, STEP) == Welcome("again")
            finally:
                w.close()

    run(loop_kind, main)


def test_bind_conflict_is_a_usage_error(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as first:
            with pytest.raises(UsageError, match="cannot listen"):
                await MasterChannel("127.0.0.1", first.port).start()

    run(loop_kind, main)


def test_misuse_is_a_horde_error() -> None:
    ch = MasterChannel("127.0.0.1", 0)
    with pytest.raises(HordeError):
        ch.send("w", Welcome("x"))
    with pytest.raises(UsageError):
        WorkerChannel("", "127.0.0.1", 5557)
    with pytest.raises(UsageError):
        WorkerChannel("bad\nid", "127.0.0.1", 5557)


def test_ipv6_loopback(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("::1", 0) as master:
            assert master.endpoint.startswith("tcp://[::1]:")
            w = await _connected_worker("v6", master.port, master, host="::1")
            w.close()

    run(loop_kind, main)


def test_recv_many_takes_everything_queued_in_order_and_drops_garbage(loop_kind: str) -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            worker = await _connected_worker("w0", master.port, master)
            raw = zmq.asyncio.Context()
            garbage = raw.socket(zmq.DEALER)
            garbage.setsockopt(zmq.IDENTITY, b"junk")
            garbage.setsockopt(zmq.LINGER, 0)
            garbage.connect(f"tcp://127.0.0.1:{master.port}")
            try:
                for i in range(50):
                    assert worker.send(WorkerHeartbeat("running", i, 1.0, 0.1, 1, i))
                    if i == 25:
                        await garbage.send(b"not a horde frame")
                await asyncio.sleep(0.3)  # let all of it arrive before the first call
                got: list[int] = []
                while len(got) < 50:
                    batch = await asyncio.wait_for(master.recv_many(), STEP)
                    assert all(wid == "w0" for wid, _ in batch)
                    got.extend(m.seq for _, m in batch if isinstance(m, WorkerHeartbeat))
                assert got == list(range(50))
                # The garbage came over another connection: it may still be queued.
                deadline = asyncio.get_running_loop().time() + STEP
                while master.dropped < 1 and asyncio.get_running_loop().time() < deadline:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(master.recv_many(), 0.2)
                assert master.dropped == 1
            finally:
                worker.close()
                garbage.close(linger=0)
                raw.destroy(linger=0)

    run(loop_kind, main)


def test_asking_whether_messages_wait_never_takes_a_pending_recvs_wake_up(
        loop_kind: str) -> None:
    """A saturated side asks `has_queued` after a long lag; its recv must still see them.

    Reading a zmq socket's EVENTS consumes its edge-triggered wake-up. Before
    the fix, a worker whose loop had lagged asked this, took the wake-up from
    its own pending recv, and never read its master again: Stop and Quit went
    unheard and the load went on after the test (issue 8). Same for the master.
    """
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            worker = await joined_worker(master, "w0")
            try:
                worker_got: list[object] = []
                master_got: list[object] = []

                async def drain_worker() -> None:
                    while True:
                        worker_got.append(await worker.recv())

                async def drain_master() -> None:
                    while True:
                        master_got.append(await master.recv())

                tasks = [asyncio.create_task(drain_worker()), asyncio.create_task(drain_master())]
                await asyncio.sleep(0.1)  # both recvs pending
                for i in range(3):
                    assert master.send("w0", MasterHeartbeat(float(i), "t"))
                    assert worker.send(WorkerHeartbeat("running", i, 1.0, 0.1, 1, i))
                # The loop is blocked (a saturated process) while they arrive ...
                deadline = asyncio.get_running_loop().time() + STEP
                while not (worker.has_queued() and master.has_queued()):
                    assert asyncio.get_running_loop().time() < deadline, "nothing arrived"
                    time.sleep(0.01)
                # ... and then asks, before its recv ran: the recv still gets them.
                for _ in range(500):
                    if len(worker_got) == 3 and len(master_got) == 3:
                        break
                    await asyncio.sleep(0.01)
                assert worker_got == [MasterHeartbeat(float(i), "t") for i in range(3)]
                assert [msg for _, msg in master_got] == [  # type: ignore[misc]
                    WorkerHeartbeat("running", i, 1.0, 0.1, 1, i) for i in range(3)]
                for task in tasks:
                    task.cancel()
            finally:
                worker.close()

    run(loop_kind, main)


def test_a_worker_takes_everything_queued_in_one_wake_up(loop_kind: str) -> None:
    """A worker whose loop lags must not read one message per turn (issue 8).

    With a master heartbeat every second and loop turns longer than that, the
    queue grew for good and a Stop waited behind a minute of heartbeats.
    """
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            worker = await joined_worker(master, "w0")
            try:
                sent: list[object] = [MasterHeartbeat(float(i), "t") for i in range(40)]
                sent.append(Start("t", {"U": 1}, 1.0))
                for msg in sent:
                    assert master.send("w0", msg)  # type: ignore[arg-type]
                # The worker's loop is blocked while the burst arrives (microseconds
                # on loopback; the extra 0.2 s only makes sure all of it is there).
                deadline = time.monotonic() + STEP
                while not worker.has_queued() and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(0.2)
                first = await asyncio.wait_for(worker.recv_many(), STEP)
                got = list(first)
                while len(got) < len(sent):
                    got += await asyncio.wait_for(worker.recv_many(), STEP)
                assert got == sent
                assert len(first) > 1, "one message per wake-up"
                assert not worker.has_queued()
            finally:
                worker.close()

    run(loop_kind, main)
