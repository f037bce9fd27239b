"""The watchdog names script code that blocks the event loop, from its own thread.

Real loops, real threads: a coroutine that holds the loop with CPU work (no
await) for well over `BLOCK_S`, a loop that is only busy with many short
callbacks, and a healthy one. This file counts as script code (it is neither
horde's engine nor a library), as a user's test script would.
"""

from __future__ import annotations

import asyncio
import inspect
import time

from horde.runtime.health import HealthMonitor
from horde.runtime.watchdog import BLOCK_S, MAX_SITES, Watchdog, script_frames


def crunch(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


CRUNCH_LINE = inspect.getsourcelines(crunch)[1] + 3  # the `while` line


async def _settle(monitor: HealthMonitor) -> None:
    # Let the loop run a little after the block, so the note reaches the loop.
    for _ in range(20):
        await asyncio.sleep(0.01)
    monitor.stop()


def test_a_task_that_blocks_the_loop_is_named_with_file_and_line() -> None:
    heard: list[str] = []

    async def blocking_task() -> None:
        crunch(BLOCK_S + 0.5)

    async def scenario() -> HealthMonitor:
        monitor = HealthMonitor(asyncio.get_running_loop())
        monitor.on_note = heard.append
        monitor.start()
        await asyncio.sleep(0.05)  # a few probes: the watchdog sees a live loop first
        await asyncio.create_task(blocking_task())  # its own task, as a user is
        await _settle(monitor)
        return monitor

    monitor = asyncio.run(scenario())
    [note] = monitor.summary.notes
    assert note.startswith("test_a_task_that_blocks_the_loop_is_named_with_file_and_line."
                           "<locals>.blocking_task (test_watchdog.py:")
    assert f"in crunch at test_watchdog.py:{CRUNCH_LINE}" in note
    assert "blocked the event loop for more than 0.5 s" in note
    assert note in monitor.summary.warnings()  # the result's generator.warnings
    assert heard == [note]  # told once, in the loop's thread


def test_the_same_site_is_named_once() -> None:
    async def blocking_task() -> None:
        crunch(BLOCK_S + 0.3)

    async def scenario() -> HealthMonitor:
        monitor = HealthMonitor(asyncio.get_running_loop())
        monitor.start()
        for _ in range(2):
            await asyncio.sleep(0.05)
            await asyncio.create_task(blocking_task())
        await _settle(monitor)
        return monitor

    monitor = asyncio.run(scenario())
    assert len(monitor.summary.notes) == 1


def test_a_loop_busy_with_many_short_callbacks_blames_nobody() -> None:
    # The loop is late by a second, but no single call held it: 2,000 callbacks
    # of 0.5 ms each run in one go. Lag is reported by the monitor; no task is named.
    def short() -> None:
        crunch(0.0005)

    async def scenario() -> HealthMonitor:
        loop = asyncio.get_running_loop()
        monitor = HealthMonitor(loop)
        monitor.start()
        await asyncio.sleep(0.05)
        for _ in range(2000):
            loop.call_soon(short)
        await asyncio.sleep(0)
        await _settle(monitor)
        return monitor

    monitor = asyncio.run(scenario())
    assert monitor.summary.notes == []


def test_a_healthy_loop_is_never_sampled() -> None:
    looked: list[int] = []

    class CountingWatchdog(Watchdog):
        def _report(self, outer, inner):  # type: ignore[no-untyped-def]
            looked.append(1)

    async def scenario() -> None:
        dog = CountingWatchdog(lambda _: None)
        dog.start()
        for _ in range(30):
            dog.beat()
            await asyncio.sleep(0.02)
        dog.stop()
        assert dog._thread is None

    asyncio.run(scenario())
    assert looked == []


def test_engine_and_library_frames_are_not_script_frames() -> None:
    import json

    seen: list[object] = []

    def hook(obj: dict[str, object]) -> dict[str, object]:
        seen.append(script_frames(inspect.currentframe()))
        return obj

    json.loads('{"a": 1}', object_hook=hook)  # hook runs under the stdlib's json
    [(outer, inner)] = seen  # type: ignore[misc]
    assert inner.f_code.co_name == "hook"
    # The outermost script frame is pytest's caller chain or this test: never json's.
    assert "json" not in outer.f_code.co_filename


def test_sites_are_bounded() -> None:
    notes: list[str] = []
    dog = Watchdog(notes.append)
    frames = []

    def make(i: int) -> None:
        frames.append(inspect.currentframe().f_back)  # type: ignore[union-attr]

    # Distinct sites: code compiled under its own file name, each at its own line.
    for i in range(MAX_SITES + 5):
        namespace: dict[str, object] = {"make": make, "i": i}
        exec(compile("\n" * i + "make(i)", f"/tmp/site{i}.py", "exec"), namespace)
    for frame in frames:
        dog._report(frame, frame)  # type: ignore[arg-type]
    assert len(notes) == MAX_SITES
    assert "site0.py:1" in notes[0]


def test_code_outside_the_loop_is_never_blamed() -> None:
    # The loop is blocked by a callback with no script frame (a C function the
    # loop calls directly); the only script frame on the stack is this test,
    # which called asyncio.run and stays there all along, as the `horde`
    # console script does in a real run. Nobody is named.
    async def scenario() -> HealthMonitor:
        loop = asyncio.get_running_loop()
        monitor = HealthMonitor(loop)
        monitor.start()
        await asyncio.sleep(0.05)
        loop.call_soon(time.sleep, BLOCK_S + 0.3)
        await asyncio.sleep(0)
        await _settle(monitor)
        return monitor

    monitor = asyncio.run(scenario())
    assert monitor.summary.notes == []
