"""Wait times: between, constant, constant_pacing/throughput, defaults, TaskSet fallback."""

from __future__ import annotations

import math
from typing import Any

import pytest
from user_fakes import FakeEnv, run_user

from horde.errors import ScriptError
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


def test_constant_pacing_subtracts_the_task_duration_and_catches_up() -> None:
    durations = iter([0.3, 1.5, 0.0, 0.9])

    class U(User):
        wait_time = constant_pacing(1.0)

        @task
        def t(self) -> None:
            self.environment.now += next(durations)  # type: ignore[attr-defined]

    env = FakeEnv(stop_after=4)
    run_user(U(env))
    # Due at 1001, 1002, 1003, 1004: the 1.5 s task overran its slot by 0.5 s
    # (less than a period), so the next wait is shortened to keep the schedule.
    assert [round(w, 9) for w in env.waits] == [0.7, 0.0, 0.5, 0.1]


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
    # A ScriptError (exit 2, "broken test script", the loader adds file and line),
    # never a bare ValueError.
    with pytest.raises(ScriptError, match=r"^(between|constant|constant_pacing|"
                                          r"constant_throughput)\("):
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


class LateEnv(FakeEnv):
    """Every wait ends `late` seconds after it should (as uvloop's ms timers do)."""

    def __init__(self, late: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.late = late
        self.starts: list[float] = []

    async def wait(self, seconds: float) -> None:
        await super().wait(seconds)
        self.now += self.late


@pytest.mark.parametrize("style", ["sync", "async"])
def test_pacing_keeps_its_rate_when_every_wait_ends_late(style: str) -> None:
    period = 0.010
    n = 1000

    class U(User):
        wait_time = constant_pacing(period)

        if style == "sync":

            @task
            def t(self) -> None:
                env.starts.append(env.now)
                env.now += 0.002  # the request
        else:

            @task
            async def t(self) -> None:
                env.starts.append(env.now)
                env.now += 0.002

    env = LateEnv(0.0005, stop_after=n)
    run_user(U(env))
    assert len(env.starts) == n
    rate = (n - 1) / (env.starts[-1] - env.starts[0])
    # Without the absolute schedule this is 1 / 10.5 ms = 95.2/s.
    assert rate == pytest.approx(1 / period, rel=1e-3)
    # And no drift: task k starts within one lateness of its due time.
    for k, start in enumerate(env.starts):
        assert start - env.starts[0] - k * period == pytest.approx(0.00025, abs=0.00026)


def test_constant_throughput_rate_is_exact_with_late_wakeups() -> None:
    class U(User):
        wait_time = constant_throughput(100)

        @task
        def t(self) -> None:
            env.starts.append(env.now)

    env = LateEnv(0.0009, stop_after=501)
    run_user(U(env))
    assert (env.starts[-1] - env.starts[0]) == pytest.approx(5.0, abs=0.001)


def test_pacing_resets_instead_of_bursting_after_a_long_stall() -> None:
    durations = iter([0.1, 3.5, 0.1, 0.1, 0.1])

    class U(User):
        wait_time = constant_pacing(1.0)

        @task
        def t(self) -> None:
            self.environment.now += next(durations)  # type: ignore[attr-defined]

    env = FakeEnv(stop_after=5)
    run_user(U(env))
    # Due at 1001; the second task ends at 1004.6, 2.6 s past its next due
    # time (1002): more than a period, so the schedule restarts at 1004.6 (wait
    # 0) instead of running three tasks back to back to catch up.
    assert [round(w, 9) for w in env.waits] == [0.9, 0.0, 0.9, 0.9, 0.9]


def test_a_taskset_with_its_own_pacing_has_its_own_schedule() -> None:
    class Paced(TaskSet):
        wait_time = constant_pacing(0.5)

        @task
        def t(self) -> None:
            self.user.environment.now += 0.2

    class U(User):
        wait_time = constant_pacing(2.0)
        tasks = [Paced]

    env = FakeEnv(stop_after=3)
    run_user(U(env))
    assert [round(w, 9) for w in env.waits] == [0.3, 0.3, 0.3]
