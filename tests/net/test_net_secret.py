"""A fleet secret: the key derivation, secret files, and refusals told apart from silence.

Real sockets on loopback: a master and workers holding the same secret talk;
a worker holding another secret, none, or the right master key with a wrong
worker key is refused, and both sides say why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

from horde.errors import HordeError, UsageError
from horde.net import MasterChannel, WorkerChannel
from horde.net.ratelimit import PeerRates
from horde.net.secret import (
    FleetSecret,
    create_secret_file,
    default_secret_path,
    hkdf_expand,
    read_secret_file,
)
from horde.wire import PROTOCOL_VERSION, Hello, Welcome

STEP = 10.0
A = FleetSecret("secret-of-fleet-A-0123456789")
B = FleetSecret("secret-of-fleet-B-0123456789")


def hello(wid: str) -> Hello:
    return Hello(wid, "localhost", os.getpid(), "0.1.0", PROTOCOL_VERSION, 1, None)


def test_hkdf_expand_matches_rfc5869_test_case_1() -> None:
    prk = bytes.fromhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
    okm = hkdf_expand(prk, bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


def test_both_sides_derive_matching_and_distinct_keys() -> None:
    master, worker = A.master_keys(), A.worker_keys()
    assert worker.server_public == master.public
    assert master.allowed_clients == frozenset({worker.public})
    assert master.public != worker.public  # separate pairs for the two roles
    assert B.worker_keys().public not in master.allowed_clients
    assert B.master_keys().public != master.public
    assert A.text not in repr(A) and A.text not in repr(master)


@pytest.mark.parametrize("text", ["short", " padded-secret-text-here ", "tab\tinside-the-secret"])
def test_weak_or_odd_secrets_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="secret"):
        FleetSecret(text)


def test_secret_files(tmp_path: Path) -> None:
    path = default_secret_path({"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert path == tmp_path / "cfg" / "horde" / "fleet.secret"
    secret, created = create_secret_file(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = create_secret_file(path)
    assert not created_again and again.text == secret.text
    assert read_secret_file(path).text == secret.text
    path.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        read_secret_file(path)
    with pytest.raises(UsageError, match="cannot read"):
        read_secret_file(tmp_path / "missing")


def test_peer_rates_bound_one_peer_and_the_table() -> None:
    now = [0.0]
    rates = PeerRates(10.0, 5.0, max_peers=3, clock=lambda: now[0])
    assert [rates.allow("p") for _ in range(7)] == [True] * 5 + [False] * 2
    now[0] += 0.1  # one token back
    assert rates.allow("p") and not rates.allow("p")
    for peer in ("a", "b", "c", "d"):
        assert rates.allow(peer)
    assert len(rates) <= 3


async def _first_answer(w: WorkerChannel, master: MasterChannel, wid: str) -> None:
    for _ in range(500):
        if w.send(hello(wid)):
            break
        await asyncio.sleep(0.01)
    assert await asyncio.wait_for(master.recv(), STEP) == (wid, hello(wid))
    assert master.send(wid, Welcome("x"))
    assert await asyncio.wait_for(w.recv(), STEP) == Welcome("x")


def test_same_secret_talks() -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, curve=A.master_keys()) as master:
            w = WorkerChannel("w1", "127.0.0.1", master.port, curve=A.worker_keys())
            await w.start()
            try:
                await _first_answer(w, master, "w1")
            finally:
                w.close()

    asyncio.run(main())


def test_another_secret_is_refused_and_said(caplog: pytest.LogCaptureFixture) -> None:
    """The worker's greeting is sealed for another master key: the master breaks off the
    handshake, says so, and the worker says its secret was not accepted."""
    caplog.set_level(logging.WARNING, logger="horde.net.master")

    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, curve=A.master_keys()) as master:
            w = WorkerChannel("w1", "127.0.0.1", master.port, curve=B.worker_keys())
            await w.start()
            try:
                with pytest.raises(HordeError, match="holds another secret"):
                    await asyncio.wait_for(w.recv(), 30)
                assert master.refused >= 1
            finally:
                w.close()

    asyncio.run(main())
    assert "wrong secret: it holds another one" in caplog.text


def test_right_master_key_wrong_worker_key_is_named_by_the_zap_handler(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="horde.net.master")
    stranger = B.worker_keys()
    # Knows the master's public key (not secret), but not the fleet's worker key.
    impostor = type(stranger)(stranger.public, stranger.secret,
                              server_public=A.master_keys().public, from_secret=True)

    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, curve=A.master_keys()) as master:
            w = WorkerChannel("w1", "127.0.0.1", master.port, curve=impostor)
            await w.start()
            try:
                with pytest.raises(HordeError, match="did not accept this worker's secret"):
                    await asyncio.wait_for(w.recv(), 30)
            finally:
                w.close()

    asyncio.run(main())
    assert "refused a worker from 127.0.0.1: wrong secret" in caplog.text


def test_one_side_without_a_secret_is_refused_in_words() -> None:
    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, curve=A.master_keys()) as secure:
            w = WorkerChannel("open", "127.0.0.1", secure.port)
            await w.start()
            try:
                with pytest.raises(HordeError, match="requires a secret"):
                    await asyncio.wait_for(w.recv(), 30)
            finally:
                w.close()
        async with MasterChannel("127.0.0.1", 0) as open_master:
            w = WorkerChannel("careful", "127.0.0.1", open_master.port, curve=A.worker_keys())
            await w.start()
            try:
                with pytest.raises(HordeError, match="runs without a secret"):
                    await asyncio.wait_for(w.recv(), 30)
            finally:
                w.close()

    asyncio.run(main())


def test_a_second_connection_cannot_take_a_live_workers_id() -> None:
    """No handover: a Hello under a live worker's id from another connection is dropped,
    the worker is still heard both ways; once it is gone, a new connection may rejoin."""

    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0) as master:
            real = WorkerChannel("w1", "127.0.0.1", master.port)
            await real.start()
            ctx = zmq.asyncio.Context()
            try:
                await _first_answer(real, master, "w1")
                spoof = ctx.socket(zmq.DEALER)
                spoof.setsockopt(zmq.LINGER, 0)
                spoof.setsockopt(zmq.ROUTING_ID, b"w1\x00spoof")
                spoof.connect(f"tcp://127.0.0.1:{master.port}")
                from horde.wire import encode

                spoofed = Hello("w1", "spoof", 1, "0.1.0", PROTOCOL_VERSION, 1, None)
                for _ in range(3):
                    await spoof.send(encode(spoofed))
                heard: list[object] = []

                async def listen() -> None:
                    while True:
                        heard.append(await master.recv())

                listener = asyncio.ensure_future(listen())
                try:
                    for _ in range(500):  # polling the counter, not a guessed wait
                        if master.dropped >= 3:
                            break
                        await asyncio.sleep(0.02)
                finally:
                    listener.cancel()
                assert master.dropped >= 3 and heard == []
                await _first_answer(real, master, "w1")  # the real one still talks
                assert await asyncio.wait_for(spoof.poll(200), STEP) == 0  # heard nothing
                # a worker that reconnects (a fresh connection) is heard at once
                await real.reconnect()
                await _first_answer(real, master, "w1")
            finally:
                real.close()
                ctx.destroy(linger=0)

    asyncio.run(main())
