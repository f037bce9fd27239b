"""horde: distributed load testing in plain Python.

Everything a test script needs is importable from here::

    from horde import HttpUser, task, between

The scripting API is loaded on first use (PEP 562), so that importing a
low layer such as `horde.stats` does not pull in the HTTP client and greenlet.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from horde._version import __version__
from horde.buildinfo import activate as _activate_build
from horde.errors import InterruptTaskSet, RescheduleTask, StopUser
from horde.events import ScriptEvents
from horde.plan.shape import LoadTestShape

# Before any hot-path module can be imported (none of the above imports one):
# pure source or the mypyc-compiled modules, see horde/buildinfo.py.
BUILD = _activate_build()
"""The build in use (a `horde.buildinfo.Build`); `horde --version` shows it."""

if TYPE_CHECKING:
    from horde.user import (
        FastHttpUser,
        HttpUser,
        SequentialTaskSet,
        TaskSet,
        User,
        between,
        constant,
        constant_pacing,
        constant_throughput,
        sleep,
        tag,
        task,
    )

events = ScriptEvents()
"""Decorators that mark event listeners; see horde.events. Holds no state."""

_FROM_USER = frozenset({
    "User", "HttpUser", "FastHttpUser", "TaskSet", "SequentialTaskSet", "task", "tag",
    "between", "constant", "constant_pacing", "constant_throughput", "sleep",
})

__all__ = [
    "__version__",
    "User",
    "HttpUser",
    "FastHttpUser",
    "TaskSet",
    "SequentialTaskSet",
    "task",
    "tag",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "sleep",
    "events",
    "LoadTestShape",
    "StopUser",
    "RescheduleTask",
    "InterruptTaskSet",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_USER:
        return getattr(import_module("horde.user"), name)
    raise AttributeError(f"module 'horde' has no attribute {name!r}")
