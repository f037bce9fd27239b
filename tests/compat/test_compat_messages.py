"""The script side of a fleet's traffic (horde.compat.messages), on one event loop.

What the real-process tests (test_compat_fleet.py) cannot force cheaply: the
bounds. A flood of messages for handlers that never finish leaves at most
`MAX_CONCURRENT` concurrent handlers running and `MAX_QUEUED` messages
waiting; the rest are dropped and counted. Bad data from a peer, a raising
handler or listener, and report data over its bound are logged, never raised.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from horde.compat.env import Environment
from horde.compat.gevent_shim import Event
from horde.compat.messages import MAX_CONCURRENT, MAX_QUEUED
from horde.wire.messages import MAX_REPORT_EXTRA_BYTES
from horde.wire.script import pack, unpack


def _data(value: Any) -> bytes:
    return pack(value, 1 << 20)


async def _until(check: Callable[[], bool], what: str, steps: int = 10_000) -> None:
    for _ in range(steps):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never: {what}")


def test_concurrent_handlers_are_bounded_and_run_side_by_side() -> None:
    async def main() -> None:
        env = Environment()
        bridge = env.script_bridge
        gate = Event()
        started: list[int] = []

        def blocked(environment: Environment, msg: Any) -> None:
            assert environment is env and msg.type == "c" and msg.node_id == "w1"
            started.append(msg.data)
            gate.wait()

        bridge.register("c", blocked, concurrent=True)
        for i in range(MAX_CONCURRENT + 20):
            bridge.message("c", _data(i), "w1")
        await _until(lambda: len(started) == MAX_CONCURRENT, "all handlers started")
        assert bridge.dropped == 20
        gate.set()
        await _until(lambda: not bridge._concurrent, "the handlers ended")
        bridge.message("c", _data("again"), "w1")  # room again
        await _until(lambda: started[-1] == "again", "the next handler")

    asyncio.run(main())


def test_handlers_in_turn_run_in_order_and_their_queue_is_bounded() -> None:
    async def main() -> None:
        env = Environment()
        bridge = env.script_bridge
        gate = Event()
        seen: list[int] = []

        def one_at_a_time(environment: Environment, msg: Any) -> None:
            gate.wait()
            seen.append(msg.data)
            if msg.data == 3:
                raise ValueError("a handler's mistake")  # logged; the next one runs

        bridge.register("s", one_at_a_time)
        for i in range(MAX_QUEUED + 7):
            bridge.message("s", _data(i), "w1")
        assert bridge.dropped == 7
        gate.set()
        await _until(lambda: len(seen) == MAX_QUEUED, "every queued message handled")
        assert seen == list(range(MAX_QUEUED))

    asyncio.run(main())


def test_a_peers_bad_data_and_unknown_kinds_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        env = Environment()
        bridge = env.script_bridge
        seen: list[Any] = []
        bridge.register("k", lambda environment, msg: seen.append(msg.data))
        bridge.message("nobody", _data(1), "w1")
        bridge.message("k", b"\xc1", "w1")  # not msgpack
        bridge.message("k", b"\x91" * 50_000 + b"\xc0", "w1")  # nested too deep
        bridge.message("k", _data({"fine": True}), "w1")
        await _until(lambda: seen == [{"fine": True}], "the good message")
        assert bridge.dropped == 3

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    assert "which no handler is registered for" in caplog.text


def test_report_data_goes_out_and_comes_in_as_locust_does() -> None:
    async def main() -> None:
        worker, master = Environment(), Environment()
        calls: list[tuple[str, dict[str, Any]]] = []

        def add(client_id: str, data: dict[str, Any]) -> None:
            data["n"] = 7

        worker.events.report_to_master.add_listener(add)
        master.events.worker_report.add_listener(
            lambda client_id, data: calls.append((client_id, data)))
        extra = worker.script_bridge.report_extra()
        assert unpack(extra) == {"n": 7}
        master.script_bridge.worker_report("w1", extra)
        master.script_bridge.worker_report("w2", b"")  # a report without script data
        master.script_bridge.worker_report("w3", b"\xc1")  # dropped
        master.script_bridge.worker_report("w4", _data([1]))  # not a map: dropped
        assert calls == [("w1", {"n": 7}), ("w2", {})]

        def too_much(client_id: str, data: dict[str, Any]) -> None:
            data["blob"] = "x" * MAX_REPORT_EXTRA_BYTES

        worker.events.report_to_master.add_listener(too_much)
        assert worker.script_bridge.report_extra() == b""  # logged, left out

        def broken(client_id: str, data: dict[str, Any]) -> None:
            raise RuntimeError("listener bug")

        master.events.worker_report.add_listener(broken)
        master.script_bridge.worker_report("w1", extra)  # logged, not raised

    asyncio.run(main())


def test_options_travel_as_plain_values() -> None:
    master, worker = Environment(), Environment()
    master.parsed_options = argparse.Namespace(path="/x", many=("a", "b"), obj=object(),
                                               host="http://h")
    master.script_bridge.option_names = ("path", "many", "obj")
    assert master.script_bridge.options() == {"path": "/x", "many": ["a", "b"]}
    worker.parsed_options = argparse.Namespace(path="/default", own=1)
    worker.script_bridge.apply_options({"path": "/x", "many": ["a", "b"]})
    assert vars(worker.parsed_options) == {"path": "/x", "own": 1, "many": ["a", "b"]}
