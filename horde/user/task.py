"""Declaring tasks: the `@task` and `@tag` decorators, and collecting a class's tasks.

A *task holder* is a `User` or `TaskSet` class. Its tasks come, as in Locust,
from three places, in this order:

1. the tasks of its base classes (every base that has a `tasks` attribute);
2. its own `tasks` attribute, a list (`[f, g]`, items may be `(f, weight)`
   pairs) or a dict (`{f: 3, g: 1}`);
3. the methods (or nested TaskSet classes) in its body marked with `@task`.

A task is a callable taking the holder instance (a function or method,
`def` or `async def`) or a TaskSet class.

Decorators refuse bad arguments with TypeError/ValueError at import time
(the script loader reports them with their line).

Invariants: decorators only set attributes on what they decorate and never
mutate a holder class; collection reads classes and returns a fresh list of
`(task, weight)` pairs in declaration order, weights ints >= 1 (weight 0
drops a task).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from horde.errors import ScriptError

__all__ = [
    "TAGS_ATTR",
    "WEIGHT_ATTR",
    "collect_tasks",
    "is_taskset_class",
    "tag",
    "task",
    "task_tags",
]

WEIGHT_ATTR = "horde_task_weight"
"""Attribute `@task` sets: the weight of a task declared in a class body."""
TAGS_ATTR = "horde_tags"
"""Attribute `@tag` sets: a frozenset of tag names."""

F = TypeVar("F", bound=Callable[..., Any])


def _check_weight(weight: object) -> int:
    # bool is an int subclass; `@task(True)` is almost certainly a mistake.
    if not isinstance(weight, int) or isinstance(weight, bool):
        raise TypeError(f"a task weight must be an int, not {weight!r}")
    if weight < 0:
        raise ValueError(f"a task weight must be >= 0, not {weight}")
    return weight


@overload
def task(weight: F) -> F: ...


@overload
def task(weight: int = 1) -> Callable[[F], F]: ...


def task(weight: Any = 1) -> Any:
    """Mark a method (or nested TaskSet class) as a task: `@task` or `@task(3)`."""
    if callable(weight):
        setattr(weight, WEIGHT_ATTR, 1)
        return weight
    checked = _check_weight(weight)

    def mark(fn: F) -> F:
        setattr(fn, WEIGHT_ATTR, checked)
        return fn

    return mark


def tag(*tags: str) -> Callable[[F], F]:
    """Tag a task or a TaskSet class; a TaskSet's tags apply to all its tasks."""
    for name in tags:
        if not isinstance(name, str):
            raise TypeError(f"tags are strings, not {name!r}")
    new = frozenset(tags)

    def mark(obj: F) -> F:
        setattr(obj, TAGS_ATTR, task_tags(obj) | new)
        return obj

    return mark


def task_tags(obj: object) -> frozenset[str]:
    """The tags set on `obj` by `@tag` (empty when none)."""
    found = getattr(obj, TAGS_ATTR, None)
    return found if isinstance(found, frozenset) else frozenset()


def is_taskset_class(obj: object) -> bool:
    """True for TaskSet classes (marked by `_horde_taskset`), which run nested."""
    return isinstance(obj, type) and bool(getattr(obj, "_horde_taskset", False))


def _pairs(spec: object, owner: type) -> Iterable[tuple[Any, int]]:
    if spec is None:
        return ()
    if isinstance(spec, Mapping):
        return [(t, _check_weight(w)) for t, w in spec.items()]
    if isinstance(spec, (list, tuple)):
        out: list[tuple[Any, int]] = []
        for item in spec:
            if isinstance(item, tuple):
                if len(item) != 2:
                    raise TypeError(f"{owner.__name__}.tasks: want (task, weight), not {item!r}")
                out.append((item[0], _check_weight(item[1])))
            else:
                out.append((item, 1))
        return out
    raise TypeError(f"{owner.__name__}.tasks must be a list or a dict, not {type(spec).__name__}")


def collect_tasks(holder: type) -> list[tuple[Any, int]]:
    """All `(task, weight)` pairs of `holder`, bases first, weight-0 tasks left out.

    A malformed `tasks` attribute raises ScriptError (found after the script
    was imported, so the loader cannot point at a line for it).
    """
    try:
        return _collect(holder)
    except (TypeError, ValueError) as exc:
        raise ScriptError(str(exc)) from exc


def _collect(holder: type) -> list[tuple[Any, int]]:
    found: list[tuple[Any, int]] = []
    for base in holder.__bases__:
        if hasattr(base, "tasks"):
            found.extend(_collect(base))
    found.extend(_pairs(holder.__dict__.get("tasks"), holder))
    for value in holder.__dict__.values():
        weight = getattr(value, WEIGHT_ATTR, None)
        if weight is not None:
            found.append((value, weight))
    for item, _ in found:
        if isinstance(item, type) and not is_taskset_class(item):
            raise TypeError(f"{holder.__name__}: class {item.__name__} in tasks is not a TaskSet")
        if not callable(item):
            raise TypeError(f"{holder.__name__}: task {item!r} is neither callable nor a TaskSet")
    return [(item, weight) for item, weight in found if weight > 0]
