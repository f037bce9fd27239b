"""`horde.sleep(seconds)`: a pause inside a task that does not block the process.

In a plain `def` task it blocks only this user: the user's greenlet hands an
`asyncio.sleep` to the event loop and resumes when it is done. In `async def`
code it returns an awaitable (`await horde.sleep(1)`).

`time.sleep` (and blocking libraries such as `requests`) in a task stop the
whole process, every user with it: the loop cannot run while they block.

A stop ends the pause at once (it raises StopUser, as a closed gate does for
a request): the runtime sets `PAUSE` in each user's task to its environment's
interruptible pause. Outside a user's task (no `PAUSE`), it is a plain sleep.

Invariants: the sync branch is taken only inside a user's greenlet
(`horde.bridge.in_sync_context()`), where `await_` is allowed; `PAUSE` is read
in the coroutine, which runs in the user's asyncio task (and its context)
whichever branch handed it over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from contextvars import ContextVar
from typing import Any

from horde.bridge import await_, in_sync_context

__all__ = ["sleep", "PAUSE"]

PAUSE: ContextVar[Callable[[float], Awaitable[None]]] = ContextVar("horde_pause")
"""The running user's pause (set by the runtime in each user's task)."""


async def _pause(seconds: float) -> None:
    pause = PAUSE.get(None)
    if pause is None:
        await asyncio.sleep(seconds)
    else:
        await pause(seconds)


class _Done:
    """An awaitable that is already complete (returned after a sync sleep)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # makes this a generator  # pragma: no cover


def sleep(seconds: float) -> Awaitable[None]:
    """Pause this user for `seconds` without blocking the other users."""
    if in_sync_context():
        await_(_pause(seconds))
        return _Done()
    return _pause(seconds)
