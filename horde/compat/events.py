"""Locust's event set on top of horde's per-run `Events`.

`LocustEvents` is the `events` object a Locust script imports from the
`locust` namespace, and it is also the run's `Events` (horde.cli hands it to
the runner), so a listener added at any time — at import, inside an `init`
handler, from a task — is called, and `fire()` works from script code.

Differences from horde's hooks, each for a Locust habit:

* every hook hands listeners the Locust-shaped `Environment`
  (horde.compat.env) as `environment=`, whatever object the runtime passed
  (the first one it passes binds the Environment to the run's controller);
* `request` listeners get Locust's arguments: `context` (a dict),
  `exception` as an exception object (None on success), `response`, `url`,
  `start_time`; the runtime's `notify` (a request already recorded) is
  translated, while `fire` from script code also records the request in
  horde's statistics (Locust's statistics are themselves a request listener).

Invariant: a hook never swallows a listener's exception; the runtime decides
(as for horde's own hooks).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from horde.events import EventHook, Events

if TYPE_CHECKING:
    from horde.compat.env import Environment

__all__ = ["LocustEvents", "EnvironmentHook", "RequestHook", "RequestFailure", "LOCUST_HOOKS"]

# Hooks Locust has beyond horde's four (init, test_start, test_stop, request).
LOCUST_HOOKS = (
    "init_command_line_parser", "spawning_complete", "quitting", "quit", "user_error",
    "report_to_master", "worker_report", "worker_connect", "test_stopping", "reset_stats",
    "cpu_warning", "heartbeat_sent", "heartbeat_received", "usage_monitor", "request_failure",
    "request_success",
)


class RequestFailure(Exception):
    """What a `request` listener gets as `exception` for a request horde counted as failed."""


class EnvironmentHook(EventHook):
    """A hook whose listeners always see the Locust-shaped Environment."""

    __slots__ = ("_env",)

    def __init__(self, name: str, env: Environment) -> None:
        super().__init__(name)
        self._env = env

    def _with_env(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        given = kwargs.get("environment")
        if given is not None and given is not self._env:
            self._env.bind(given)
            kwargs["environment"] = self._env
        return kwargs

    def fire(self, **kwargs: Any) -> None:
        super().fire(**self._with_env(kwargs))

    def notify(self, **kwargs: Any) -> None:
        super().notify(**self._with_env(kwargs))


class TestStartHook(EnvironmentHook):
    """`test_start`; also arranges `spawning_complete` for when the ramp is done."""

    __slots__ = ()

    def fire(self, **kwargs: Any) -> None:
        super().fire(**kwargs)
        self._env.watch_spawning()


class RequestHook(EventHook):
    """`events.request`: Locust's arguments for listeners; `fire` records too."""

    __slots__ = ("_env",)

    def __init__(self, env: Environment) -> None:
        super().__init__("request")
        self._env = env

    def notify(self, **kwargs: Any) -> None:
        error = kwargs.get("exception")
        kwargs["exception"] = RequestFailure(error) if isinstance(error, str) else error
        kwargs.setdefault("context", {})
        kwargs.setdefault("response", None)
        kwargs.setdefault("url", None)
        kwargs.setdefault("start_time", time.time() - kwargs.get("response_time", 0) / 1000.0)
        super().notify(**kwargs)

    def fire(self, **kwargs: Any) -> None:
        """A script reports a request of its own client: count it, then tell listeners."""
        exception = kwargs.get("exception")
        error = None
        if exception is not None:
            text = str(exception)
            if isinstance(exception, BaseException):
                name = type(exception).__name__
                error = f"{name}: {text}" if text else name
            else:
                error = text
        latency_ms = kwargs.get("response_time") or 0
        self._env.record_request(
            str(kwargs.get("request_type", "")), str(kwargs.get("name", "")),
            int(float(latency_ms) * 1000), int(kwargs.get("response_length") or 0), error,
        )
        kwargs.setdefault("context", {})
        kwargs.setdefault("response", None)
        kwargs.setdefault("url", None)
        kwargs.setdefault("start_time", time.time() - float(latency_ms) / 1000.0)
        super().notify(**kwargs)


class LocustEvents(Events):
    """The run's hooks, Locust's full set, bound to one Locust-shaped Environment."""

    init_command_line_parser: EventHook
    spawning_complete: EventHook
    quitting: EventHook
    user_error: EventHook
    report_to_master: EventHook
    worker_report: EventHook

    def __init__(self, env: Environment) -> None:
        super().__init__()
        self.environment = env
        """The Environment these hooks hand to listeners (horde.compat.env)."""
        for name in ("init", "test_stop", *LOCUST_HOOKS):
            setattr(self, name, EnvironmentHook(name, env))
        self.test_start = TestStartHook("test_start", env)
        self.request = RequestHook(env)
