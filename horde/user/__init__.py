"""The scripting API: what test scripts import (see docs/writing-scripts.md).

`User`/`HttpUser` classes with `@task` methods (plain `def` or `async def`),
`TaskSet`s, tags and wait times, Locust-compatible in names and meaning. The
runtime drives each user with `await user.run()` against an object satisfying
`UserEnvironment`; `has_tasks` tells it whether a class has any task left
under a tag filter.
"""

from horde.errors import InterruptTaskSet, RescheduleTask, StopUser
from horde.user.environment import UserEnvironment
from horde.user.sleep import sleep
from horde.user.table import has_tasks
from horde.user.task import tag, task
from horde.user.taskset import SequentialTaskSet, TaskSet
from horde.user.user import FastHttpUser, HttpUser, User
from horde.user.wait import between, constant, constant_pacing, constant_throughput

__all__ = [
    "FastHttpUser",
    "HttpUser",
    "InterruptTaskSet",
    "RescheduleTask",
    "SequentialTaskSet",
    "StopUser",
    "TaskSet",
    "User",
    "UserEnvironment",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "has_tasks",
    "sleep",
    "tag",
    "task",
]
