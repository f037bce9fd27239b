"""The user lifecycle: hooks, control-flow exceptions, errors, the one greenlet."""

from __future__ import annotations

import asyncio

import greenlet
import pytest
from user_fakes import FakeEnv, run, run_user

from horde.bridge import in_sync_context
from horde.errors import InterruptTaskSet, RescheduleTask, ScriptError, StopUser
from horde.user import FastHttpUser, HttpUser, User, constant, task


@pytest.mark.parametrize("style", ["sync", "async"])
def test_on_start_tasks_on_stop_order(style: str) -> None:
    log: list[str] = []

    if style == "sync":

        class U(User):
            def on_start(self) -> None:
                log.append("start")

            @task
            def t(self) -> None:
                log.append("task")

            def on_stop(self) -> None:
                log.append("stop")

    else:

        class U(User):  # type: ignore[no-redef]
            async def on_start(self) -> None:
                log.append("start")

            @task
            async def t(self) -> None:
                log.append("task")

            async def on_stop(self) -> None:
                log.append("stop")

    run_user(U(FakeEnv(stop_after=3)))
    assert log == ["start", "task", "task", "task", "stop"]


def test_stop_user_raised_by_a_task_ends_the_user_and_runs_on_stop() -> None:
    log: list[str] = []

    class U(User):
        @task
        def t(self) -> None:
            log.append("task")
            if len(log) == 2:
                raise StopUser()

        async def on_stop(self) -> None:
            log.append("stop")

    env = FakeEnv(stop_after=100)
    run_user(U(env))
    assert log == ["task", "task", "stop"]
    assert len(env.waits) == 1
    assert env.exceptions == []


def test_stopping_during_wait_ends_the_user() -> None:
    log: list[str] = []

    class U(User):
        @task
        async def t(self) -> None:
            log.append("task")
            if len(log) == 3:
                self.environment.stopping = True  # type: ignore[attr-defined]

        def on_stop(self) -> None:
            log.append("stop")

    run_user(U(FakeEnv()))
    assert log == ["task", "task", "task", "stop"]


def test_reschedule_task_picks_the_next_task_without_waiting() -> None:
    calls = 0

    class U(User):
        wait_time = constant(1)

        @task
        def t(self) -> None:
            nonlocal calls
            calls += 1
            if calls % 2:
                raise RescheduleTask()

    env = FakeEnv(stop_after=6)
    run_user(U(env))
    assert calls == 6
    # A rescheduled run is followed by wait(0) (a yield), not by the wait time.
    assert env.waits == [0, 1, 0, 1, 0, 1]
    assert env.exceptions == []


def test_a_task_that_always_reschedules_still_stops() -> None:
    class U(User):
        wait_time = constant(1)

        @task
        def t(self) -> None:
            raise RescheduleTask()

    env = FakeEnv(stop_after=50)
    run_user(U(env))
    assert env.waits == [0] * 50


def test_a_failing_task_is_recorded_and_the_user_goes_on() -> None:
    runs = 0

    class U(User):
        wait_time = constant(2)

        @task
        def boom(self) -> None:
            nonlocal runs
            runs += 1
            raise ValueError(f"bad {runs}")

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert runs == 3
    assert env.waits == [2, 2, 2]  # the wait still follows a failed task
    assert [(w, str(e)) for w, e in env.exceptions] == [
        ("U.boom", "bad 1"),
        ("U.boom", "bad 2"),
        ("U.boom", "bad 3"),
    ]


def test_a_failing_async_task_is_recorded_too() -> None:
    class U(User):
        @task
        async def boom(self) -> None:
            raise KeyError("k")

    env = FakeEnv(stop_after=2)
    run_user(U(env))
    assert [(w, type(e)) for w, e in env.exceptions] == [("U.boom", KeyError)] * 2


def test_interrupt_at_user_level_is_a_script_error() -> None:
    class U(User):
        @task
        def t(self) -> None:
            raise InterruptTaskSet()

    env = FakeEnv(stop_after=2)
    run_user(U(env))
    assert [w for w, _ in env.exceptions] == ["U.t", "U.t"]
    assert all(isinstance(e, ScriptError) for _, e in env.exceptions)


def test_failing_on_start_ends_the_user_without_tasks() -> None:
    log: list[str] = []

    class U(User):
        def on_start(self) -> None:
            raise RuntimeError("login failed")

        @task
        def t(self) -> None:
            log.append("task")

        def on_stop(self) -> None:
            log.append("stop")

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert log == []
    assert [(w, str(e)) for w, e in env.exceptions] == [("U.on_start", "login failed")]


def test_stop_user_in_on_start_still_runs_on_stop() -> None:
    log: list[str] = []

    class U(User):
        async def on_start(self) -> None:
            raise StopUser()

        @task
        def t(self) -> None:
            log.append("task")

        def on_stop(self) -> None:
            log.append("stop")

    run_user(U(FakeEnv(stop_after=3)))
    assert log == ["stop"]


