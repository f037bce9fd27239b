"""What a runner holds for a test's duration: the time.sleep patch and frozen GC."""

from __future__ import annotations

import asyncio
import gc
import time

from horde.runtime.guards import (
    FREEZE_FROM_USERS,
    GROWTH_FACTOR,
    REFREEZE_AFTER_S,
    YOUNG_THRESHOLD,
    RunGuards,
)


def test_time_sleep_is_patched_only_between_begin_and_end() -> None:
    real = time.sleep
    guards = RunGuards()
    guards.begin()
    try:
        assert time.sleep is not real
        guards.begin()  # a second begin is a no-op
    finally:
        guards.end()
    assert time.sleep is real
    guards.end()  # idempotent


def test_objects_alive_after_a_ramp_are_frozen_until_the_end() -> None:
    async def scenario() -> tuple[int, int, int]:
        guards = RunGuards()
        guards.begin()
        kept = [object() for _ in range(10)]  # noqa: F841 - alive across the freeze
        guards.ramp_done()
        frozen = gc.get_freeze_count()
        pending = len(guards._timers)
        guards.end()
        return frozen, pending, len(guards._timers)

    frozen, pending, left = asyncio.run(scenario())
    assert frozen > 0
    assert pending == len(REFREEZE_AFTER_S)  # again once users built their state
    assert left == 0  # the end cancels them
    assert gc.get_freeze_count() == 0  # handed back to the collector


def test_a_ramp_done_without_a_run_freezes_nothing() -> None:
    async def scenario() -> int:
        RunGuards().ramp_done()
        return gc.get_freeze_count()

    assert asyncio.run(scenario()) == 0


def test_young_collections_are_rarer_during_a_run_only() -> None:
    before = gc.get_threshold()
    guards = RunGuards()
    guards.begin()
    try:
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
    finally:
        guards.end()
    assert gc.get_threshold() == before


def test_what_is_alive_at_the_start_is_frozen_at_once() -> None:
    guards = RunGuards()
    guards.begin()
    try:
        assert gc.get_freeze_count() > 0  # modules, classes: no collection walks them
    finally:
        guards.end()
    assert gc.get_freeze_count() == 0


def test_growing_users_freeze_at_each_growth_step_only() -> None:
    guards = RunGuards()
    guards.begin()
    try:
        def frozen_after(users: int) -> bool:
            gc.unfreeze()  # observe this call's freeze alone
            guards.users_now(users)
            return gc.get_freeze_count() > 0

        assert not frozen_after(FREEZE_FROM_USERS - 1)
        assert frozen_after(FREEZE_FROM_USERS)
        assert not frozen_after(FREEZE_FROM_USERS)  # no growth since: nothing to do
        step = int(FREEZE_FROM_USERS * GROWTH_FACTOR)
        assert not frozen_after(step - 1)
        assert frozen_after(step)
        assert not frozen_after(step // 2)  # a ramp-down never freezes
    finally:
        guards.end()
    assert gc.get_freeze_count() == 0
    guards.users_now(10 * FREEZE_FROM_USERS)  # outside a run: nothing
    assert gc.get_freeze_count() == 0
