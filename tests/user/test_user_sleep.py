"""`horde.user.sleep`: cooperative in sync tasks, awaitable in async code."""

from __future__ import annotations

import asyncio
import inspect
import time

import pytest
from user_fakes import FakeEnv, run

from horde.user import User, sleep, task
from horde.user.sleep import cooperative_sleep, cooperative_time_sleep


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


# --- time.sleep while a run holds the cooperative patch ----------------------------


def test_time_sleep_in_a_sync_task_pauses_only_that_user() -> None:
    order: list[str] = []

    class Sleeper(User):
        @task
        def t(self) -> None:
            order.append("sleeper-in")
            time.sleep(0.02)
            order.append("sleeper-out")

    class Other(User):
        @task
        async def t(self) -> None:
            order.append("other")

    async def both() -> None:
        await asyncio.gather(
            Sleeper(FakeEnv(stop_after=1)).run(), Other(FakeEnv(stop_after=1)).run()
        )

    with cooperative_time_sleep():
        run(both())
    assert order == ["sleeper-in", "other", "sleeper-out"]


def test_without_the_patch_time_sleep_blocks_the_process() -> None:
    # The contrast that makes the test above meaningful: the real sleep holds
    # the loop, so the other user runs only after the sleeper's task.
    order: list[str] = []

    class Sleeper(User):
        @task
        def t(self) -> None:
            order.append("sleeper-in")
            time.sleep(0.02)
            order.append("sleeper-out")

    class Other(User):
        @task
        async def t(self) -> None:
            order.append("other")

    async def both() -> None:
        await asyncio.gather(
            Sleeper(FakeEnv(stop_after=1)).run(), Other(FakeEnv(stop_after=1)).run()
        )

    run(both())
    assert order == ["sleeper-in", "sleeper-out", "other"]


def test_outside_users_the_patched_time_sleep_is_the_real_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr(time, "sleep", calls.append)
    with cooperative_time_sleep():
        assert time.sleep is not calls.append
        time.sleep(0.25)  # not in a user's greenlet: straight to the original

        async def in_the_loop() -> None:
            time.sleep(0.5)  # the event loop itself is no user either

        run(in_the_loop())
    assert calls == [0.25, 0.5]
    assert time.sleep == calls.append  # put back


def test_the_patch_nests_and_the_last_holder_restores() -> None:
    real = time.sleep
    with cooperative_time_sleep():
        patched = time.sleep
        with cooperative_time_sleep():
            assert time.sleep is patched
        assert time.sleep is patched  # the outer holder still needs it
    assert time.sleep is real


def test_a_later_replacement_of_time_sleep_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    real = time.sleep
    theirs: list[float] = []
    with cooperative_time_sleep():
        time.sleep = theirs.append  # e.g. a test freezing time, installed meanwhile
    assert time.sleep == theirs.append
    time.sleep = real


def test_a_reference_taken_inside_stays_cooperative_after() -> None:
    # A script loaded while the patch is held (the loader does so) binds
    # `from time import sleep` to it; that keeps pausing only the user.
    with cooperative_time_sleep():
        bound = time.sleep
    order: list[str] = []

    class Sleeper(User):
        @task
        def t(self) -> None:
            order.append("sleeper-in")
            bound(0.02)
            order.append("sleeper-out")

    class Other(User):
        @task
        async def t(self) -> None:
            order.append("other")

    async def both() -> None:
        await asyncio.gather(
            Sleeper(FakeEnv(stop_after=1)).run(), Other(FakeEnv(stop_after=1)).run()
        )

    run(both())
    assert order == ["sleeper-in", "other", "sleeper-out"]


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), (float("nan"), ValueError),
                                              ("1", TypeError), (None, TypeError)])
def test_bad_sleep_lengths_raise_as_time_sleep_does(value: object, error: type) -> None:
    raised: list[BaseException] = []

    class Sleeper(User):
        @task
        def t(self) -> None:
            try:
                time.sleep(value)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - what we check
                raised.append(exc)

    with cooperative_time_sleep():
        run(Sleeper(FakeEnv(stop_after=1)).run())
    assert len(raised) == 1 and isinstance(raised[0], error)
    with pytest.raises(error):
        time.sleep(value)  # type: ignore[arg-type]


def test_cooperative_sleep_calls_the_fallback_outside_users() -> None:
    seen: list[float] = []
    cooperative_sleep(0.3, seen.append)
    assert seen == [0.3]


def test_the_horde_command_holds_the_cooperative_time_sleep_for_its_life(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A Locust script's init listener may spawn a greenlet that calls
    # time.sleep before any test starts: the command, not only a run, holds it.
    import horde.cli.main as cli_main

    real = time.sleep
    seen: list[object] = []
    monkeypatch.setattr(cli_main, "run", lambda argv: seen.append(time.sleep) or 0)
    with pytest.raises(SystemExit):
        cli_main.main()
    assert seen and seen[0] is not real
    assert time.sleep is real
