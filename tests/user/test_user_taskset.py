"""TaskSets: nesting, interrupt, SequentialTaskSet order, hooks, parent/user/client."""

from __future__ import annotations

from user_fakes import FakeEnv, run_user

from horde.errors import RescheduleTask, StopUser
from horde.user import SequentialTaskSet, TaskSet, User, constant, task


def test_sequential_taskset_runs_in_declaration_order_cycling() -> None:
    log: list[str] = []

    class Flow(SequentialTaskSet):
        @task
        def first(self) -> None:
            log.append("first")

        @task(2)
        async def second(self) -> None:
            log.append("second")

        @task
        def third(self) -> None:
            log.append("third")

    class U(User):
        tasks = [Flow]

    run_user(U(FakeEnv(stop_after=9)))
    assert log == ["first", "second", "second", "third"] * 2 + ["first"]


def test_sequential_taskset_with_tasks_list() -> None:
    log: list[str] = []

    def a(ts: object) -> None:
        log.append("a")

    def b(ts: object) -> None:
        log.append("b")

    class Flow(SequentialTaskSet):
        tasks = [b, a, b]

    class U(User):
        tasks = [Flow]

    run_user(U(FakeEnv(stop_after=6)))
    assert log == ["b", "a", "b", "b", "a", "b"]


def test_interrupt_returns_to_the_parent_with_hooks_in_order() -> None:
    log: list[str] = []

    class Browse(SequentialTaskSet):
        def on_start(self) -> None:
            log.append("browse.start")

        @task
        def page(self) -> None:
            log.append("browse.page")

        @task
        async def leave(self) -> None:
            log.append("browse.leave")
            self.interrupt()

        async def on_stop(self) -> None:
            log.append("browse.stop")

    class U(User):
        wait_time = constant(1)

        @task
        class Nested(Browse):
            pass

        def on_stop(self) -> None:
            log.append("user.stop")

    env = FakeEnv(stop_after=6)
    run_user(U(env))
    one_visit = ["browse.start", "browse.page", "browse.leave", "browse.stop"]
    assert log == one_visit * 3 + ["user.stop"]
    # Each visit: the TaskSet's wait after `page`, then interrupt(reschedule=True)
    # returns to the parent, which goes on after wait(0) only.
    assert env.waits == [1, 0] * 3


def test_interrupt_without_reschedule_waits_in_the_parent() -> None:
    class Visit(TaskSet):
        wait_time = constant(5)

        @task
        def leave(self) -> None:
            self.interrupt(reschedule=False)

    class U(User):
        wait_time = constant(2)
        tasks = [Visit]

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert env.waits == [2, 2, 2]


def test_nested_tasksets_know_parent_user_and_client() -> None:
    seen: list[tuple[object, object, object]] = []

    class Inner(TaskSet):
        @task
        def t(self) -> None:
            seen.append((self.parent, self.user, self.client))
            self.interrupt()

    class Outer(TaskSet):
        tasks = [Inner]

        @task
        def out(self) -> None:
            self.interrupt()

    class U(User):
        tasks = [Outer]

        def on_start(self) -> None:
            self.client = "the client"

    user = U(FakeEnv(stop_after=30))
    user.rng.seed(4)
    run_user(user)
    assert seen
    for parent, owner, client in seen:
        assert isinstance(parent, Outer)
        assert owner is user
        assert client == "the client"


def test_taskset_is_a_new_instance_each_time_it_is_picked() -> None:
    ids: list[int] = []

    class Once(TaskSet):
        @task
        def t(self) -> None:
            ids.append(id(self))
            self.count = getattr(self, "count", 0) + 1
            assert self.count == 1
            self.interrupt()

    class U(User):
        tasks = [Once]

    env = FakeEnv(stop_after=4)
    run_user(U(env))
    assert env.exceptions == []
    assert len(ids) == 4  # and `count` above proves each run had a fresh instance
    assert env.waits == [0, 0, 0, 0]


def test_stop_user_inside_a_taskset_runs_both_on_stops() -> None:
    log: list[str] = []

    class Inner(TaskSet):
        @task
        def t(self) -> None:
            raise StopUser()

        def on_stop(self) -> None:
            log.append("inner.stop")

    class U(User):
        tasks = [Inner]

        def on_stop(self) -> None:
            log.append("user.stop")

    run_user(U(FakeEnv(stop_after=10)))
    assert log == ["inner.stop", "user.stop"]


def test_stopping_while_waiting_inside_a_taskset() -> None:
    log: list[str] = []

    class Inner(TaskSet):
        @task
        async def t(self) -> None:
            log.append("t")

        async def on_stop(self) -> None:
            log.append("inner.stop")

    class U(User):
        tasks = [Inner]

        async def on_stop(self) -> None:
            log.append("user.stop")

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert log == ["t", "t", "t", "inner.stop", "user.stop"]


def test_errors_in_taskset_tasks_are_recorded_with_the_taskset_name() -> None:
    class Inner(TaskSet):
        @task
        def bad(self) -> None:
            raise RuntimeError("inner")

    class U(User):
        tasks = [Inner]

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert [(w, str(e)) for w, e in env.exceptions] == [("Inner.bad", "inner")] * 3


def test_taskset_on_start_interrupt_and_errors() -> None:
    log: list[str] = []

    class Refuses(TaskSet):
        def on_start(self) -> None:
            log.append("refuses.start")
            self.interrupt(reschedule=False)

        @task
        def never(self) -> None:
            log.append("never")

        def on_stop(self) -> None:
            log.append("never.stop")

    class Broken(TaskSet):
        async def on_start(self) -> None:
            raise LookupError("no")

        @task
        def never(self) -> None:
            log.append("never")

    class U(User):
        wait_time = constant(1)
        tasks = [Refuses, Broken]

    env = FakeEnv(stop_after=6)
    user = U(env)
    user.rng.seed(2)
    run_user(user)
    assert "never" not in log and "never.stop" not in log
    assert "refuses.start" in log
    assert env.waits == [1] * 6  # both end in a normal wait of the parent
    assert {w for w, _ in env.exceptions} == {"Broken.on_start"}


def test_reschedule_inside_a_taskset() -> None:
    calls = 0

    class Inner(TaskSet):
        wait_time = constant(3)

        @task
        def t(self) -> None:
            nonlocal calls
            calls += 1
            if calls % 2:
                raise RescheduleTask()

    class U(User):
        tasks = [Inner]

    env = FakeEnv(stop_after=4)
    run_user(U(env))
    assert calls == 4 and env.waits == [0, 3, 0, 3]


def test_taskset_sync_tasks_share_the_users_greenlet() -> None:
    import greenlet

    seen: set[int] = set()

    class Inner(TaskSet):
        @task
        def t(self) -> None:
            seen.add(id(greenlet.getcurrent()))
            self.interrupt()

    class U(User):
        tasks = [Inner]

        @task
        def own(self) -> None:
            seen.add(id(greenlet.getcurrent()))

    user = U(FakeEnv(stop_after=20))
    user.rng.seed(8)
    run_user(user)
    assert len(seen) == 1
