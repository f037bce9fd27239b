"""All-sync users run their whole life inside one greenlet, entered once.

The behaviour of every user feature on this path is covered by the whole of
tests/user (conftest.py runs each test through both loops); these tests check
the path itself: which users take it, that the greenlet is entered once per
user (counted with greenlet's switch trace), and the result of a few control
flows written out in full on both loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import greenlet
import pytest
from user_fakes import FakeEnv, run, run_user

from horde.bridge import SyncRunner, _UserGreenlet, await_
from horde.errors import RescheduleTask, StopUser
from horde.user import HttpUser, SequentialTaskSet, TaskSet, User, tag, task
from horde.user.syncloop import sync_only
from horde.user.table import task_table


@pytest.fixture
def greenlet_loop(loop_path: str) -> None:
    if loop_path != "greenlet-loop":
        pytest.skip("about the greenlet loop itself")


class Switches:
    """Counts greenlet switches into user greenlets, and SyncRunner.call entries."""

    def __init__(self) -> None:
        self.into_user: list[Any] = []
        self.calls = 0

    def trace(self, event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            target = args[1]
            if isinstance(target, _UserGreenlet):
                self.into_user.append(target)


@pytest.fixture
def switches(monkeypatch: pytest.MonkeyPatch) -> Iterator[Switches]:
    counter = Switches()
    real_call = SyncRunner.call

    def counting_call(self: SyncRunner, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counter.calls += 1
        return real_call(self, fn, *args, **kwargs)

    monkeypatch.setattr(SyncRunner, "call", counting_call)
    previous = greenlet.settrace(counter.trace)
    try:
        yield counter
    finally:
        greenlet.settrace(previous)


# --- which users take the greenlet loop -------------------------------------


def test_sync_only_is_decided_over_the_whole_tree() -> None:
    class SyncSet(TaskSet):
        @task
        def a(self) -> None: ...

    class AsyncSet(TaskSet):
        @task
        async def a(self) -> None: ...

    class AsyncStop(TaskSet):
        @task
        def a(self) -> None: ...

        async def on_stop(self) -> None: ...

    class Loop(TaskSet):
        @task
        def a(self) -> None: ...

    Loop.tasks = [Loop, Loop.a]  # a TaskSet that contains itself

    class AllSync(User):
        tasks = [SyncSet, Loop]

        def on_start(self) -> None: ...

    class Nested(User):
        tasks = [SyncSet, AsyncSet]

    class Hook(User):
        tasks = [AsyncStop]

    class AsyncStart(User):
        @task
        def t(self) -> None: ...

        async def on_start(self) -> None: ...

    assert sync_only(task_table(AllSync), None, None)
    assert not sync_only(task_table(Nested), None, None)
    assert not sync_only(task_table(Hook), None, None)
    assert not sync_only(task_table(AsyncStart), None, None)
    assert sync_only(task_table(SyncSet), None, None)
    assert task_table(Nested).sync_only is False  # cached on the table


def test_tag_filter_can_make_a_mixed_user_all_sync() -> None:
    class U(User):
        @tag("s")
        @task
        def s(self) -> None: ...

        @tag("a")
        @task
        async def a(self) -> None: ...

    assert not sync_only(task_table(U), None, None)
    assert sync_only(task_table(U, frozenset({"s"})), frozenset({"s"}), None)
    assert not sync_only(task_table(U, frozenset({"a"})), frozenset({"a"}), None)


# --- entered once -------------------------------------------------------------


def test_an_all_sync_user_enters_its_one_greenlet_once(
    greenlet_loop: None, switches: Switches
) -> None:
    ran: list[Any] = []

    class U(User):
        def on_start(self) -> None:
            ran.append(greenlet.getcurrent())

        @task
        def t(self) -> None:
            ran.append(greenlet.getcurrent())

        def on_stop(self) -> None:
            ran.append(greenlet.getcurrent())

    env = FakeEnv(stop_after=20)
    run_user(U(env))
    assert len(ran) == 22  # on_start, 20 tasks, on_stop
    assert len({id(g) for g in ran}) == 1
    assert switches.calls == 1  # one SyncRunner.call for the user's whole life
    assert {id(g) for g in switches.into_user} == {id(ran[0])}
    # One switch in to start, one back in after each of the 20 waits (the
    # only await_ here; the last one brings StopUser), one for close() at the
    # end. The driver loop would make 22 calls, each a switch in and out.
    assert len(switches.into_user) == 1 + 20 + 1
    assert len(env.waits) == 20


def test_driver_loop_enters_once_per_call(loop_path: str, switches: Switches) -> None:
    class U(User):
        def on_start(self) -> None: ...

        @task
        def t(self) -> None: ...

        def on_stop(self) -> None: ...

    run_user(U(FakeEnv(stop_after=20)))
    # The counter of the test above is the one that tells the loops apart.
    assert switches.calls == (1 if loop_path == "greenlet-loop" else 22)


def test_a_mixed_user_enters_an_all_sync_taskset_once_per_stay(
    greenlet_loop: None, switches: Switches
) -> None:
    log: list[str] = []

    class Browse(SequentialTaskSet):
        def on_start(self) -> None:
            log.append("in")

        @task
        def one(self) -> None:
            log.append("one")

        @task
        def two(self) -> None:
            log.append("two")
            self.interrupt()

        def on_stop(self) -> None:
            log.append("out")

    class U(User):
        tasks = [Browse]

        async def on_start(self) -> None:
            log.append("start")

    env = FakeEnv(stop_after=7)
    user = U(env)
    assert not user._horde_sync_only
    run_user(user)
    # Each stay in Browse: on_start, one (wait), two (interrupt), on_stop; the
    # parent picks again at once (wait 0).
    assert log == ["start"] + ["in", "one", "two", "out"] * 3 + ["in", "one", "out"]
    assert switches.calls == 4  # one per stay, not one per callable
    assert env.waits == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


# --- control flow written out ----------------------------------------------


def test_full_control_flow_of_an_all_sync_user() -> None:
    log: list[str] = []

    class Inner(TaskSet):
        def on_start(self) -> None:
            log.append("inner.start")

        @task
        def boom(self) -> None:
            log.append("inner.boom")
            raise ValueError("x")

        def on_stop(self) -> None:
            log.append("inner.stop")

    class Outer(SequentialTaskSet):
        tasks = [Inner]

        def on_stop(self) -> None:
            log.append("outer.stop")

    class U(User):
        tasks = [Outer]

        def on_start(self) -> None:
            log.append("start")

        def on_stop(self) -> None:
            log.append("stop")

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert log == ["start", "inner.start"] + ["inner.boom"] * 3 + [
        "inner.stop",
        "outer.stop",
        "stop",
    ]
    assert [(w, str(e)) for w, e in env.exceptions] == [("Inner.boom", "x")] * 3


def test_reschedule_and_stop_user_on_the_greenlet_loop() -> None:
    calls: list[str] = []

    class U(User):
        @task
        def t(self) -> None:
            calls.append("t")
            if len(calls) < 3:
                raise RescheduleTask()
            raise StopUser()

        def on_stop(self) -> None:
            calls.append("stop")

    env = FakeEnv()
    run_user(U(env))
    assert calls == ["t", "t", "t", "stop"]
    assert env.waits == [0.0, 0.0]
    assert env.exceptions == []


def test_cancelled_all_sync_user_runs_no_hook_and_closes_its_greenlet() -> None:
    seen: list[Any] = []
    stops: list[str] = []

    class U(User):
        @task
        def t(self) -> None:
            seen.append(greenlet.getcurrent())
            await_(asyncio.sleep(3600))

        def on_stop(self) -> None:
            stops.append("stop")

    async def cancel_it() -> None:
        user = U(FakeEnv())
        job = asyncio.ensure_future(user.run())
        while not seen:
            await asyncio.sleep(0)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert user._horde_runner is None

    run(cancel_it())
    assert seen[0].dead
    assert stops == []


def test_closed_gate_stops_an_all_sync_http_user_before_sending() -> None:
    # Nothing is sent once the gate is closed, so no server is needed: the
    # port below is never connected to.
    log: list[str] = []

    class U(HttpUser):
        host = "http://127.0.0.1:9"

        @task
        def t(self) -> None:
            log.append("t")
            self.client.get("/")
            log.append("sent")  # never reached

        def on_stop(self) -> None:
            log.append("stop")

    env = FakeEnv()
    env.gate.close()
    run_user(U(env))
    assert log == ["t", "stop"]
    assert env.requests == [] and env.exceptions == [] and env.waits == []


def test_sync_only_with_tasksets_that_contain_each_other() -> None:
    """Deciding A first must not cache B as all-sync on A's provisional answer:
    B can reach A's async task, so B is not all-sync either."""

    class A(TaskSet):
        @task
        async def slow(self) -> None:
            pass

    class B(TaskSet):
        @task
        def quick(self) -> None:
            pass

    A.tasks = [B]
    B.tasks = [A]
    assert not sync_only(task_table(A), None, None)
    assert not sync_only(task_table(B), None, None)
