"""Sleeping inside a task without blocking the process.

* `horde.sleep(seconds)`: in a plain `def` task it pauses only this user (the
  user's greenlet hands the wait to the event loop and resumes when it is
  done); in `async def` code it returns an awaitable (`await horde.sleep(1)`).
* `time.sleep` while a test runs: the same, inside a user's greenlet; the real
  one everywhere else. See `cooperative_time_sleep`.
* `cooperative_sleep(seconds, fallback)`: the one mechanism both use, for
  other sleeps that should pause only the calling user (gevent's, in the
  Locust compatibility layer).

Blocking libraries (`requests`, sync drivers) and CPU-bound work still stop
the whole process; the watchdog names them (horde.runtime.watchdog).

A stop ends a pause at once (it raises StopUser, as a closed gate does for
a request): the runtime sets `PAUSE` in each user's task to its environment's
interruptible pause; `time.sleep` in a task goes through the same pause.
Outside a user's task (no `PAUSE`), it is a plain sleep.

Invariant: the cooperative branch is taken only inside a user's greenlet
(`horde.bridge.in_sync_context()`), where `await_` is allowed; anywhere else
(the event loop itself, other threads, code outside a run) a sleep is exactly
the fallback, so a patched `time.sleep` is harmless wherever it is called.
`PAUSE` is read in the coroutine, which runs in the user's asyncio task (and
its context) whichever branch handed it over.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from horde.bridge import await_, in_sync_context

__all__ = ["cooperative_sleep", "cooperative_time_sleep", "sleep", "PAUSE"]

PAUSE: ContextVar[Callable[[float], Awaitable[None]]] = ContextVar("horde_pause")
"""The running user's pause (set by the runtime in each user's task)."""


async def _pause_async(seconds: float) -> None:
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


def _pause(seconds: float) -> None:
    """Pause the calling user's greenlet for `seconds` (only there)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"sleep length must be a number, not {type(seconds).__name__}")
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("sleep length must be a non-negative number")
    await_(_pause_async(seconds))


def cooperative_sleep(seconds: float, fallback: Callable[[float], object]) -> None:
    """Inside a user's sync task: pause only this user. Anywhere else: `fallback(seconds)`.

    The building block for sleeps that should behave as under gevent (only
    the calling user waits), whatever they are when called elsewhere.
    """
    if in_sync_context():
        _pause(seconds)
    else:
        fallback(seconds)


def sleep(seconds: float) -> Awaitable[None]:
    """Pause this user for `seconds` without blocking the other users."""
    if in_sync_context():
        _pause(seconds)
        return _Done()
    return _pause_async(seconds)


class _TimeSleep:
    """What `time.sleep` is while a run holds it; counts the holders.

    An object (not a closure) so that the count lives in it, in the `time`
    module, rather than in a global of ours.
    """

    def __init__(self, real: Callable[[float], None]) -> None:
        functools.update_wrapper(self, real)  # name, doc, __wrapped__: looks like time.sleep
        self.real = real
        self.holders = 0

    def __call__(self, seconds: float) -> None:
        cooperative_sleep(seconds, self.real)


@contextmanager
def cooperative_time_sleep() -> Iterator[None]:
    """Within this block, `time.sleep` in a user's sync task pauses only that user.

    Why a patch held for the run rather than one made at import: importing
    horde must not change the standard library for a program that merely
    imports it (tests, tools, the master); and why a patch at all: scripts
    written for Locust call `time.sleep` in tasks, where gevent made it
    cooperative. The replacement checks where it runs on every call, so it
    is the real sleep outside users' greenlets (the loop thread, other
    threads) and stays correct if a reference to it outlives the block
    (`from time import sleep` in a script loaded inside it). Nested holders
    share one patch; the last one out restores the original, unless someone
    else replaced `time.sleep` meanwhile (then theirs is left alone).
    """
    current: Any = time.sleep
    patch = current if isinstance(current, _TimeSleep) else _TimeSleep(current)
    patch.holders += 1
    time.sleep = patch  # type: ignore[assignment]
    try:
        yield
    finally:
        patch.holders -= 1
        real = patch.real
        if patch.holders == 0 and time.sleep is patch:
            time.sleep = real  # type: ignore[assignment]
