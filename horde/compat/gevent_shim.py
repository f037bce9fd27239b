"""The gevent calls Locust scripts make, cooperating with horde's users.

Under the horde CLI `import gevent` (and gevent.lock, gevent.event,
gevent.pool, gevent.monkey) in a script gets these, not real gevent: real
gevent would block the event loop that runs every user. Covered:

* `gevent.sleep(s)`: inside a user's task (or a spawned greenlet) it pauses
  only that greenlet; in a listener on the loop it cannot pause anything and
  returns at once (after logging at debug level);
* `gevent.spawn(fn, ...)`, `spawn_later(s, fn, ...)`, `Greenlet`: each is an
  asyncio task running `fn` in a greenlet of its own (a `SyncRunner`), so
  `fn` may sleep, request and wait like a user task; `join(timeout)`,
  `kill()`, `get()`, `value`, `exception`, `ready()`, `dead`;
  `joinall`, `killall`;
* `gevent.lock.Semaphore` / `BoundedSemaphore` / `RLock`, `gevent.event.Event`
  / `AsyncResult`, `gevent.pool.Pool` / `Group`;
* `gevent.monkey.patch_all()` and friends: accepted, do nothing.

A blocking call (`join`, `acquire`, `wait`) from a greenlet waits through
`horde.bridge.await_`; from the library-use main thread (no loop running) it
runs the Environment's loop; from plain code on the loop it cannot block and
answers as if the wait had timed out.

Invariant: nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from greenlet import GreenletExit

from horde.bridge import SyncRunner, await_, in_sync_context
from horde.user.sleep import cooperative_sleep

__all__ = ["sleep", "spawn", "spawn_later", "joinall", "killall", "Greenlet", "GreenletExit",
           "Semaphore", "BoundedSemaphore", "RLock", "Event", "AsyncResult", "Pool", "Group",
           "patch_all", "Timeout"]

log = logging.getLogger(__name__)


def _loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()


def _block(awaitable: Any, timeout: float | None = None) -> bool:
    """Wait for `awaitable` as the caller can; True when it completed."""
    coro = asyncio.wait_for(awaitable, timeout) if timeout is not None else awaitable
    if in_sync_context():
        try:
            await_(coro)
        except TimeoutError:
            return False
        return True
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = _loop()
        try:
            loop.run_until_complete(coro)
        except TimeoutError:
            return False
        return True
    if asyncio.iscoroutine(coro):
        coro.close()
    log.debug("a gevent wait was called on the event loop outside a greenlet; not waiting")
    return False


def sleep(seconds: float = 0) -> None:
    """Pause this greenlet (a user's task or a spawned one) without blocking the others."""
    # The same mechanism as time.sleep in a user's task (horde.user.sleep).
    cooperative_sleep(seconds, _sleep_outside_greenlet)


def _sleep_outside_greenlet(seconds: float) -> None:
    log.debug("gevent.sleep outside a greenlet returns at once")


class Greenlet:
    """A function running in its own greenlet, as an asyncio task."""

    def __init__(self, run: Callable[..., Any] | None = None, *args: Any, **kwargs: Any) -> None:
        self._run = run
        self.args = args
        self.kwargs = kwargs
        self.value: Any = None
        self.exception: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._done = asyncio.Event()
        self._links: list[Callable[[Greenlet], Any]] = []

    @classmethod
    def spawn(cls, run: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
        g = cls(run, *args, **kwargs)
        g.start()
        return g

    def start(self) -> None:
        if self._task is None and self._handle is None:
            self._begin()

    def start_later(self, seconds: float) -> None:
        if self._task is None and self._handle is None:
            self._handle = _loop().call_later(seconds, self._begin)

    def _begin(self) -> None:
        self._handle = None
        self._task = _loop().create_task(self._main())
        # A task cancelled before its first step never runs _main's `finally`.
        self._task.add_done_callback(lambda _t: self._done.set())

    async def _main(self) -> None:
        runner = SyncRunner()
        try:
            if self._run is not None:
                self.value = await runner.call(self._run, *self.args, **self.kwargs)
        except (GreenletExit, asyncio.CancelledError):
            self.value = GreenletExit()
        except Exception as exc:  # noqa: BLE001 - kept for get()/exception, as gevent does
            self.exception = exc
            log.error("greenlet %s raised %s: %s", getattr(self._run, "__name__", self._run),
                      type(exc).__name__, exc)
        finally:
            runner.close()
            self._done.set()
            for link in self._links:
                link(self)

    # --- state --------------------------------------------------------------------

    def ready(self) -> bool:
        return self._done.is_set()

    @property
    def dead(self) -> bool:
        return self._done.is_set() or (self._task is None and self._handle is None)

    @property
    def started(self) -> bool:
        return self._task is not None or self._handle is not None

    def successful(self) -> bool:
        return self.ready() and self.exception is None

    def __bool__(self) -> bool:
        return self.started and not self.ready()

    def link(self, callback: Callable[[Greenlet], Any]) -> None:
        self._links.append(callback)

    # --- waiting and ending -------------------------------------------------------------

    def join(self, timeout: float | None = None) -> None:
        if not self.ready() and self.started:
            _block(self._done.wait(), timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if block:
            self.join(timeout)
        if self.exception is not None:
            raise self.exception
        return self.value

    def kill(self, exception: Any = GreenletExit, block: bool = True,
             timeout: float | None = None) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._done.set()
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
            if block:
                self.join(timeout)


def spawn(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
    return Greenlet.spawn(run, *args, **kwargs)


def spawn_later(seconds: float, run: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
    g = Greenlet(run, *args, **kwargs)
    g.start_later(seconds)
    return g


def joinall(greenlets: Iterable[Greenlet], timeout: float | None = None,
            raise_error: bool = False) -> list[Greenlet]:
    items = list(greenlets)

    async def all_done() -> None:
        await asyncio.gather(*(g._done.wait() for g in items if g.started))

    _block(all_done(), timeout)
    if raise_error:
        for g in items:
            if g.exception is not None:
                raise g.exception
    return [g for g in items if g.ready()]


def killall(greenlets: Iterable[Greenlet], exception: Any = GreenletExit, block: bool = True,
            timeout: float | None = None) -> None:
    for g in list(greenlets):
        g.kill(exception, block=False)
    if block:
        joinall(greenlets, timeout)


class Semaphore:
    """gevent.lock.Semaphore over asyncio.Semaphore."""

    def __init__(self, value: int = 1) -> None:
        self._sem = asyncio.Semaphore(value)
        self._initial = value

    @property
    def counter(self) -> int:
        return int(self._sem._value)

    def locked(self) -> bool:
        return self._sem.locked()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not self._sem.locked():
            self._sem._value -= 1
            return True
        if not blocking:
            return False
        return _block(self._sem.acquire(), timeout)

    def release(self) -> None:
        self._sem.release()

    def wait(self, timeout: float | None = None) -> int:
        if self.acquire(timeout=timeout):
            self.release()
        return self.counter

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    def release(self) -> None:
        if self.counter >= self._initial:
            raise ValueError("Semaphore released too many times")
        super().release()


RLock = Semaphore


class Event:
    """gevent.event.Event over asyncio.Event."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    isSet = is_set
    ready = is_set

    def wait(self, timeout: float | None = None) -> bool:
        if not self._event.is_set():
            _block(self._event.wait(), timeout)
        return self._event.is_set()


class AsyncResult(Event):
    def __init__(self) -> None:
        super().__init__()
        self.value: Any = None
        self.exception: BaseException | None = None

    def set(self, value: Any = None) -> None:
        self.value = value
        super().set()

    def set_exception(self, exception: BaseException) -> None:
        self.exception = exception
        super().set()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if block:
            self.wait(timeout)
        if self.exception is not None:
            raise self.exception
        return self.value


class Group:
    """gevent.pool.Group: greenlets started together, joined together."""

    def __init__(self) -> None:
        self.greenlets: list[Greenlet] = []

    def spawn(self, run: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
        g = spawn(run, *args, **kwargs)
        self.greenlets.append(g)
        return g

    def join(self, timeout: float | None = None, raise_error: bool = False) -> bool:
        done = joinall(self.greenlets, timeout, raise_error)
        return len(done) == len(self.greenlets)

    def kill(self, exception: Any = GreenletExit, block: bool = True,
             timeout: float | None = None) -> None:
        killall(self.greenlets, exception, block, timeout)

    def __len__(self) -> int:
        return sum(1 for g in self.greenlets if not g.ready())


class Pool(Group):
    """gevent.pool.Pool: a Group of at most `size` running greenlets; spawn waits for room."""

    def __init__(self, size: int | None = None) -> None:
        super().__init__()
        self.size = size
        self._slots = Semaphore(size) if size else None

    def spawn(self, run: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
        slots = self._slots
        if slots is None:
            return super().spawn(run, *args, **kwargs)
        slots.acquire()
        g = Greenlet(run, *args, **kwargs)
        g.link(lambda _g: slots.release())
        g.start()
        self.greenlets.append(g)
        return g

    def free_count(self) -> int:
        return self._slots.counter if self._slots is not None else 1 << 30

    def full(self) -> bool:
        return self.free_count() <= 0


def patch_all(*args: Any, **kwargs: Any) -> None:
    """Accepted and ignored: horde needs no monkey patching (see the module docstring)."""


class Timeout(Exception):
    """gevent.Timeout's name, for scripts that catch it."""

    def __init__(self, seconds: float | None = None, exception: Any = None) -> None:
        super().__init__(seconds)
        self.seconds = seconds
