"""horde/bridge.py: one reused greenlet per runner, outcomes crossing both ways, misuse refused."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Coroutine
from typing import Any

import pytest
import uvloop
from greenlet import getcurrent

from horde.bridge import SyncRunner, await_, in_sync_context


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run on a fresh uvloop loop; fail if anything reached the loop's exception handler."""
    loop = uvloop.new_event_loop()
    caught: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: caught.append(context))
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
        assert not caught, caught


async def _value(x: Any) -> Any:
    await asyncio.sleep(0)
    return x


async def _fail(exc: BaseException) -> None:
    await asyncio.sleep(0)
    raise exc


def test_one_greenlet_reused_for_every_call() -> None:
    seen: list[Any] = []

    def task(n: int, *, scale: int) -> int:
        seen.append(getcurrent())
        return await_(_value(n)) * scale

    async def main() -> list[int]:
        runner = SyncRunner()
        results = [await runner.call(task, n, scale=10) for n in range(5)]
        runner.close()
        return results

    assert run(main()) == [0, 10, 20, 30, 40]
    assert len({id(g) for g in seen}) == 1 and seen[0].dead


def test_in_sync_context_only_inside_the_runner() -> None:
    async def main() -> tuple[bool, bool]:
        runner = SyncRunner()
        inside = await runner.call(in_sync_context)
        runner.close()
        return inside, in_sync_context()

    assert run(main()) == (True, False)
    assert in_sync_context() is False


def test_exception_from_sync_code_reaches_the_caller() -> None:
    boom = KeyError("boom")

    def task() -> None:
        raise boom

    async def main() -> None:
        runner = SyncRunner()
        with pytest.raises(KeyError) as info:
            await runner.call(task)
        assert info.value is boom
        assert await runner.call(lambda: "still usable") == "still usable"
        runner.close()

    run(main())


def test_exception_from_the_awaitable_reaches_sync_code() -> None:
    def task() -> str:
        try:
            await_(_fail(ValueError("io failed")))
        except ValueError as exc:
            return f"caught {exc}"
        return "not raised"

    async def main() -> str:
        runner = SyncRunner()
        try:
            return str(await runner.call(task))
        finally:
            runner.close()

    assert run(main()) == "caught io failed"


def test_cancellation_is_raised_inside_sync_code_and_out_of_call() -> None:
    observed: list[str] = []

    def task() -> None:
        try:
            await_(asyncio.sleep(30))
        except asyncio.CancelledError:
            observed.append("cancelled inside")
            raise

    async def main() -> None:
        runner = SyncRunner()
        call = asyncio.ensure_future(runner.call(task))
        await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(call, 5)
        # The greenlet survived the cancellation and serves the next call.
        assert await runner.call(lambda: 7) == 7
        runner.close()

    run(main())
    assert observed == ["cancelled inside"]


def test_await_outside_a_runner_is_a_clear_error_and_closes_the_coroutine() -> None:
    coro = _value(1)
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="outside a user's sync task; in async code, use"):
            await_(coro)
        del coro
        gc.collect()
    assert not [w for w in log if "never awaited" in str(w.message)]


def test_close_ends_the_greenlet_and_a_closed_runner_refuses_calls() -> None:
    async def main() -> None:
        runner = SyncRunner()
        runner.close()  # never started
        runner.close()  # twice is fine
        with pytest.raises(RuntimeError, match="closed"):
            await runner.call(lambda: 1)
        used = SyncRunner()
        assert await used.call(lambda: 2) == 2
        used.close()
        with pytest.raises(RuntimeError, match="closed"):
            await used.call(lambda: 3)

    run(main())


def test_close_during_a_call_is_an_error_not_a_wrong_value() -> None:
    cleaned: list[str] = []

    def task() -> int:
        try:
            return int(await_(_value(5)))
        finally:
            cleaned.append("finally ran")

    async def main() -> None:
        runner = SyncRunner()
        call = asyncio.ensure_future(runner.call(task))
        await asyncio.sleep(0)  # the task is now waiting inside await_
        runner.close()
        with pytest.raises(RuntimeError, match="closed while a call was running"):
            await asyncio.wait_for(call, 5)

    run(main())
    assert cleaned == ["finally ran"]


def test_a_second_concurrent_call_is_refused() -> None:
    def slow() -> str:
        await_(asyncio.sleep(0.01))
        return "first"

    async def main() -> None:
        runner = SyncRunner()
        first = asyncio.ensure_future(runner.call(slow))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already running a call"):
            await runner.call(lambda: "second")
        assert await asyncio.wait_for(first, 5) == "first"
        runner.close()

    run(main())
