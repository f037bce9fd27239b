"""User-layer edge cases found in review: class attribute checks, nesting, dict tasks, host."""

from __future__ import annotations

from typing import Any

import pytest
from user_fakes import FakeEnv, run_user

from horde.errors import ScriptError, StopUser
from horde.user import HttpUser, SequentialTaskSet, TaskSet, User, between, constant, task


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"weight": -1}, r"B\.weight must be a number >= 0, not -1"),
        ({"weight": "3"}, r"B\.weight must be a number >= 0, not '3'"),
        ({"weight": True}, r"B\.weight must be a number >= 0"),
        ({"weight": float("inf")}, r"B\.weight must be a number >= 0"),
        ({"fixed_count": -2}, r"B\.fixed_count must be a whole number >= 0, not -2"),
        ({"fixed_count": 1.5}, r"B\.fixed_count must be a whole number >= 0, not 1\.5"),
        ({"wait_time": 5}, r"B\.wait_time must be a function such as between\(1, 5\) or "
                           r"constant\(5\), not int"),
    ],
)
def test_bad_class_attributes_fail_at_class_definition(attrs: dict[str, Any], message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        type("B", (User,), {**attrs, "t": task(lambda self: None)})


def test_good_class_attributes_pass() -> None:
    class Zero(User):
        weight = 0
        fixed_count = 3
        wait_time = between(0.5, 1)

        @task
        def t(self) -> None: ...

    class Fractional(User):
        weight = 0.5

        @task
        def t(self) -> None: ...

    assert Zero.fixed_count == 3 and Fractional.weight == 0.5


def test_taskset_wait_time_checked_at_definition() -> None:
    with pytest.raises(ScriptError, match=r"Bad\.wait_time must be a function"):
        type("Bad", (TaskSet,), {"wait_time": 2.0})


def test_between_with_max_below_min_fails_at_class_definition() -> None:
    with pytest.raises(ScriptError, match="maximum is below the minimum"):

        class U(User):
            wait_time = between(5, 1)


def test_nested_sequential_tasksets_keep_their_order() -> None:
    log: list[str] = []

    class Inner(SequentialTaskSet):
        @task
        def i1(self) -> None:
            log.append("i1")

        @task
        def i2(self) -> None:
            log.append("i2")
            self.interrupt()

    class Outer(SequentialTaskSet):
        @task
        def o1(self) -> None:
            log.append("o1")

        tasks = [Inner]

        @task
        def o2(self) -> None:
            log.append("o2")

    class U(User):
        tasks = [Outer]

    run_user(U(FakeEnv(stop_after=9)))
    # Outer's order: its `tasks` list first, then its @task methods; Inner restarts each time.
    assert log[:8] == ["i1", "i2", "o1", "o2", "i1", "i2", "o1", "o2"]


def test_tasks_dict_with_taskset_classes_and_weights() -> None:
    log: list[str] = []

    class Browse(TaskSet):
        @task
        def look(self) -> None:
            log.append("browse")
            self.interrupt()

    def direct(user: Any) -> None:
        log.append("direct")

    class U(User):
        tasks = {Browse: 3, direct: 1, TaskSet: 0}

    user = U(FakeEnv(stop_after=200))
    user.rng.seed(7)  # the 3:1 split of 200 picks, reproducibly
    run_user(user)
    assert set(log) == {"browse", "direct"}
    assert log.count("browse") > log.count("direct")


def test_interrupt_in_taskset_on_start_returns_to_parent_without_its_tasks() -> None:
    log: list[str] = []

    class Gate(TaskSet):
        def on_start(self) -> None:
            log.append("gate.on_start")
            self.interrupt(reschedule=False)

        def on_stop(self) -> None:
            log.append("gate.on_stop")

        @task
        def never(self) -> None:
            log.append("never")

    class U(User):
        wait_time = constant(1)
        tasks = [Gate]

    env = FakeEnv(stop_after=2)
    run_user(U(env))
    assert log == ["gate.on_start", "gate.on_start"]
    assert env.waits == [1, 1] and env.exceptions == []


def test_stop_user_from_on_start_runs_on_stop_and_no_task() -> None:
    log: list[str] = []

    class U(User):
        async def on_start(self) -> None:
            raise StopUser()

        def on_stop(self) -> None:
            log.append("on_stop")

        @task
        def t(self) -> None:
            log.append("task")

    run_user(U(FakeEnv(stop_after=5)))
    assert log == ["on_stop"]


def test_host_override_wins_over_the_class_host() -> None:
    class Site(HttpUser):
        host = "http://127.0.0.1:1/class"

        @task
        def t(self) -> None: ...

    from_class = Site(FakeEnv())
    overridden = Site(FakeEnv(host="http://127.0.0.1:2/cli"))
    assert from_class.client.base_url == "http://127.0.0.1:1/class"
    assert overridden.client.base_url == "http://127.0.0.1:2/cli"
    assert HttpUser.abstract and not Site.abstract
