"""Locust's user-side names that horde's own API lacks or shapes differently.

* `User`, `HttpUser`, `FastHttpUser`: horde's classes whose `environment`
  is the Locust-shaped one (`runner`, `parsed_options`, `stats`, `web_ui`
  next to what horde's users need), whose clients carry `request_event`,
  and whose task errors also fire `user_error`;
* `FastHttpUser.rest` / `rest_`: a JSON request in a `with` block, `.js` on
  the response, assertion errors counted as failures;
* `HttpSession(base_url, request_event, user)`: a second client for a user
  (another host), recorded like its own;
* `run_single_user` (horde.compat.single).

Invariant: a compat user behaves exactly like horde's user of the same kind;
only attribute lookups that horde's environment cannot answer go to the
Locust Environment.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from horde.compat.gevent_shim import sleep as _sleep
from horde.errors import StopUser
from horde.http import HttpSession as _HordeSession
from horde.user import FastHttpUser as _HordeFastHttpUser
from horde.user import HttpUser as _HordeHttpUser
from horde.user import SequentialTaskSet as _HordeSequentialTaskSet
from horde.user import TaskSet as _HordeTaskSet
from horde.user import User as _HordeUser

__all__ = ["User", "HttpUser", "FastHttpUser", "HttpSession", "RestResponseContextManager",
           "UserEnvironmentView", "TaskSet", "SequentialTaskSet"]


class UserEnvironmentView:
    """`self.environment` of a compat user: horde's user slot, then the Locust Environment."""

    __slots__ = ("_slot", "_locust", "_user")

    def __init__(self, slot: Any, user: Any) -> None:
        self._slot = slot
        self._user = user
        self._locust = getattr(getattr(slot, "events", None), "environment", None)

    def __getattr__(self, name: str) -> Any:
        if name == "wait" and getattr(self._locust, "iterations", None) is not None:
            return self._counted_wait
        try:
            return getattr(self._slot, name)
        except AttributeError:
            if self._locust is None:
                raise
            return getattr(self._locust, name)

    def _counted_wait(self, seconds: float) -> Any:
        # The task loops wait once after every task: that is one iteration (-i).
        if self._locust is not None and self._locust.spend_iteration():
            raise StopUser()
        return self._slot.wait(seconds)

    def record_exception(self, where: str, exc: BaseException) -> None:
        self._slot.record_exception(where, exc)
        hook = getattr(self._slot.events, "user_error", None)
        if hook:
            hook.fire(user_instance=self._user, exception=exc, tb=exc.__traceback__)


def _view(user: Any) -> None:
    # As in Locust, `self.host` is the host this user targets (-H wins over the class's).
    user.host = user.environment.host or type(user).host
    user.environment = UserEnvironmentView(user.environment, user)
    client = getattr(user, "client", None)
    if client is not None:
        client.request_event = user.environment.events.request
        client.user = user


class _Waits:
    """Locust's `wait()`: sleep this user's (or TaskSet's) wait time, in the task."""

    def wait(self) -> None:
        _sleep(self.wait_time())  # type: ignore[attr-defined]


class TaskSet(_Waits, _HordeTaskSet):
    pass


class SequentialTaskSet(_Waits, _HordeSequentialTaskSet):
    pass


class User(_Waits, _HordeUser):
    abstract = True

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        _view(self)


class _LocustClient(_HordeSession):
    """horde's client with room for Locust's `request_event` and `user` (an interpreted
    subclass has a __dict__; the compiled HttpSession has none)."""


class HttpUser(_Waits, _HordeHttpUser):
    abstract = True
    client_class = _LocustClient

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        _view(self)


class RestResponseContextManager:
    """The response in a `rest()` block: every Response attribute, plus `.js`."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.js: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)

    def success(self) -> None:
        self._response.success()

    def failure(self, exc: Any) -> None:
        self._response.failure(exc)


def _assertion_text(exc: AssertionError, text: str) -> str:
    if not exc.args:
        return "Assertion failed"
    message = str(exc.args[0])
    if message.endswith(","):
        return f"{message[:-1]}, response was {text[:250]}"
    return message


class FastHttpUser(_Waits, _HordeFastHttpUser):
    abstract = True
    client_class = _LocustClient

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        _view(self)

    @contextmanager
    def rest(self, method: str, url: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Iterator[RestResponseContextManager]:
        """A JSON request whose response has `.js`; an assertion in the block is a failure."""
        sent = {"Content-Type": "application/json", "Accept": "application/json",
                **(headers or {})}
        with self.client.request(method, url, headers=sent, catch_response=True,
                                 **kwargs) as raw:
            resp = RestResponseContextManager(raw)
            if raw.error is not None:
                raw.failure(str(raw.error))
            elif raw.text:
                try:
                    resp.js = raw.json()
                except ValueError as exc:
                    raw.failure(f"Could not parse response as JSON. {raw.text[:250]}, "
                                f"response code {raw.status_code}, error {exc}")
            try:
                yield resp
            except AssertionError as exc:
                raw.failure(_assertion_text(exc, raw.text or ""))
            except Exception as exc:  # noqa: BLE001 - as Locust: the request fails, the task goes on
                last = traceback.extract_tb(exc.__traceback__)[-1:]
                where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
                raw.failure(f"{type(exc).__name__}: {exc}{where}")

    def rest_(self, method: str, url: str, name: str | None = None,
              **kwargs: Any) -> Any:
        """`rest` with `name=`, kept for scripts written against older Locust releases."""
        return self.rest(method, url, name=name, **kwargs)


class HttpSession(_HordeSession):
    """Locust's constructor: `HttpSession(base_url, request_event, user)`."""

    def __init__(self, base_url: str | None, request_event: Any = None, user: Any = None,
                 *args: Any, **kwargs: Any) -> None:
        env = getattr(user, "environment", None)
        record = getattr(env, "record", None)
        if record is None:
            record = _fire_into(request_event)
        super().__init__(base_url, record, gate=getattr(env, "gate", None),
                         timeout=getattr(env, "request_timeout", 60.0))
        self.request_event = request_event
        self.user = user


def _fire_into(hook: Any) -> Any:
    def record(method: str, name: str, latency_us: int, size: int, error: str | None,
               ttfb_us: int) -> None:
        if hook is not None:
            hook.fire(request_type=method, name=name, response_time=latency_us / 1000.0,
                      response_length=size, exception=error)

    return record
