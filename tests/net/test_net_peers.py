"""Transport-level liveness (horde.net.peers) with real sockets and real processes.

Slow is not dead: a peer whose Python is blocked keeps its connection (libzmq's
I/O thread answers the heartbeats); a killed or stopped one loses it, and each
side hears of it without its event loop having to notice silence.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from horde.net import MasterChannel, WorkerChannel
from horde.wire import PROTOCOL_VERSION, Hello, MasterHeartbeat, WorkerHeartbeat
from tests.support.aio import run_async

REPO_ROOT = Path(__file__).resolve().parents[2]
BOUND_S = 15.0  # any single wait below; far above what the transport needs

# A worker channel in its own process: says hello, then heartbeats forever.
PEER = """
import asyncio, os, sys
from horde.net import WorkerChannel
from horde.wire import Hello, WorkerHeartbeat, PROTOCOL_VERSION

async def main():
    ch = WorkerChannel("peer", "127.0.0.1", int(sys.argv[1]))
    await ch.start()
    while not ch.send(Hello("peer", "h", os.getpid(), "0", PROTOCOL_VERSION)):
        await asyncio.sleep(0.05)
    n = 0
    while True:
        n += 1
        ch.send(WorkerHeartbeat("ready", 0, 0.0, 0.0, 0, n))
        await asyncio.sleep(0.2)

asyncio.run(main())
"""


def hello(wid: str) -> Hello:
    return Hello(wid, "localhost", os.getpid(), "0.1.0", PROTOCOL_VERSION, 1, None)


@pytest.fixture
def peer_process() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait()


def start_peer(procs: list[subprocess.Popen[bytes]], port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen([sys.executable, "-c", PEER, str(port)], env=env)
    procs.append(proc)
    return proc


async def wait_for(check: object, what: str) -> float:
    """Poll ``check()`` until true; returns the seconds it took."""
    assert callable(check)
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > BOUND_S:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


async def heard_from(master: MasterChannel, wid: str) -> None:
    async def first() -> None:
        while (await master.recv())[0] != wid:
            pass
    await asyncio.wait_for(first(), BOUND_S)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGSTOP])
@run_async
async def test_a_killed_or_stopped_worker_is_gone_for_the_master(
        peer_process: list[subprocess.Popen[bytes]], signum: int) -> None:
    async with MasterChannel("127.0.0.1", 0) as master:
        peer = start_peer(peer_process, master.port)
        await heard_from(master, "peer")
        assert master.deliver("peer", MasterHeartbeat(0.0, None)) == "sent"
        os.kill(peer.pid, signum)
        await wait_for(lambda: master.deliver("peer", MasterHeartbeat(0.0, None)) == "gone",
                       "the master to see the peer gone")
        assert master.deliver("nobody", MasterHeartbeat(0.0, None)) == "gone"


@run_async
async def test_a_blocked_loop_is_not_gone_on_either_side() -> None:
    """Both ends in this process; blocking the loop (and holding the GIL in
    bursts) for longer than the heartbeat timeout loses nothing."""
    dropped: list[str] = []
    async with MasterChannel("127.0.0.1", 0) as master:
        async with WorkerChannel("w", "127.0.0.1", master.port,
                                 on_master_gone=lambda: dropped.append("gone")) as worker:
            await wait_for(lambda: worker.send(hello("w")), "the worker to connect")
            await heard_from(master, "w")
            assert worker.master_connected
            end = time.monotonic() + 5.0  # > HEARTBEAT_TIMEOUT (3 s)
            x = 0
            while time.monotonic() < end:  # CPU-bound: the loop runs nothing meanwhile
                x += 1
            assert master.deliver("w", MasterHeartbeat(0.0, None)) == "sent"
            assert not worker.master_gone and dropped == []
            assert worker.send(WorkerHeartbeat("ready", 0, 0.0, 0.0, 0, 1))
            await heard_from(master, "w")


@run_async
async def test_the_worker_hears_the_master_leave_from_a_thread_while_its_loop_is_blocked() -> None:
    called: list[int] = []
    master = MasterChannel("127.0.0.1", 0)
    await master.start()
    async with WorkerChannel("w", "127.0.0.1", master.port,
                             on_master_gone=lambda: called.append(threading.get_ident())) as w:
        await wait_for(lambda: w.send(hello("w")), "the worker to connect")
        await heard_from(master, "w")
        await wait_for(lambda: w.master_connected, "the handshake to be seen")
        master.close()
        # The loop is blocked: only the watcher thread can notice.
        deadline = time.monotonic() + BOUND_S
        while not called and time.monotonic() < deadline:
            time.sleep(0.01)
        assert called and called[0] != threading.get_ident()
        assert w.master_gone and not w.master_connected
        await w.reconnect()  # a fresh connection starts with a clean slate
        assert not w.master_gone


@run_async
async def test_a_master_that_is_not_up_yet_is_not_gone() -> None:
    async with MasterChannel("127.0.0.1", 0) as probe:
        port = probe.port
    async with WorkerChannel("w", "127.0.0.1", port) as w:
        await asyncio.sleep(0.5)  # several reconnect attempts, none established
        assert not w.master_gone and not w.master_connected
        assert not w.has_queued()
