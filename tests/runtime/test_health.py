"""Generator health: thresholds, sustained warnings, the lag probe on a real loop."""

from __future__ import annotations

import asyncio
import time

from horde.runtime.health import HealthMonitor, HealthSample, HealthSummary


def test_sample_warnings_name_the_figure() -> None:
    assert HealthSample(50.0, 1.0).warnings() == []
    [cpu] = HealthSample(95.0, 1.0).warnings()
    assert "CPU at 95%" in cpu
    [lag] = HealthSample(10.0, 12.5).warnings()
    assert "lag p99 12.5 ms" in lag


def test_summary_warns_only_about_sustained_conditions() -> None:
    summary = HealthSummary()
    for cpu in (95, 20, 96, 30):  # isolated spikes
        summary.add(HealthSample(cpu, 0.5), [0.5])
    assert summary.cpu_percent_max == 96
    assert summary.warnings() == []
    for cpu in (97, 98, 99, 10):  # three bad seconds in a row
        summary.add(HealthSample(cpu, 0.5), [0.5])
    [warning] = summary.warnings()
    assert "above 90% for 3 s" in warning and "max 99%" in warning


def test_summary_lag_p99_over_the_run() -> None:
    summary = HealthSummary()
    summary.add(HealthSample(1.0, 0.0), [0.1] * 1000)
    assert 0.09 <= summary.loop_lag_p99_ms <= 0.11
    summary.add(HealthSample(1.0, 0.0), [50.0] * 100)
    assert 49.0 <= summary.loop_lag_p99_ms <= 51.0


def test_monitor_sees_a_blocked_loop() -> None:
    async def scenario() -> HealthSample:
        monitor = HealthMonitor(asyncio.get_running_loop())
        monitor.start()
        await asyncio.sleep(0.1)
        for _ in range(3):
            time.sleep(0.06)  # blocks the loop, as a sync call in a task would
            await asyncio.sleep(0.03)
        sample = monitor.sample()
        monitor.stop()
        return sample

    sample = asyncio.run(scenario())
    assert sample.loop_lag_p99_ms >= 30.0


def test_a_short_last_period_is_not_counted_in_the_summary() -> None:
    async def scenario() -> HealthMonitor:
        monitor = HealthMonitor(asyncio.get_running_loop())
        monitor.start()
        await asyncio.sleep(0.6)
        first = monitor.sample()  # a real period
        end = time.process_time() + 0.02
        while time.process_time() < end:  # a burst of CPU in a short sliver
            pass
        monitor.sample()
        monitor.stop()
        assert monitor.summary.cpu_percent_max == first.cpu_percent
        return monitor

    monitor = asyncio.run(scenario())
    assert monitor.summary.seconds == 1
