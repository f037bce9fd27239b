"""Declaring tasks: forms, weights, inheritance and the O(1) weighted pick."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from user_fakes import FakeEnv, run, run_user

from horde.errors import ScriptError
from horde.user import SequentialTaskSet, TaskSet, User, between, has_tasks, task
from horde.user.table import ASYNC, SYNC, TASKSET, task_table
from horde.user.task import collect_tasks


def names(pairs: list[tuple[object, int]]) -> list[tuple[str, int]]:
    return [(getattr(t, "__name__", "?"), w) for t, w in pairs]


def a(user: object) -> None: ...
def b(user: object) -> None: ...
async def c(user: object) -> None: ...


def test_decorated_methods_collected_in_order_with_weights() -> None:
    class U(User):
        @task
        def one(self) -> None: ...

        @task(3)
        async def two(self) -> None: ...

        def helper(self) -> None: ...

    assert names(collect_tasks(U)) == [("one", 1), ("two", 3)]
    kinds = {e.where: e.kind for e in task_table(U).entries}
    assert kinds == {"U.one": SYNC, "U.two": ASYNC}


def test_tasks_list_dict_and_tuple_forms() -> None:
    class L(User):
        tasks = [a, b, (c, 4)]

    class D(User):
        tasks = {a: 3, b: 1}

    assert names(collect_tasks(L)) == [("a", 1), ("b", 1), ("c", 4)]
    assert names(collect_tasks(D)) == [("a", 3), ("b", 1)]


def test_tasks_attribute_set_after_class_creation() -> None:
    class U(User):
        pass

    U.tasks = [a]
    assert names(collect_tasks(U)) == [("a", 1)]


def test_inherited_tasks_come_first_and_are_kept() -> None:
    class Base(User):
        abstract = True

        @task
        def base_task(self) -> None: ...

    class Child(Base):
        tasks = [a]

        @task(2)
        def own(self) -> None: ...

    assert names(collect_tasks(Child)) == [("base_task", 1), ("a", 1), ("own", 2)]


def test_weight_zero_drops_a_task() -> None:
    class U(User):
        tasks = {a: 0, b: 2}

    assert names(collect_tasks(U)) == [("b", 2)]


@pytest.mark.parametrize("weight", [-1, 1.5, "2", True])
def test_bad_weights_are_refused(weight: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        task(weight)  # type: ignore[call-overload]


def test_bad_tasks_attribute_is_refused() -> None:
    class NotCallable(User):
        tasks = [42]

    class WrongType(User):
        tasks = "a"

    with pytest.raises(ScriptError, match="neither callable nor a TaskSet"):
        collect_tasks(NotCallable)
    with pytest.raises(ScriptError, match="must be a list or a dict"):
        has_tasks(WrongType)

    class Other(User):
        @task
        def t(self) -> None: ...

    class UserInTasks(User):
        tasks = [Other]

    with pytest.raises(ScriptError, match="class Other in tasks is not a TaskSet"):
        has_tasks(UserInTasks)


def test_taskset_classes_are_tasks() -> None:
    class Inner(TaskSet):
        @task
        def x(self) -> None: ...

    class U(User):
        tasks = {Inner: 2}

        @task
        class Nested(SequentialTaskSet):
            @task
            def y(self) -> None: ...

    entries = task_table(U).entries
    assert [(e.where, e.kind, e.weight) for e in entries] == [
        ("U.Inner", TASKSET, 2),
        ("U.Nested", TASKSET, 1),
    ]


def pick_counts(user_cls: type, n: int, seed: int) -> Counter[str]:
    picker = task_table(user_cls).picker(random.Random(seed))
    return Counter(picker().where.split(".")[-1] for _ in range(n))


def test_weighted_picks_follow_the_weights() -> None:
    class U(User):
        tasks = {a: 3, b: 1}

    counts = pick_counts(U, 8000, seed=7)
    # Expected 6000 / 2000; sd of a binomial(8000, .75) is ~39, bound at ~5 sd.
    assert abs(counts["a"] - 6000) < 200
    assert counts["a"] + counts["b"] == 8000


def test_large_weights_use_cumulative_picks_with_the_same_ratios() -> None:
    class U(User):
        tasks = {a: 5001, b: 2003, c: 997}  # gcd 1, total 8001: bisect path

    table = task_table(U)
    assert table._flat == () and table._cumulative  # the bisect path is the one tested
    counts = pick_counts(U, 8001, seed=3)
    for name, weight in (("a", 5001), ("b", 2003), ("c", 997)):
        assert abs(counts[name] - weight) < 250, (name, counts)


def test_weights_reduced_by_their_gcd() -> None:
    class U(User):
        tasks = {a: 3000, b: 1000}

    assert len(task_table(U)._flat) == 4


def test_picks_are_reproducible_with_a_seed() -> None:
    class U(User):
        tasks = [a, b, c]

    assert list(pick_counts(U, 50, seed=11).items()) == list(pick_counts(U, 50, seed=11).items())
    first = task_table(U).picker(random.Random(5))
    second = task_table(U).picker(random.Random(5))
    assert [first().where for _ in range(30)] == [second().where for _ in range(30)]


def test_a_user_runs_tasks_picked_by_its_own_seeded_rng() -> None:
    def make(seed: int) -> list[str]:
        seen: list[str] = []

        class U(User):
            @task
            def x(self) -> None:
                seen.append("x")

            @task
            async def y(self) -> None:
                seen.append("y")

        user = U(FakeEnv(stop_after=40))
        user.rng.seed(seed)
        run_user(user)
        return seen

    assert len(make(1)) == 40
    assert make(1) == make(1)
    assert set(make(1)) == {"x", "y"}


def test_table_is_cached_per_class_and_filter() -> None:
    class U(User):
        tasks = [a]

    class V(U):
        pass

    assert task_table(U) is task_table(U)
    assert task_table(V) is not task_table(U)
    assert task_table(U, frozenset({"t"})) is not task_table(U)


def test_a_user_that_never_touches_rng_holds_no_random_state() -> None:
    # A random.Random is 2.5 KB; 18,000 idle users would carry 45 MB of them.
    class U(User):
        wait_time = between(0, 0)

        @task(1)
        def a(self) -> None:
            pass

        @task(2)
        def b(self) -> None:
            pass

    user = U(FakeEnv(stop_after=20))
    run(user.run())
    assert user._horde_rng is None
    assert isinstance(user.rng, random.Random)  # made when asked for
    assert user.rng is user.rng
