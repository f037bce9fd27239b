"""The task loop: pick a task, run it, wait; the same for Users and TaskSets.

Per iteration the loop does only this: one O(1) pick, a clock stamp (for
`constant_pacing`), the call (awaited directly for `async def`, through the
user's one `SyncRunner` greenlet for `def`, nested for a TaskSet class), the
wait time, and `await environment.wait(seconds)`. Everything per class was
decided when the `TaskTable` was compiled.

Control flow, as in Locust except where noted:

* `StopUser` (raised by a task, by `environment.wait` once stopping begins, or
  by the HTTP client once the gate is closed) leaves every loop; each TaskSet
  on the way out runs its `on_stop`, then the user runs its own;
* `RescheduleTask`: the next task is picked at once, after `wait(0)` rather
  than the wait time (Locust waits the full wait time);
* `InterruptTaskSet` inside a TaskSet: its `on_stop` runs and control returns
  to the parent, which picks its next task at once (`reschedule=True`,
  `wait(0)`) or after its wait; raised by a task of the User itself it is a script error,
  recorded like any other;
* any other exception from a task is passed to
  `environment.record_exception(where, exc)` and the loop goes on after the
  usual wait.

Waits happen here, in the async driver, for users that mix `def` and
`async def`. A user (or a TaskSet) whose callables are all plain `def` runs
instead as one call into its greenlet, with the twin loop of
`horde.user.syncloop` (same control flow, waits through `await_`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from horde.errors import InterruptTaskSet, RescheduleTask, ScriptError, StopUser
from horde.user.environment import UserEnvironment
from horde.user.syncloop import run_nested_sync, sync_only
from horde.user.table import ASYNC, SYNC, TASKSET, TaskTable, task_table

__all__ = ["LoopUser", "call_hook", "drive", "run_nested", "stop_hook"]

_NOT_IN_TASKSET = "InterruptTaskSet raised in a User task; only a TaskSet can be interrupted"


class LoopUser(Protocol):
    """What the loop needs from a user (implemented by `User`)."""

    environment: UserEnvironment
    rng: Any  # random.Random

    def _horde_draw(self) -> float: ...
    _horde_task_start: float

    def _horde_sync(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]: ...


async def call_hook(user: LoopUser, kind: int, fn: Callable[..., Any], owner: Any) -> None:
    """Run an on_start/on_stop hook of `owner` in the right style (no-op for NONE)."""
    if kind == ASYNC:
        await fn(owner)
    elif kind == SYNC:
        await user._horde_sync(fn, owner)


async def stop_hook(user: LoopUser, owner: Any, table: TaskTable) -> None:
    """Run `owner.on_stop`; errors are recorded, StopUser (gate closed) is ignored."""
    if not table.on_stop:
        return
    try:
        await call_hook(user, table.on_stop, type(owner).on_stop, owner)
    except StopUser:
        pass
    except Exception as exc:  # noqa: BLE001 - a script error, reported, never fatal
        user.environment.record_exception(f"{table.holder.__name__}.on_stop", exc)


async def run_nested(
    user: LoopUser, owner: Any, taskset_cls: Any, inherited: frozenset[str]
) -> bool:
    """Run one TaskSet instance until it is interrupted.

    Returns the interrupt's `reschedule` flag (True: the parent picks its next
    task at once). StopUser and unexpected errors propagate after on_stop.
    """
    env = user.environment
    table = task_table(taskset_cls, env.tags, env.exclude_tags, inherited)
    if sync_only(table, env.tags, env.exclude_tags):
        # All plain `def` below: one greenlet entry for the TaskSet's whole stay.
        result: bool = await user._horde_sync(run_nested_sync, user, owner, taskset_cls, inherited)
        return result
    child = taskset_cls(owner)
    try:
        await call_hook(user, table.on_start, taskset_cls.on_start, child)
    except InterruptTaskSet as exc:
        return exc.reschedule
    except (StopUser, RescheduleTask):
        raise
    except Exception as exc:  # noqa: BLE001 - reported; the parent goes on after its wait
        env.record_exception(f"{taskset_cls.__name__}.on_start", exc)
        return False
    try:
        await drive(user, child, table, in_taskset=True)
    except InterruptTaskSet as exc:
        await stop_hook(user, child, table)
        return exc.reschedule
    except Exception:
        # StopUser, or an error outside a task (say, in wait_time): tidy up, pass it on.
        # Not for cancellation (BaseException): that is a hard stop, no hooks run.
        await stop_hook(user, child, table)
        raise
    raise AssertionError("drive() returned")  # pragma: no cover - it only leaves by raising


async def drive(user: LoopUser, owner: Any, table: TaskTable, *, in_taskset: bool) -> None:
    """Run `owner`'s tasks forever; leaves only by an exception (StopUser, ...)."""
    env = user.environment
    wait = env.wait
    clock = env.clock
    record_exception = env.record_exception
    pick = table.picker(user._horde_draw)
    # Looked up once: binding `owner.wait_time` per iteration would allocate.
    wait_time = owner.wait_time
    if not in_taskset and getattr(env, "paced", False):
        await wait(0.0)  # the open model: even the first iteration waits until it is due
    while True:
        entry = pick()
        user._horde_task_start = clock()
        kind = entry.kind
        at_once = False
        try:
            if kind == ASYNC:
                await entry.fn(owner)
            elif kind == SYNC:
                await user._horde_sync(entry.fn, owner)
            elif kind == TASKSET:
                at_once = await run_nested(user, owner, entry.fn, entry.tags)
        except RescheduleTask:
            at_once = True
        except InterruptTaskSet:
            if in_taskset:
                raise
            record_exception(entry.where, ScriptError(_NOT_IN_TASKSET))
        except StopUser:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, and the user goes on
            record_exception(entry.where, exc)
        # "At once" is still a wait of 0: it yields to the loop and notices
        # stopping, so a task that always reschedules can neither hog the
        # process nor outlive the test.
        await wait(0.0 if at_once else wait_time())
