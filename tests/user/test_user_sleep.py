"""`horde.user.sleep`: cooperative in sync tasks, awaitable in async code."""

from __future__ import annotations

import asyncio
import inspect

from user_fakes import FakeEnv, run

from horde.user import User, sleep, task


def test_sleep_in_a_sync_task_lets_other_users_run() -> None:
    order: list[str] = []

    class Sleeper(User):
        @task
        def t(self) -> None:
            order.append("sleeper-in")
            done = sleep(0.02)
            order.append("sleeper-out")
            assert inspect.isawaitable(done)

    class Other(User):
        @task
        async def t(self) -> None:
            order.append("other")

    async def both() -> None:
        await asyncio.gather(
            Sleeper(FakeEnv(stop_after=1)).run(), Other(FakeEnv(stop_after=1)).run()
        )

    run(both())
    # The other user's first step is already queued when the sleeper pauses,
    # so this order holds however slow the machine is.
    assert order == ["sleeper-in", "other", "sleeper-out"]


def test_sleep_returns_a_completed_awaitable_in_sync_code() -> None:
    class U(User):
        @task
        def t(self) -> None:
            self.result = sleep(0)

    async def go() -> None:
        user = U(FakeEnv(stop_after=1))
        await user.run()
        assert await user.result is None  # awaiting it is harmless

    run(go())


def test_sleep_in_async_code_is_awaitable_and_really_waits() -> None:
    order: list[str] = []

    class Sleeper(User):
        @task
        async def t(self) -> None:
            order.append("sleeper-in")
            await sleep(0.02)
            order.append("sleeper-out")

    class Other(User):
        @task
        def t(self) -> None:
            order.append("other")

    async def both() -> None:
        await asyncio.gather(
            Sleeper(FakeEnv(stop_after=1)).run(), Other(FakeEnv(stop_after=1)).run()
        )

    run(both())
    assert order == ["sleeper-in", "other", "sleeper-out"]


def test_sleep_outside_a_user_greenlet_returns_a_coroutine() -> None:
    pending = sleep(0)
    assert inspect.iscoroutine(pending)
    run(pending)  # type: ignore[arg-type]
