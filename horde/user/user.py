"""`User`, `HttpUser`, `FastHttpUser`: the classes test scripts subclass.

A user is one asyncio task running `await user.run()`: `on_start`, then the
task loop (`horde.user.loop`), then `on_stop`. Tasks and hooks written as
plain `def` run inside ONE greenlet per user (a `horde.bridge.SyncRunner`,
created the first time the user has a sync call to make, never once per
call); `async def` ones are awaited directly. Both styles mix freely. A user
whose callables are all plain `def` enters its greenlet once for its whole
life (`horde.user.syncloop`); a mixed user enters it once per sync call.

Invariants:

* `run()` never raises an `Exception`: script errors are passed to
  `environment.record_exception`, StopUser ends the user cleanly; only
  cancellation (a hard stop) propagates, and then no hook runs;
* whatever the ending, the greenlet is closed and `HttpUser`'s client is
  closed (`await self.client.aclose()`);
* `abstract` is not inherited: a subclass is concrete unless its own body
  says `abstract = True` (set by `__init_subclass__`);
* `weight`, `fixed_count` and `wait_time` are checked when the class is
  defined: a negative or non-numeric weight/count, or a `wait_time` that is
  not callable (`wait_time = 5` instead of `constant(5)`), raises ScriptError
  at import, which the loader reports with the script's file and line.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from horde.bridge import SyncRunner
from horde.errors import ScriptError, StopUser
from horde.http import HttpSession
from horde.user.environment import UserEnvironment
from horde.user.loop import call_hook, drive, stop_hook
from horde.user.syncloop import run_user_sync, sync_only
from horde.user.table import TaskTable, task_table
from horde.user.wait import check_wait_time

__all__ = ["FastHttpUser", "HttpUser", "User", "check_class_attributes"]

_module_random = random.random  # the `random` module's own generator


class User:
    """A simulated user: override `on_start`/`on_stop`, declare tasks and a wait time."""

    host: ClassVar[str | None] = None
    """Base URL for the client; `-H/--host` overrides it."""
    tasks: ClassVar[Any] = []
    """Optional: a list `[f, g]` (items may be `(f, weight)`) or a dict `{f: 3}`."""
    weight: ClassVar[int] = 1
    """Relative share of this class among the users started."""
    fixed_count: ClassVar[int] = 0
    """When > 0: exactly this many users of this class, whatever the weights."""
    abstract: ClassVar[bool] = True
    """An abstract class is never run (only this base and classes saying so)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "abstract" not in cls.__dict__:
            cls.abstract = False
        check_class_attributes(cls)

    def __init__(self, environment: UserEnvironment) -> None:
        self.environment = environment
        self._horde_rng: random.Random | None = None  # see `rng`
        self._horde_user = self
        self._horde_runner: SyncRunner | None = None
        self._horde_task_start = environment.clock()
        table = task_table(type(self), environment.tags, environment.exclude_tags)
        if not table:
            raise ScriptError(
                f"{type(self).__name__} has no tasks"
                + (" matching the tags" if environment.tags or environment.exclude_tags else "")
                + "; use @task or set the `tasks` attribute (or mark it `abstract = True`)"
            )
        self._horde_table: TaskTable = table
        self._horde_sync_only = sync_only(table, environment.tags, environment.exclude_tags)

    @property
    def rng(self) -> random.Random:
        """This user's own random source: task picks and `between` draw from it.

        Made on first use: a `random.Random` holds 2.5 KB of state, a fifth
        of what an idle user costs otherwise, and most scripts never seed
        one. Until a script touches `self.rng`, picks and waits draw from
        the `random` module's generator (as in Locust); from then on (seed
        it in `on_start` to reproduce a user's choices) from this one.
        """
        rng = self._horde_rng
        if rng is None:
            rng = self._horde_rng = random.Random()
        return rng

    @rng.setter
    def rng(self, value: random.Random) -> None:
        self._horde_rng = value

    def _horde_draw(self) -> float:
        """The next number in [0, 1) for a pick or a wait (see `rng`)."""
        rng = self._horde_rng
        return rng.random() if rng is not None else _module_random()

    def wait_time(self) -> float:
        """Seconds to wait after each task; 0 unless the class sets `wait_time = ...`."""
        return 0.0

    def on_start(self) -> None:
        """Runs once when the user starts, before its first task."""

    on_start._horde_default = True  # type: ignore[attr-defined]

    def on_stop(self) -> None:
        """Runs once when the user stops (also after stopping began)."""

    on_stop._horde_default = True  # type: ignore[attr-defined]

    def _horde_sync(self, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        # The one greenlet of this user, made on first use, from the driver
        # coroutine (so its parent is the event loop's greenlet).
        runner = self._horde_runner
        if runner is None:
            runner = self._horde_runner = SyncRunner()
        return runner.call(fn, *args)

    async def run(self) -> None:
        """on_start, the task loop, on_stop; returns when the user stops."""
        try:
            if self._horde_sync_only:
                await self._horde_sync(run_user_sync, self, self._horde_table)
            else:
                await self._horde_run_mixed()
        finally:
            runner = self._horde_runner
            if runner is not None:
                self._horde_runner = None
                runner.close()
            await self._horde_close()

    async def _horde_run_mixed(self) -> None:
        # The async twin of syncloop.run_user_sync: keep the two in step.
        table = self._horde_table
        env = self.environment
        try:
            await call_hook(self, table.on_start, type(self).on_start, self)
        except StopUser:
            await stop_hook(self, self, table)
            return
        except Exception as exc:  # noqa: BLE001 - as Locust: a failed on_start ends the user
            env.record_exception(f"{type(self).__name__}.on_start", exc)
            return
        try:
            await drive(self, self, table, in_taskset=False)
        except StopUser:
            pass
        except Exception as exc:  # noqa: BLE001 - outside a task (wait_time, ...)
            env.record_exception(f"{type(self).__name__}.run", exc)
        await stop_hook(self, self, table)

    async def _horde_close(self) -> None:
        """Release what the user holds (subclasses with a client close it here)."""


def check_class_attributes(cls: type) -> None:
    """ScriptError for a bad `weight`, `fixed_count` or `wait_time` on a User class."""
    name = cls.__name__
    weight = getattr(cls, "weight", 1)
    if (isinstance(weight, bool) or not isinstance(weight, int | float)
            or not 0 <= weight < float("inf")):
        raise ScriptError(f"{name}.weight must be a number >= 0, not {weight!r}")
    fixed = getattr(cls, "fixed_count", 0)
    if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
        raise ScriptError(f"{name}.fixed_count must be a whole number >= 0, not {fixed!r}")
    check_wait_time(cls)


class HttpUser(User):
    """A user with `self.client`, horde's HTTP/1.1 client (a `HttpSession`)."""

    abstract = True
    network_timeout: ClassVar[float | None] = None
    """Seconds for a whole request; None: the run's request timeout (60 s by default)."""
    connection_timeout: ClassVar[float | None] = None
    """Seconds to connect; None: the request timeout."""
    insecure: ClassVar[bool] = False
    """True: do not verify TLS certificates."""
    ssl_context: ClassVar[ssl.SSLContext | None] = None
    """A TLS client context for every user of the class, e.g. to trust a private CA:
    ``ssl_context = horde.http.tls.make_context(cafile="ca.pem")``. Built once, at class
    definition, and shared (a context per user would cost a CA load per user)."""
    max_redirects: ClassVar[int] = 10

    client: HttpSession
    client_class: ClassVar[type[HttpSession]] = HttpSession
    """The client's class. horde.compat sets an interpreted subclass: in the compiled
    build (docs/dev/compiled.md) HttpSession instances take no attributes of their own,
    and a Locust client carries `request_event` and `user`."""

    def __init__(self, environment: UserEnvironment) -> None:
        super().__init__(environment)
        timeout = self.network_timeout
        if timeout is None:
            timeout = environment.request_timeout
        self.client = self.client_class(
            environment.host or self.host,
            environment.record,
            gate=environment.gate,
            timeout=timeout,
            connect_timeout=self.connection_timeout,
            insecure=self.insecure,
            max_redirects=self.max_redirects,
            ssl_context=self.ssl_context,
            # --local-ips; environments outside a horde run (library use) may lack it.
            local_addresses=getattr(environment, "local_addresses", None),
        )

    async def _horde_close(self) -> None:
        await self.client.aclose()


class FastHttpUser(HttpUser):
    """The same as `HttpUser` (horde has one fast client); kept so Locust scripts read as-is."""

    abstract = True
