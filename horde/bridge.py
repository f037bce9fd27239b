"""Greenlet bridge: plain `def` code that awaits asyncio I/O.

Invariants:

* every user with sync tasks owns exactly one `SyncRunner`, i.e. one greenlet,
  created once and reused for every call (a new greenlet per call costs ~2.4x
  throughput, see docs/dev/design.md);
* that greenlet's parent is the event loop's greenlet, so `await_` always
  switches back to the coroutine that is driving it (`SyncRunner.call`);
* only code running inside a `SyncRunner` greenlet may call `await_`; anywhere
  else `in_sync_context()` is False and callers hand out the awaitable instead;
* a runner runs one call at a time (a second concurrent `call` raises
  RuntimeError instead of feeding the first call's `await_` a wrong value),
  and a closed runner refuses calls; a call interrupted by `close()` raises
  RuntimeError rather than returning whatever the switch carried.

The technique is the one SQLAlchemy uses for its asyncio bridge: the driver
coroutine switches into the greenlet; when the sync code needs I/O it switches
back with an awaitable; the driver awaits it and switches in again with the
outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

__all__ = ["SyncRunner", "await_", "in_sync_context"]

T = TypeVar("T")

# Message tags exchanged between the driver and the greenlet. Small ints keep
# the per-switch cost at a tuple build and an int compare.
_CALL, _AWAIT, _VALUE, _THROW, _RETURN, _RAISE = range(6)


class _UserGreenlet(greenlet):  # type: ignore[misc]
    """Marks greenlets that belong to a SyncRunner."""


def in_sync_context() -> bool:
    """True when running inside a user's sync-task greenlet."""
    return isinstance(getcurrent(), _UserGreenlet)


def await_(awaitable: Awaitable[T]) -> T:
    """Wait for `awaitable` from sync code by handing it to the driving coroutine."""
    current = getcurrent()
    if not isinstance(current, _UserGreenlet):
        # Closing the coroutine avoids a "never awaited" warning on top of this error.
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        raise RuntimeError(
            "a blocking horde call was made outside a user's sync task; "
            "in async code, use `await`"
        )
    tag, payload = current.parent.switch((_AWAIT, awaitable))
    if tag == _THROW:
        raise payload
    return payload  # type: ignore[no-any-return]


class SyncRunner:
    """Runs plain callables in one long-lived greenlet, awaiting their I/O."""

    __slots__ = ("_greenlet", "_busy")

    def __init__(self) -> None:
        self._greenlet = _UserGreenlet(self._serve)
        self._busy = False

    @staticmethod
    def _serve(first: tuple[int, Any]) -> None:
        message = first
        parent = getcurrent().parent
        while True:
            fn, args, kwargs = message[1]
            try:
                # Calls of one to three positional arguments are spelled out:
                # Python 3.11 runs `fn(a, b)` of a Python function in the same
                # C frame, whereas `fn(*args)` nests another one, whose ~370
                # bytes every suspended greenlet then keeps in its saved stack
                # (the common calls: a sync task `(owner,)`, a sync-only user's
                # whole life `(user, table)`).
                n = len(args)
                if kwargs or not 0 < n < 4:
                    outcome = (_RETURN, fn(*args, **kwargs))
                elif n == 1:
                    outcome = (_RETURN, fn(args[0]))
                elif n == 2:
                    outcome = (_RETURN, fn(args[0], args[1]))
                else:
                    outcome = (_RETURN, fn(args[0], args[1], args[2]))
            except GreenletExit:
                raise  # close(): end the greenlet, even from inside an await_
            except BaseException as exc:  # noqa: BLE001 - handed to the driver as is
                outcome = (_RAISE, exc)
            message = parent.switch(outcome)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` in this runner's greenlet and return its result."""
        if self._busy:
            raise RuntimeError("this SyncRunner is already running a call; one greenlet "
                               "runs one call at a time")
        if self._greenlet.dead:
            raise RuntimeError("this SyncRunner is closed")
        self._busy = True
        switch = self._greenlet.switch
        try:
            tag, payload = switch((_CALL, (fn, args, kwargs)))
            while tag == _AWAIT:
                try:
                    value = await payload
                except BaseException as exc:  # noqa: BLE001 - incl. CancelledError, re-raised inside
                    tag, payload = switch((_THROW, exc))
                else:
                    tag, payload = switch((_VALUE, value))
        finally:
            self._busy = False
        if tag == _RETURN:
            return payload  # type: ignore[no-any-return]
        if tag == _RAISE:
            raise payload
        # A dead greenlet hands our own message back: close() ran during the call.
        raise RuntimeError("the SyncRunner was closed while a call was running")

    def close(self) -> None:
        """End the greenlet (raises GreenletExit inside it, where it waits for work)."""
        if not self._greenlet.dead:
            self._greenlet.throw()
