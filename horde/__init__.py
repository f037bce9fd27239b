"""horde: distributed load testing in plain Python.

Everything a test script needs is importable from here::

    from horde import HttpUser, task, between
"""

from horde._version import __version__
from horde.errors import InterruptTaskSet, RescheduleTask, StopUser
from horde.events import ScriptEvents
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
"""Decorators that mark event listeners; see horde.events."""

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
    "StopUser",
    "RescheduleTask",
    "InterruptTaskSet",
]
