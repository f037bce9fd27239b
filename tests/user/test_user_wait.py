"""Wait times: between, constant, constant_pacing/throughput, defaults, TaskSet fallback."""

from __future__ import annotations

import math

import pytest
from user_fakes import FakeEnv, run_user

from horde.user import (
    TaskSet,
    User,
    between,
    constant,
    constant_pacing,
    constant_throughput,
    task,
)


def test_default_wait_is_zero() -> None:
    class U(User):
        @task
        def t(self) -> None: ...

    env = FakeEnv(stop_after=5)
    run_user(U(env))
    assert env.waits == [0.0] * 5


def test_constant() -> None:
    class U(User):
        wait_time = constant(2.5)

        @task
        def t(self) -> None: ...

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert env.waits == [2.5, 2.5, 2.5]


def test_between_stays_in_range_and_spreads() -> None:
    class U(User):
        wait_time = between(1, 5)

        @task
        def t(self) -> None: ...

    env = FakeEnv(stop_after=500)
    user = U(env)
    user.rng.seed(42)
    run_user(user)
    assert len(env.waits) == 500
    assert all(1 <= w <= 5 for w in env.waits)
    mean = sum(env.waits) / len(env.waits)
    assert 2.7 < mean < 3.3  # uniform(1, 5): mean 3, sd of the mean ~0.05
    assert min(env.waits) < 1.2 and max(env.waits) > 4.8


def test_between_is_reproducible_through_the_user_rng() -> None:
    class U(User):
        wait_time = between(0, 1)

        @task
        def t(self) -> None: ...

    def waits(seed: int) -> list[float]:
        env = FakeEnv(stop_after=10)
        user = U(env)
        user.rng.seed(seed)
        run_user(user)
        return env.waits

    assert waits(9) == waits(9)
    assert waits(9) != waits(10)


def test_constant_pacing_subtracts_the_task_duration() -> None:
    durations = iter([0.3, 1.5, 0.0, 0.9])

    class U(User):
        wait_time = constant_pacing(1.0)

        @task
        def t(self) -> None:
            self.environment.now += next(durations)  # type: ignore[attr-defined]

    env = FakeEnv(stop_after=4)
    run_user(U(env))
    assert [round(w, 9) for w in env.waits] == [0.7, 0.0, 1.0, 0.1]


def test_constant_pacing_with_async_tasks() -> None:
    class U(User):
        wait_time = constant_pacing(2.0)

        @task
        async def t(self) -> None:
            self.environment.now += 0.5  # type: ignore[attr-defined]

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert env.waits == [1.5, 1.5, 1.5]


def test_constant_throughput_is_pacing_one_over_n() -> None:
    class U(User):
        wait_time = constant_throughput(4)

        @task
        def t(self) -> None:
            self.environment.now += 0.05  # type: ignore[attr-defined]

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert [round(w, 9) for w in env.waits] == [0.2, 0.2, 0.2]


@pytest.mark.parametrize(
    "make",
    [
        lambda: between(3, 1),
        lambda: between(-1, 1),
        lambda: constant(-0.5),
        lambda: constant(math.nan),
        lambda: constant("1"),
        lambda: constant_pacing(-1),
        lambda: constant_throughput(0),
    ],
)
def test_bad_wait_values_are_refused(make: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        make()  # type: ignore[operator]


def test_taskset_uses_user_wait_unless_it_has_its_own() -> None:
    class Inherits(TaskSet):
        @task
        def t(self) -> None: ...

    class Own(TaskSet):
        wait_time = constant(7)

        @task
        def t(self) -> None: ...

    class U1(User):
        wait_time = constant(3)
        tasks = [Inherits]

    class U2(User):
        wait_time = constant(3)
        tasks = [Own]

    env = FakeEnv(stop_after=4)
    run_user(U1(env))
    assert env.waits == [3, 3, 3, 3]
    env = FakeEnv(stop_after=4)
    run_user(U2(env))
    assert env.waits == [7, 7, 7, 7]


def test_wait_time_as_a_method() -> None:
    class U(User):
        def wait_time(self) -> float:
            return 0.25 * len(self.environment.waits)  # type: ignore[attr-defined]

        @task
        def t(self) -> None: ...

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert env.waits == [0.0, 0.25, 0.5]
