"""`MarkovTaskSet`: tasks that hand over to each other by weighted transitions.

A method marked `@transition("other", weight)` (or `@transitions({...})` /
`@transitions(["a", ("b", 2)])`) is a state; after it runs, the next state is
drawn among its transitions by weight. The first state declared in the class
body is where each visit starts. horde runs the chain as one task of an
ordinary TaskSet, so waits, interrupts and stopping behave as in any TaskSet.

Invariant: every transition names a state of the class; a wrong name, a
state with no way out, or a class with no state is a ScriptError when the
class is defined (at import, with the script's line).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from horde.compat.users import TaskSet
from horde.errors import ScriptError

__all__ = ["MarkovTaskSet", "transition", "transitions"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "_horde_markov"


def transition(func_name: str, weight: int = 1) -> Callable[[F], F]:
    """After this task, go to `func_name` (with `weight` among the task's transitions)."""
    def mark(fn: F) -> F:
        pairs: list[tuple[str, int]] = list(getattr(fn, _ATTR, []))
        pairs.append((func_name, int(weight)))
        setattr(fn, _ATTR, pairs)
        return fn

    return mark


def transitions(spec: Mapping[str, int] | Iterable[str | tuple[str, int]]) -> Callable[[F], F]:
    """Several transitions at once: a dict {name: weight} or a list of names / (name, weight)."""
    items: list[tuple[str, int]] = []
    if isinstance(spec, Mapping):
        items = [(k, int(v)) for k, v in spec.items()]
    else:
        for item in spec:
            items.append((item, 1) if isinstance(item, str) else (item[0], int(item[1])))

    def mark(fn: F) -> F:
        pairs: list[tuple[str, int]] = list(getattr(fn, _ATTR, []))
        pairs.extend(items)
        setattr(fn, _ATTR, pairs)
        return fn

    return mark


def _step(self: Any) -> None:
    table: dict[str, tuple[list[str], list[int]]] = type(self)._horde_chain
    current = self._horde_state or type(self)._horde_first
    getattr(self, current)()
    names, weights = table[current]
    self._horde_state = self.user.rng.choices(names, weights)[0]


class MarkovTaskSet(TaskSet):
    """A TaskSet whose tasks follow `@transition`s (see the module docstring)."""

    abstract = True
    _horde_chain: dict[str, tuple[list[str], list[int]]] = {}
    _horde_first = ""
    _horde_state = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        chain: dict[str, tuple[list[str], list[int]]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                pairs = getattr(value, _ATTR, None)
                if pairs:
                    chain[name] = ([n for n, _ in pairs], [w for _, w in pairs])
        if not chain:
            raise ScriptError(f"{cls.__name__}: a MarkovTaskSet needs @transition tasks")
        for name, (targets, _) in chain.items():
            for target in targets:
                if target not in chain:
                    raise ScriptError(f"{cls.__name__}.{name}: transition to {target!r}, "
                                      "which is not a task with transitions of this class")
        cls._horde_chain = chain
        cls._horde_first = next(iter(chain))
        cls.tasks = [_step]
