"""Checking what the browser (or a script) sends to the JSON API.

Pure functions: a decoded JSON body in, a frozen request object out, or a
`BadInput` whose message is shown to the person as is. Nothing here touches
the run, so a bad request can never harm the test in progress.

Rules: `users` is an integer >= 0 (not a bool, not a float with a fraction,
at most `MAX_USERS`); `spawn_rate` a finite number > 0; `host` absent, null,
empty or an http(s) URL; `run_time` absent, null, empty, a number of seconds
> 0, or a duration as `horde.plan.duration.parse_duration` reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from horde.errors import UsageError
from horde.plan.duration import parse_duration

__all__ = ["BadInput", "StartRequest", "UpdateRequest", "MAX_USERS", "parse_start", "parse_update"]

MAX_USERS = 100_000_000
"""A typo guard, far above what any fleet runs."""


class BadInput(UsageError):
    """The request body is not what the API accepts; the message says why."""


@dataclass(frozen=True)
class UpdateRequest:
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class StartRequest:
    users: int
    spawn_rate: float
    host: str | None = None
    run_time: float | None = None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object")
    return body


def _users(body: dict[str, Any]) -> int:
    if "users" not in body:
        raise BadInput("missing field 'users'")
    value = body["users"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"'users' must be a whole number, got {value!r}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise BadInput(f"'users' must be a whole number, got {value!r}")
    users = int(value)
    if users < 0:
        raise BadInput(f"'users' must be >= 0, got {users}")
    if users > MAX_USERS:
        raise BadInput(f"'users' must be <= {MAX_USERS}, got {users}")
    return users


def _spawn_rate(body: dict[str, Any]) -> float:
    if "spawn_rate" not in body:
        raise BadInput("missing field 'spawn_rate'")
    value = body["spawn_rate"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"'spawn_rate' must be a number, got {value!r}")
    rate = float(value)
    if not math.isfinite(rate) or rate <= 0:
        raise BadInput(f"'spawn_rate' must be a number > 0, got {value!r}")
    return rate


def _host(body: dict[str, Any]) -> str | None:
    value = body.get("host")
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"'host' must be a URL such as http://127.0.0.1:8080, got {value!r}")
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"'host' must be an http:// or https:// URL, got {value!r}")
    return value


def _run_time(body: dict[str, Any]) -> float | None:
    value = body.get("run_time")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        seconds = parse_duration(value)
    except UsageError as exc:
        raise BadInput(f"'run_time': {exc}") from exc
    if seconds <= 0:
        raise BadInput(f"'run_time' must be longer than 0 s, got {value!r}")
    return seconds


def parse_update(body: Any) -> UpdateRequest:
    """Validate the body of POST /api/update."""
    obj = _object(body)
    return UpdateRequest(users=_users(obj), spawn_rate=_spawn_rate(obj))


def parse_start(body: Any) -> StartRequest:
    """Validate the body of POST /api/start."""
    obj = _object(body)
    return StartRequest(
        users=_users(obj), spawn_rate=_spawn_rate(obj), host=_host(obj), run_time=_run_time(obj)
    )
