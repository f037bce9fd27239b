"""Event hooks for test scripts, without global state.

A script marks module-level functions as listeners::

    from horde import events

    @events.test_start.add_listener
    def announce(environment, **kwargs):
        ...

`events.test_start` here is a `HookMarker`: `add_listener` only tags the
function and returns it, so importing a script registers nothing anywhere.
The script loader collects tagged functions from the module and adds them to
the run's own `Events` (one per run), which is also what listeners receive as
`environment.events` and may extend at run time
(`environment.events.request.add_listener(fn)`).

`EventHook.fire` costs nothing on the hot path when nobody listens: callers
test the hook's truth value (`if hook:`) before building any arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["EventHook", "Events", "HookMarker", "ScriptEvents", "HOOK_NAMES", "listeners_of"]

F = TypeVar("F", bound=Callable[..., Any])

HOOK_NAMES = ("init", "test_start", "test_stop", "request")
_MARK = "__horde_hooks__"


class EventHook:
    """An ordered list of listeners called with keyword arguments."""

    __slots__ = ("name", "_listeners")

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[..., Any]] = []

    def add_listener(self, fn: F) -> F:
        self._listeners.append(fn)
        return fn

    def remove_listener(self, fn: Callable[..., Any]) -> None:
        self._listeners.remove(fn)

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def fire(self, **kwargs: Any) -> None:
        # Listeners run in order; one that raises stops the others, and the
        # caller (the runtime) reports it with the listener's name.
        for fn in tuple(self._listeners):
            fn(**kwargs)

    def notify(self, **kwargs: Any) -> None:
        """The runtime telling listeners about something already done (a request
        already recorded). The same as `fire` here; a hook whose `fire` from
        script code also does the thing (horde.compat's request hook records
        the request) tells the two apart by this."""
        for fn in tuple(self._listeners):
            fn(**kwargs)


class Events:
    """The hooks of one run."""

    def __init__(self) -> None:
        self.init = EventHook("init")
        self.test_start = EventHook("test_start")
        self.test_stop = EventHook("test_stop")
        self.request = EventHook("request")

    def hook(self, name: str) -> EventHook:
        hook = getattr(self, name, None)
        if not isinstance(hook, EventHook):
            raise KeyError(name)
        return hook


class HookMarker:
    """What scripts see as `events.<name>`: tags listeners for the loader."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def add_listener(self, fn: F) -> F:
        marks: tuple[str, ...] = getattr(fn, _MARK, ())
        setattr(fn, _MARK, (*marks, self.name))
        return fn

    __call__ = add_listener


class ScriptEvents:
    """The immutable `horde.events` namespace scripts import."""

    __slots__ = ()

    init = HookMarker("init")
    test_start = HookMarker("test_start")
    test_stop = HookMarker("test_stop")
    request = HookMarker("request")


def listeners_of(namespace: dict[str, Any]) -> list[tuple[str, Callable[..., Any]]]:
    """The (hook name, function) pairs tagged in a module namespace, in definition order."""
    found: list[tuple[str, Callable[..., Any]]] = []
    for value in namespace.values():
        for name in getattr(value, _MARK, ()):
            if name in HOOK_NAMES and callable(value):
                found.append((name, value))
    return found
