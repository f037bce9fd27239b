"""Back-pressure on ramps: the population follows its plan on a clock that runs at
`pace` times the wall clock, so a struggling process starts fewer users a second."""

from __future__ import annotations

import asyncio
import resource

from horde.events import Events
from horde.runtime.health import CPU_LIMIT_PERCENT, LAG_LIMIT_MS, HealthSample
from horde.runtime.local import LocalRunner, RunOptions
from horde.runtime.pressure import FD_MARGIN, pace_for, user_capacity
from tests.runtime.test_local_runner import Idle, until


def test_a_stalled_pace_holds_the_ramp_and_a_full_one_finishes_it() -> None:
    async def scenario() -> None:
        runner = LocalRunner([Idle], RunOptions(), Events())
        pace = [0.0]
        runner.population.pace = lambda: pace[0]
        await runner.start(50, 100.0)
        # With the ramp clock stopped only the first move (t = 0) happens,
        # however many ticks pass: wait for several ticks of the ramp.
        loop = asyncio.get_running_loop()
        ticks_until = loop.time() + 0.5
        await until(lambda: loop.time() >= ticks_until)
        assert runner.counts() == {"Idle": 1}
        assert runner.population.effective_spawn_rate == 0.0
        pace[0] = 0.5
        await until(lambda: runner.population.effective_spawn_rate == 50.0)
        pace[0] = 1.0
        await until(lambda: runner.counts() == {"Idle": 50})
        await until(lambda: runner.population.effective_spawn_rate == 0.0)  # ramp done
        runner.request_stop()
        await runner.wait_stopped()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_the_pace_is_clamped_to_between_0_and_1() -> None:
    async def scenario() -> None:
        runner = LocalRunner([Idle], RunOptions(), Events())
        runner.population.pace = lambda: 7.0
        await runner.start(20, 10.0)
        await until(lambda: runner.population.effective_spawn_rate > 0)
        assert runner.population.effective_spawn_rate == 10.0
        runner.request_stop()
        await runner.wait_stopped()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_the_pace_follows_the_health_limits_and_never_stops_a_ramp() -> None:
    def sample(cpu: float, p50: float, p99: float | None = None) -> HealthSample:
        return HealthSample(cpu_percent=cpu, loop_lag_p99_ms=p50 if p99 is None else p99,
                            loop_lag_p50_ms=p50)

    assert pace_for(sample(20.0, 1.0)) == 1.0
    assert pace_for(sample(CPU_LIMIT_PERCENT + 1, 1.0)) == 0.5
    # In proportion to the median lag: twice the limit, half the rate; a floor.
    assert pace_for(sample(10.0, 2 * LAG_LIMIT_MS)) == 0.5
    assert pace_for(sample(10.0, 40 * LAG_LIMIT_MS)) == 0.25
    assert pace_for(sample(CPU_LIMIT_PERCENT + 1, 1.5 * LAG_LIMIT_MS)) == 0.5
    assert pace_for(sample(100.0, 19_000.0)) == 0.25
    # One bad moment in a second (a collection: the p99 probe) is not overload.
    assert pace_for(sample(50.0, 1.0, p99=40.0)) == 1.0


def test_capacity_is_the_open_file_limit_minus_the_margin() -> None:
    assert user_capacity(20_000) == 20_000 - FD_MARGIN
    assert user_capacity(100) == 0
    assert user_capacity(resource.RLIM_INFINITY) is None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert user_capacity() == user_capacity(soft)
