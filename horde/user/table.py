"""Compiled task tables: tag filtering, sync/async detection, O(1) weighted picks.

A `TaskTable` is what the task loop runs for one holder class (a User or
TaskSet) under one tag filter. It is built once and cached on the holder
class, keyed by `(tags, exclude_tags, inherited_tags)`, so everything that is
per class — which tasks survive the filter, whether each callable is `def` or
`async def`, where an exception is reported — is decided once, never per call.

Tag semantics follow Locust: a task's tags are its own plus those of every
enclosing TaskSet (and of its User class, if tagged); with `tags` set, a task
runs only if it has one of them; with `exclude_tags` set, never if it has one
of those; a TaskSet left without tasks is dropped, and a holder left without
tasks has none (`has_tasks`).

Invariants: a table is immutable after construction (except `sync_only`,
a cache of a fact derived from the tables, set once); `picker()` returns a
zero-argument callable that costs O(1) per pick (a flattened weighted list,
or bisect over cumulative weights when the flattened list would be large) and
draws only from the `random.Random` it was given.
"""

from __future__ import annotations

import inspect
import itertools
from bisect import bisect_right
from collections.abc import Callable
from math import gcd
from random import Random
from typing import Any, Final

from horde.user.task import collect_tasks, is_taskset_class, task_tags

__all__ = [
    "ASYNC",
    "NONE",
    "SYNC",
    "TASKSET",
    "TaskEntry",
    "TaskTable",
    "callable_kind",
    "has_tasks",
    "task_table",
]

NONE: Final = 0
"""No callable to run (a hook left at its default)."""
SYNC: Final = 1
"""A plain `def`: runs in the user's greenlet."""
ASYNC: Final = 2
"""An `async def`: awaited directly."""
TASKSET: Final = 3
"""A TaskSet class: instantiated and run nested."""

# Above this many slots, picks bisect cumulative weights instead of indexing a
# flattened list (keeps memory bounded for weights like @task(100000)).
_FLAT_LIMIT = 1024

TagSet = frozenset[str] | None
_CACHE_ATTR = "_horde_tables"


def callable_kind(fn: object) -> int:
    """SYNC or ASYNC for a callable; NONE for a hook left at its default."""
    if fn is None or getattr(fn, "_horde_default", False):
        return NONE
    if inspect.iscoroutinefunction(fn):
        return ASYNC
    # A callable object whose __call__ is `async def` (inspect misses it).
    if not inspect.isfunction(fn) and inspect.iscoroutinefunction(type(fn).__call__):
        return ASYNC
    return SYNC


class TaskEntry:
    """One task of a table; `where` names it in exception statistics."""

    __slots__ = ("fn", "kind", "weight", "where", "tags")

    def __init__(self, fn: Any, kind: int, weight: int, where: str, tags: frozenset[str]) -> None:
        self.fn = fn
        self.kind = kind
        self.weight = weight
        self.where = where
        self.tags = tags  # for a TaskSet: the tags its own tasks inherit

    def __repr__(self) -> str:
        return f"TaskEntry({self.where}, weight={self.weight})"


