"""What a user needs from the run it belongs to.

The runtime (layer 3) implements this Protocol; users (layer 2) only see it,
which keeps imports pointing down and lets tests drive users with a small fake
environment and an injected clock.
"""

from __future__ import annotations

from typing import Protocol

from horde.events import Events
from horde.gate import Gate
from horde.stats import RecordFn

__all__ = ["UserEnvironment"]


class UserEnvironment(Protocol):
    host: str | None
    """-H/--host; when set it overrides the user class's `host`."""
    record: RecordFn
    """Where HTTP clients record each request."""
    gate: Gate
    """Closed when stopping begins; no new request may start after that."""
    events: Events
    tags: frozenset[str] | None
    """-T/--tags: run only tasks with one of these tags (None: no filter)."""
    exclude_tags: frozenset[str] | None
    """-E/--exclude-tags: never run tasks with one of these tags."""
    request_timeout: float
    """--request-timeout: the default timeout of one HTTP request, in seconds."""

    async def wait(self, seconds: float) -> None:
        """Sleep between tasks; raises StopUser at once when stopping begins.

        An environment with a true ``paced`` attribute (the open model) ignores
        ``seconds`` and returns when the user's next iteration is due; the task
        loops then also call ``wait(0)`` before the first task.
        """

    def record_exception(self, where: str, exc: BaseException) -> None:
        """Count an exception a task raised, keeping its traceback."""

    def clock(self) -> float:
        """Monotonic seconds; tests inject a fake one."""
