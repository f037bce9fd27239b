"""`TaskSet` and `SequentialTaskSet`: groups of tasks a user enters and leaves.

A TaskSet class used as a task (`tasks = [Browse]`, or `@task` on a nested
class) is instantiated each time it is picked, with the picking User or
TaskSet as its parent, and then runs its own tasks — picked at random by
weight, or in declaration order for `SequentialTaskSet` — until one of them
calls `self.interrupt()`, which hands control back to the parent.

Invariants: a TaskSet never sleeps or switches greenlets itself (the task
loop in `horde.user.loop` does); `self.user` is always the User at the top of
the chain and `self.client` is that user's client.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from horde.errors import InterruptTaskSet
from horde.user.wait import check_wait_time

__all__ = ["SequentialTaskSet", "TaskSet"]


class TaskSet:
    """A set of tasks (functions or nested TaskSets) that run until interrupted."""

    tasks: ClassVar[Any] = []
    """Optional: a list `[f, g]` (items may be `(f, weight)`) or a dict `{f: 3}`."""

    _horde_taskset: ClassVar[bool] = True
    _horde_sequential: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_wait_time(cls)  # `wait_time = 5` fails at import, with its line

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        """The User or TaskSet that started this TaskSet."""
        self._horde_user: Any = parent._horde_user

    @property
    def user(self) -> Any:
        """The User this TaskSet runs for."""
        return self._horde_user

    @property
    def client(self) -> Any:
        """The user's client (`self.user.client`)."""
        return self._horde_user.client

    def wait_time(self) -> float:
        """Seconds to wait after a task; by default the user's own wait time."""
        result: float = self._horde_user.wait_time()
        return result

    def on_start(self) -> None:
        """Runs each time this TaskSet is entered, before its first task."""

    on_start._horde_default = True  # type: ignore[attr-defined]

    def on_stop(self) -> None:
        """Runs when this TaskSet is left (interrupt, or the user stopping)."""

    on_stop._horde_default = True  # type: ignore[attr-defined]

    def interrupt(self, reschedule: bool = True) -> NoReturn:
        """Leave this TaskSet for the parent.

        With `reschedule=True` the parent picks its next task at once,
        otherwise after its wait time.
        """
        raise InterruptTaskSet(reschedule)


class SequentialTaskSet(TaskSet):
    """A TaskSet whose tasks run in declaration order, over and over."""

    _horde_sequential: ClassVar[bool] = True
