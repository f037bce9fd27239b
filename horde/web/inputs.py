"""Checking what the browser (or a script) sends to the JSON API.

Pure functions: a decoded JSON body in, a frozen request object out, or a
`BadInput` whose message is shown to the person as is. Nothing here touches
the run, so a bad request can never harm the test in progress.

Rules: `users` is an integer >= 0 (not a bool, not a float with a fraction,
at most `MAX_USERS`); `spawn_rate` a finite number > 0; `host` absent, null,
empty or an http(s) URL; `run_time` absent, null, empty, a number of seconds
> 0, or a duration as `horde.plan.duration.parse_duration` reads it.

The start body may name a load model (`model`), parsed by
the command line's own parsers and plans (horde.plan), so the web UI and the
flags accept the same text and refuse it with the same sentence:

* ``users``: `users` and `spawn_rate` (``-u``/``-r``);
* ``stages``: `stages`, as ``--stages`` ("30s:100,2m:100,30s:0", or a list);
* ``arrival``: `arrival_rate` (``--arrival-rate``) and/or `arrival_stages`
  (``--arrival-stages``), `users` (``-u``: the most users busy at once) and
  `max_lateness` (``--max-lateness``, default 10 s);
* ``shape``: the script's `LoadTestShape` (the only model when it has one;
  `users`/`spawn_rate` are optional, for a shape with ``use_common_options``).

Without `model` the test follows the run's own plan (the command line's, or
the one the last start chose) with `users` and `spawn_rate`, as before models
existed: a script's client that sends only those keeps working.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from horde.errors import UsageError
from horde.plan.arrival import ArrivalRate, parse_rate, parse_rate_stages
from horde.plan.duration import parse_duration
from horde.plan.executor import Executor
from horde.plan.stages import RampingStages, parse_stages

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
    model: str | None = None
    """"users", "stages", "arrival" or "shape" (horde.runtime.plantrace.MODELS); None:
    the run's own plan."""
    plan: Executor | None = None
    """The plan to run (None: ``users``/``spawn_rate``, or the script's shape)."""


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


def _text_or_list(body: dict[str, Any], key: str) -> str | list[str]:
    value = body.get(key)
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    if value is None or value == "" or value == []:
        raise BadInput(f"missing field {key!r}")
    raise BadInput(f"{key!r} must be text such as \"30s:100,2m:100,30s:0\", got {value!r}")


def _stages_plan(body: dict[str, Any]) -> RampingStages:
    try:
        return RampingStages(parse_stages(_text_or_list(body, "stages")))
    except BadInput:
        raise
    except UsageError as exc:
        raise BadInput(f"'stages': {exc}") from exc


def _given(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _arrival_plan(body: dict[str, Any]) -> ArrivalRate:
    if not (_given(body, "arrival_rate") or _given(body, "arrival_stages")):
        raise BadInput("the open model needs 'arrival_rate' (iterations per second) or "
                       "'arrival_stages'")
    users = _users(body)
    try:
        rate = body.get("arrival_rate")
        if rate is None or (isinstance(rate, str) and not rate.strip()):
            start_rate = 0.0
        elif isinstance(rate, bool) or not isinstance(rate, (int, float, str)):
            raise UsageError(f"must be a number of iterations per second, not {rate!r}")
        else:
            start_rate = parse_rate(rate)
    except UsageError as exc:
        raise BadInput(f"'arrival_rate': {exc}") from exc
    try:
        stages = (parse_rate_stages(_text_or_list(body, "arrival_stages"))
                  if _given(body, "arrival_stages") else ())
    except BadInput:
        raise
    except UsageError as exc:
        raise BadInput(f"'arrival_stages': {exc}") from exc
    lateness = body.get("max_lateness")
    try:
        if lateness is None or (isinstance(lateness, str) and not lateness.strip()):
            max_lateness = 10.0
        elif isinstance(lateness, bool) or not isinstance(lateness, (int, float, str)):
            raise UsageError(f"must be a duration such as \"2s\", not {lateness!r}")
        else:
            max_lateness = parse_duration(lateness)
    except UsageError as exc:
        raise BadInput(f"'max_lateness': {exc}") from exc
    if max_lateness <= 0:
        raise BadInput(f"'max_lateness' must be longer than 0 s, got {lateness!r}")
    try:
        return ArrivalRate(start_rate=start_rate, users=users, stages=stages,
                           max_lateness=max_lateness)
    except UsageError as exc:
        raise BadInput(f"the open model: {exc}") from exc


def _model(body: dict[str, Any], shape: str | None) -> str | None:
    model = body.get("model")
    if model is None:
        return "shape" if shape is not None else None
    if model not in ("users", "stages", "arrival", "shape"):
        raise BadInput(f"'model' must be \"users\", \"stages\", \"arrival\" or \"shape\", "
                       f"got {model!r}")
    if shape is not None and model != "shape":
        raise BadInput(f"the script's load shape {shape} drives every test: leave out "
                       f"'model' (or send \"shape\") instead of {model!r}")
    if shape is None and model == "shape":
        raise BadInput("the script defines no load shape: pick the model \"users\", "
                       "\"stages\" or \"arrival\"")
    return str(model)


def parse_update(body: Any) -> UpdateRequest:
    """Validate the body of POST /api/update."""
    obj = _object(body)
    return UpdateRequest(users=_users(obj), spawn_rate=_spawn_rate(obj))


def parse_start(body: Any, shape: str | None = None) -> StartRequest:
    """Validate the body of POST /api/start; `shape`: the script's load shape, if any."""
    obj = _object(body)
    model = _model(obj, shape)
    host, run_time = _host(obj), _run_time(obj)
    if model in ("users", None):
        return StartRequest(users=_users(obj), spawn_rate=_spawn_rate(obj), host=host,
                            run_time=run_time, model=model)
    if model == "shape":  # -u/-r only matter to a shape with use_common_options
        users = _users(obj) if _given(obj, "users") else 1
        rate = _spawn_rate(obj) if _given(obj, "spawn_rate") else 1.0
        return StartRequest(users=users, spawn_rate=rate, host=host, run_time=run_time,
                            model=model)
    plan: RampingStages | ArrivalRate = (_stages_plan(obj) if model == "stages"
                                         else _arrival_plan(obj))
    users = plan.users if isinstance(plan, ArrivalRate) else 0
    return StartRequest(users=users, spawn_rate=1.0, host=host, run_time=run_time,
                        model=model, plan=plan)
