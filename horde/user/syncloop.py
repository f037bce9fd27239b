"""The task loop of all-sync users, run entirely inside the user's one greenlet.

A User (or a TaskSet) whose tasks, nested TaskSets and hooks are all plain
`def` does not need the async driver of `horde.user.loop` between its tasks:
the whole of `run()` — on_start, the loop (pick, call, `wait_time`, wait),
nested TaskSets, on_stop — runs as ONE call into the user's `SyncRunner`
greenlet, and each wait is handed to the event loop with
`horde.bridge.await_(environment.wait(seconds))`. A task then costs no
greenlet entry and exit of its own, no `SyncRunner.call` coroutine and no
driver bookkeeping (see BENCHMARKS.md, "after the sync-loop change").

Invariants:

* the functions here run only inside a `SyncRunner` greenlet (they call
  `await_`), and call tasks and hooks directly, never through
  `User._horde_sync` (the runner is busy with this very call);
* control flow is exactly that of `horde.user.loop` (StopUser,
  RescheduleTask, InterruptTaskSet, recorded exceptions, wait(0) "at once"),
  line for line; a change to one loop must be made to both, and the tests in
  tests/user run every case through both paths;
* cancellation (a hard stop) arrives as CancelledError thrown in at an
  `await_`; it is a BaseException, so no `except Exception` here catches it
  and no hook runs, as on the async path;
* `sync_only` is decided once per table (cached on the immutable table).
"""

from __future__ import annotations

from typing import Any, NoReturn

from horde.bridge import await_
from horde.errors import InterruptTaskSet, RescheduleTask, ScriptError, StopUser
from horde.user.table import NONE, SYNC, TASKSET, TaskTable, task_table

__all__ = ["drive_sync", "run_nested_sync", "run_user_sync", "stop_hook_sync", "sync_only"]

_NOT_IN_TASKSET = "InterruptTaskSet raised in a User task; only a TaskSet can be interrupted"
_SYNC_HOOK = (NONE, SYNC)


def sync_only(
    table: TaskTable, tags: frozenset[str] | None, exclude_tags: frozenset[str] | None
) -> bool:
    """True when every task and hook of `table`, nested TaskSets included, is a plain `def`."""
    return _sync_only(table, tags, exclude_tags, set())[0]


def _sync_only(
    table: TaskTable,
    tags: frozenset[str] | None,
    exclude_tags: frozenset[str] | None,
    visiting: set[int],
) -> tuple[bool, bool]:
    """(answer, provisional). An answer that leaned on a table still being
    worked out (TaskSets that contain each other) is provisional and is not
    cached: only the outermost call knows the whole cycle."""
    cached = table.sync_only
    if cached is not None:
        return cached, False
    if id(table) in visiting:
        # A TaskSet that contains itself adds no async callable by recursing.
        return True, True
    visiting.add(id(table))
    provisional = False
    try:
        result = table.on_start in _SYNC_HOOK and table.on_stop in _SYNC_HOOK
        for entry in table.entries:
            if not result:
                break
            if entry.kind == TASKSET:
                nested = task_table(entry.fn, tags, exclude_tags, entry.tags)
                result, leaned = _sync_only(nested, tags, exclude_tags, visiting)
                provisional = provisional or leaned
            else:
                result = entry.kind == SYNC
    finally:
        visiting.discard(id(table))
    # Tables are cached per tag filter, so the answer is too. A False answer is
    # final whatever it leaned on; a True one only when nothing was provisional,
    # or at the outermost call, where the whole cycle has been seen.
    if not result or not provisional or not visiting:
        table.sync_only = result
        provisional = False
    return result, provisional


def stop_hook_sync(user: Any, owner: Any, table: TaskTable) -> None:
    """`owner.on_stop`; errors are recorded, StopUser (gate closed) is ignored."""
    if not table.on_stop:
        return
    try:
        type(owner).on_stop(owner)
    except StopUser:
        pass
    except Exception as exc:  # noqa: BLE001 - a script error, reported, never fatal
        user.environment.record_exception(f"{table.holder.__name__}.on_stop", exc)


def run_user_sync(user: Any, table: TaskTable) -> None:
    """The body of `User.run()` for an all-sync user: on_start, the loop, on_stop."""
    env = user.environment
    name = type(user).__name__
    try:
        if table.on_start:
            type(user).on_start(user)
    except StopUser:
        stop_hook_sync(user, user, table)
        return
    except Exception as exc:  # noqa: BLE001 - as Locust: a failed on_start ends the user
        env.record_exception(f"{name}.on_start", exc)
        return
    try:
        drive_sync(user, user, table, in_taskset=False)
    except StopUser:
        pass
    except Exception as exc:  # noqa: BLE001 - outside a task (wait_time, ...)
        env.record_exception(f"{name}.run", exc)
    stop_hook_sync(user, user, table)


def run_nested_sync(user: Any, owner: Any, taskset_cls: Any, inherited: frozenset[str]) -> bool:
    """Run one all-sync TaskSet until it is interrupted; returns `reschedule`.

    StopUser and unexpected errors propagate after on_stop (as `run_nested`).
    """
    env = user.environment
    table = task_table(taskset_cls, env.tags, env.exclude_tags, inherited)
    child = taskset_cls(owner)
    try:
        if table.on_start:
            taskset_cls.on_start(child)
    except InterruptTaskSet as exc:
        return exc.reschedule
    except (StopUser, RescheduleTask):
        raise
    except Exception as exc:  # noqa: BLE001 - reported; the parent goes on after its wait
        env.record_exception(f"{taskset_cls.__name__}.on_start", exc)
        return False
    try:
        drive_sync(user, child, table, in_taskset=True)
    except InterruptTaskSet as exc:
        stop_hook_sync(user, child, table)
        return exc.reschedule
    except Exception:
        # StopUser, or an error outside a task: tidy up, pass it on.
        stop_hook_sync(user, child, table)
        raise


def drive_sync(user: Any, owner: Any, table: TaskTable, *, in_taskset: bool) -> NoReturn:
    """Run `owner`'s tasks forever inside the greenlet; leaves only by an exception."""
    env = user.environment
    wait = env.wait
    clock = env.clock
    record_exception = env.record_exception
    pick = table.picker(user._horde_draw)
    wait_time = owner.wait_time
    if not in_taskset and getattr(env, "paced", False):
        await_(wait(0.0))  # the open model: even the first iteration waits until it is due
    while True:
        entry = pick()
        user._horde_task_start = clock()
        at_once = False
        try:
            if entry.kind == TASKSET:
                at_once = run_nested_sync(user, owner, entry.fn, entry.tags)
            else:
                entry.fn(owner)
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
        # The wait is the one place this loop hands control to the event loop.
        await_(wait(0.0 if at_once else wait_time()))