def test_failing_on_stop_is_recorded_and_stop_user_in_on_stop_is_quiet() -> None:
    class Fails(User):
        @task
        def t(self) -> None: ...

        def on_stop(self) -> None:
            raise OSError("cleanup")

    class Gated(User):
        @task
        def t(self) -> None: ...

        async def on_stop(self) -> None:
            raise StopUser()  # what the client does once the gate is closed

    env = FakeEnv(stop_after=1)
    run_user(Fails(env))
    assert [(w, str(e)) for w, e in env.exceptions] == [("Fails.on_stop", "cleanup")]
    env = FakeEnv(stop_after=1)
    run_user(Gated(env))
    assert env.exceptions == []


def test_a_broken_wait_time_is_recorded_and_ends_the_user() -> None:
    log: list[str] = []

    class U(User):
        def wait_time(self) -> float:
            raise ZeroDivisionError()

        @task
        def t(self) -> None:
            log.append("task")

        def on_stop(self) -> None:
            log.append("stop")

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert log == ["task", "stop"]
    assert [w for w, _ in env.exceptions] == ["U.run"]


def test_mixed_user_uses_exactly_one_greenlet_for_all_sync_calls() -> None:
    seen: list[object] = []
    contexts: list[tuple[str, bool]] = []

    class U(User):
        def on_start(self) -> None:
            seen.append(greenlet.getcurrent())

        @task(2)
        def sync_task(self) -> None:
            seen.append(greenlet.getcurrent())
            contexts.append(("sync", in_sync_context()))

        @task(2)
        async def async_task(self) -> None:
            contexts.append(("async", in_sync_context()))

        def on_stop(self) -> None:
            seen.append(greenlet.getcurrent())

    user = U(FakeEnv(stop_after=40))
    user.rng.seed(1)
    run_user(user)
    assert len(seen) >= 10  # on_start, several sync tasks, on_stop
    assert len({id(g) for g in seen}) == 1
    main = seen[0]
    assert main is not greenlet.getcurrent()
    assert {c for c in contexts} == {("sync", True), ("async", False)}
    assert user._horde_runner is None  # closed at the end
    assert main.dead  # type: ignore[attr-defined]


def test_two_users_have_two_greenlets() -> None:
    seen: dict[int, set[int]] = {}

    class U(User):
        @task
        def t(self) -> None:
            seen.setdefault(id(self), set()).add(id(greenlet.getcurrent()))

    async def both() -> None:
        await asyncio.gather(U(FakeEnv(stop_after=5)).run(), U(FakeEnv(stop_after=5)).run())

    run(both())
    assert [len(s) for s in seen.values()] == [1, 1]
    first, second = seen.values()
    assert first != second


def test_an_async_only_user_never_makes_a_greenlet() -> None:
    class U(User):
        async def on_start(self) -> None: ...

        @task
        async def t(self) -> None:
            assert self._horde_runner is None

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert env.exceptions == []


def test_sync_task_awaits_io_cooperatively() -> None:
    """A sync task's await_ lets another user progress in between."""
    from horde.bridge import await_

    order: list[str] = []

    class Slow(User):
        @task
        def t(self) -> None:
            order.append("slow-in")
            await_(asyncio.sleep(0.01))
            order.append("slow-out")

    class Fast(User):
        @task
        async def t(self) -> None:
            order.append("fast")

    async def both() -> None:
        await asyncio.gather(Slow(FakeEnv(stop_after=1)).run(), Fast(FakeEnv(stop_after=1)).run())

    run(both())
    assert order == ["slow-in", "fast", "slow-out"]


def test_cancellation_propagates_and_closes_the_greenlet() -> None:
    seen: list[object] = []

    class U(User):
        @task
        def t(self) -> None:
            seen.append(greenlet.getcurrent())
            from horde.bridge import await_

            await_(asyncio.sleep(3600))

    async def cancel_it() -> None:
        user = U(FakeEnv())
        job = asyncio.ensure_future(user.run())
        while not seen:
            await asyncio.sleep(0)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    run(cancel_it())
    assert seen[0].dead  # type: ignore[attr-defined]


def test_abstract_is_not_inherited() -> None:
    class Base(User):
        abstract = True

    class Concrete(Base):
        pass

    class Http(HttpUser):
        pass

    assert User.abstract and Base.abstract and HttpUser.abstract and FastHttpUser.abstract
    assert not Concrete.abstract and not Http.abstract
    assert "abstract" in Concrete.__dict__  # what the script loader reads


def test_weight_fixed_count_and_host_attributes() -> None:
    class U(User):
        weight = 3
        fixed_count = 2
        host = "http://127.0.0.1:1"

    assert (User.weight, User.fixed_count, User.host) == (1, 0, None)
    assert (U.weight, U.fixed_count, U.host) == (3, 2, "http://127.0.0.1:1")