class TaskTable:
    """The runnable tasks of one holder class under one tag filter."""

    __slots__ = (
        "holder",
        "entries",
        "sequential",
        "on_start",
        "on_stop",
        "_flat",
        "_cumulative",
        "_total",
        "_sequence",
        "sync_only",
    )

    def __init__(self, holder: type, entries: list[TaskEntry]) -> None:
        self.holder = holder
        self.entries: tuple[TaskEntry, ...] = tuple(entries)
        self.sequential = bool(getattr(holder, "_horde_sequential", False))
        self.on_start = callable_kind(getattr(holder, "on_start", None))
        self.on_stop = callable_kind(getattr(holder, "on_stop", None))
        self.sync_only: bool | None = None
        """Whether everything below is a plain `def`: set once by `horde.user.syncloop`."""
        # Sequential order repeats a task `weight` times in place, as Locust does.
        self._sequence = tuple(e for e in self.entries for _ in range(e.weight))
        divisor = 0
        for e in self.entries:
            divisor = gcd(divisor, e.weight)
        slots = [e.weight // divisor for e in self.entries] if divisor else []
        self._total = sum(slots)
        self._flat: tuple[TaskEntry, ...] = ()
        self._cumulative: tuple[int, ...] = ()
        if self._total <= _FLAT_LIMIT:
            pairs = zip(self.entries, slots, strict=True)
            self._flat = tuple(e for e, n in pairs for _ in range(n))
        else:
            self._cumulative = tuple(itertools.accumulate(slots))

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def has_sync(self) -> bool:
        """Whether any task or hook at this level is a plain `def`."""
        return SYNC in (self.on_start, self.on_stop) or any(e.kind == SYNC for e in self.entries)

    def picker(self, rng: Random | Callable[[], float]) -> Callable[[], TaskEntry]:
        """A zero-argument function returning the next task, O(1) per call.

        `rng` is a `Random` or a function drawing from [0, 1) (`User._horde_draw`).
        """
        if not self.entries:
            raise LookupError(f"{self.holder.__name__} has no tasks")
        if self.sequential:
            return itertools.cycle(self._sequence).__next__
        flat = self._flat
        rand = rng.random if isinstance(rng, Random) else rng
        if len(flat) == 1:
            only = flat[0]
            return lambda: only
        if flat:
            n = len(flat)
            return lambda: flat[int(rand() * n)]
        entries, cumulative, total = self.entries, self._cumulative, self._total
        return lambda: entries[bisect_right(cumulative, rand() * total)]


def _passes(tags: frozenset[str], want: TagSet, exclude: TagSet) -> bool:
    if want is not None and not (tags & want):
        return False
    return not (exclude is not None and tags & exclude)


def _compile(
    holder: type, want: TagSet, exclude: TagSet, inherited: frozenset[str], visiting: set[type]
) -> TaskTable:
    key = (want, exclude, inherited)
    cache: dict[tuple[TagSet, TagSet, frozenset[str]], TaskTable] | None = holder.__dict__.get(
        _CACHE_ATTR
    )
    if cache is not None:
        found = cache.get(key)
        if found is not None:
            return found
    visiting.add(holder)
    # A holder's own tags (`@tag` on a TaskSet, or on a User class) apply to its tasks.
    own = inherited | task_tags(holder)
    try:
        entries: list[TaskEntry] = []
        for fn, weight in collect_tasks(holder):
            name = getattr(fn, "__name__", None) or type(fn).__name__
            where = f"{holder.__name__}.{name}"
            if is_taskset_class(fn):
                # A TaskSet that (indirectly) contains itself is kept; its own
                # table is compiled when it first runs.
                if fn in visiting or _compile(fn, want, exclude, own, visiting):
                    entries.append(TaskEntry(fn, TASKSET, weight, where, own))
            elif _passes(task_tags(fn) | own, want, exclude):
                entries.append(TaskEntry(fn, callable_kind(fn), weight, where, own))
    finally:
        visiting.discard(holder)
    table = TaskTable(holder, entries)
    if cache is None:
        cache = {}
        # A per-class cache, set on the class itself (not inherited: looked up in __dict__).
        setattr(holder, _CACHE_ATTR, cache)
    cache[key] = table
    return table


def task_table(
    holder: type,
    tags: TagSet = None,
    exclude_tags: TagSet = None,
    inherited: frozenset[str] = frozenset(),
) -> TaskTable:
    """The (cached) table of `holder` under this tag filter."""
    return _compile(holder, tags, exclude_tags, inherited, set())


def has_tasks(user_cls: type, tags: TagSet = None, exclude_tags: TagSet = None) -> bool:
    """False when no task of `user_cls` is left after tag filtering ("no tasks match")."""
    return bool(task_table(user_cls, tags, exclude_tags))
