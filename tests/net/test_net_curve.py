"""CURVE: the right keys talk; no keys, or keys the master does not know, are never heard."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import uvloop
import zmq.auth

from horde.errors import UsageError
from horde.net import CurveKeys, MasterChannel, WorkerChannel, load_public_keys, new_keypair
from horde.wire import PROTOCOL_VERSION, Goodbye, Hello, Welcome

STEP = 5.0


def hello(wid: str) -> Hello:
    return Hello(wid, "localhost", os.getpid(), "0.1.0", PROTOCOL_VERSION, 1, None)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    for name in ("master", "worker1", "worker2", "intruder"):
        zmq.auth.create_certificates(tmp_path, name)
    clients = tmp_path / "clients"
    clients.mkdir()
    for name in ("worker1", "worker2"):
        (clients / f"{name}.key").write_bytes((tmp_path / f"{name}.key").read_bytes())
    return tmp_path


async def _send_until_connected(w: WorkerChannel, msg: Hello | Goodbye, tries: int = 300) -> bool:
    for _ in range(tries):
        if w.send(msg):
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop])
def test_curve_admits_only_known_workers(certs: Path, loop_factory: type) -> None:
    master_keys = CurveKeys.for_master(certs / "master.key_secret", certs / "clients")
    assert len(master_keys.allowed_clients) == 2
    assert master_keys.secret.decode() not in repr(master_keys)

    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, curve=master_keys) as master:
            port = master.port
            plain = WorkerChannel("plain", "127.0.0.1", port)
            intruder = WorkerChannel(
                "intruder", "127.0.0.1", port,
                curve=CurveKeys.for_worker(certs / "intruder.key_secret", certs / "master.key"),
            )  # fmt: skip
            good = WorkerChannel(
                "good", "127.0.0.1", port,
                curve=CurveKeys.for_worker(certs / "worker1.key_secret", certs / "master.key"),
            )  # fmt: skip
            try:
                for w in (plain, intruder, good):
                    await w.start()
                # the outsiders never complete a handshake: nothing can even be queued
                assert not await _send_until_connected(plain, hello("plain"), tries=30)
                assert not await _send_until_connected(intruder, hello("intruder"), tries=30)
                assert await _send_until_connected(good, hello("good"))
                assert await asyncio.wait_for(master.recv(), STEP) == ("good", hello("good"))
                assert master.send("good", Welcome("0.1.0"))
                assert await asyncio.wait_for(good.recv(), STEP) == Welcome("0.1.0")
                assert not master.send("intruder", Welcome("0.1.0"))
                # nothing from the others arrives later either
                assert good.send(Goodbye("last"))
                assert await asyncio.wait_for(master.recv(), STEP) == ("good", Goodbye("last"))
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(master.recv(), 0.3)
            finally:
                for w in (plain, intruder, good):
                    w.close()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(asyncio.wait_for(main(), 30))


def test_allow_any_client_only_encrypts(certs: Path) -> None:
    pub, sec = new_keypair()
    keys = CurveKeys(pub, sec, allow_any_client=True)
    server_pub = pub

    async def main() -> None:
        async with MasterChannel("127.0.0.1", 0, curve=keys) as master:
            cpub, csec = new_keypair()
            w = WorkerChannel(
                "anyone", "127.0.0.1", master.port,
                curve=CurveKeys(cpub, csec, server_public=server_pub),
            )  # fmt: skip
            async with w:
                assert await _send_until_connected(w, hello("anyone"))
                assert await asyncio.wait_for(master.recv(), STEP) == ("anyone", hello("anyone"))

    asyncio.run(asyncio.wait_for(main(), 30))


def test_key_loading_errors(certs: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        CurveKeys.for_master(certs / "missing.key_secret", certs / "clients")
    with pytest.raises(UsageError, match="no secret"):
        CurveKeys.for_master(certs / "master.key", certs / "clients")
    with pytest.raises(UsageError, match="public keys"):
        CurveKeys.for_master(certs / "master.key_secret")
    empty = certs / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no \\*.key"):
        load_public_keys(empty)
    with pytest.raises(UsageError, match="z85"):
        CurveKeys(b"~" * 40, b"short")
    # z85 text works as well as files
    pub, _ = zmq.auth.load_certificate(certs / "worker1.key")
    assert load_public_keys([pub.decode()]) == {pub}
    keys = CurveKeys.for_worker(certs / "worker1.key_secret", pub.decode())
    assert keys.server_public == pub
