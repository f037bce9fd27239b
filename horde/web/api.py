"""The JSON API under `/api/`: read the state, start, change, stop, reset.

Every handler talks to the `Controller` protocol only. Input is checked by
`horde.web.inputs` before anything reaches the controller, so a bad request
(a 400 with `{"error": "..."}`) leaves the running test exactly as it was.
Errors horde reports in plain words (`HordeError`) become 400 too; a 409 says
the action does not fit the run's state (e.g. `update` with no test running).

After each action the live view is nudged, so open pages see the change at
once instead of at the next tick.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from horde.errors import HordeError
from horde.runtime.control import Controller
from horde.stats.checks import CheckWatch
from horde.web.inputs import BadInput, parse_start, parse_update
from horde.web.payload import history_payload, state_payload

__all__ = ["Api", "encode_json", "error_response"]

log = logging.getLogger(__name__)

RUNNING = ("spawning", "running")


def encode_json(data: Any) -> str:
    """Compact JSON text (msgspec is several times faster than json for the state)."""
    return msgspec.json.encode(data).decode()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=encode_json(data), status=status, content_type="application/json")


def error_response(message: str, status: int = 400) -> web.Response:
    return json_response({"error": message}, status=status)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    # Decoded here, not by request.text(): an unknown charset (LookupError)
    # or bytes that are not in it (UnicodeDecodeError) are the client's
    # mistake, a 400, never a 500 with a traceback.
    charset = request.charset or "utf-8"
    try:
        text = raw.decode(charset)
    except LookupError:
        raise BadInput(f"the request body's charset {charset!r} is unknown; "
                       "send UTF-8") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"the request body is not valid {charset}: {exc.reason} at byte "
                       f"{exc.start}") from None
    if not text.strip():
        raise BadInput("the request body must be a JSON object (it was empty)")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadInput(f"the request body is not valid JSON: {exc}") from exc


class Api:
    """Handlers bound to one controller; `nudge` is called after every action."""

    def __init__(self, controller: Controller, nudge: Callable[[], None],
                 checks: CheckWatch | None = None,
                 before_reset: Callable[[], None] | None = None) -> None:
        self.controller = controller
        self._nudge = nudge
        self._checks = checks
        self._before_reset = before_reset or (lambda: None)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/state", self.get_state)
        app.router.add_get("/api/history", self.get_history)
        app.router.add_post("/api/start", self.post_start)
        app.router.add_post("/api/update", self.post_update)
        app.router.add_post("/api/stop", self.post_stop)
        app.router.add_post("/api/reset", self.post_reset)

    def state_text(self) -> str:
        return encode_json(state_payload(self.controller, self._checks))

    async def get_state(self, request: web.Request) -> web.Response:
        return web.Response(text=self.state_text(), content_type="application/json")

    async def get_history(self, request: web.Request) -> web.Response:
        ctl = self.controller
        return json_response(history_payload(ctl.snapshot(), ctl.trace, ctl.load_model))

    async def post_start(self, request: web.Request) -> web.Response:
        ctl = self.controller
        model = ctl.load_model
        try:
            wanted = parse_start(await _body(request), model.shape)
        except BadInput as exc:
            return error_response(str(exc))
        if ctl.state == "stopping":
            return error_response("the test is stopping; start again once it has stopped", 409)
        chosen = wanted.model is not None and wanted.model != "shape"
        if ctl.state in RUNNING and chosen and (wanted.model != model.name
                                                or wanted.plan is not None):
            # A running test changes only its user count (POST /api/update does the same).
            return error_response(f"a test following the {model.name!r} model is running: "
                                  "stop it before starting another", 409)
        try:
            if ctl.state not in RUNNING and chosen:
                ctl.choose_plan(wanted.plan)
        except HordeError as exc:
            return error_response(str(exc))
        if ctl.state == "stopped":
            # A new test: its figures must not mix with the previous one's.
            self._before_reset()
            ctl.reset_stats()
        try:
            await ctl.start(wanted.users, wanted.spawn_rate, host=wanted.host,
                            run_time=wanted.run_time)
        except HordeError as exc:
            return error_response(str(exc))
        self._nudge()
        return json_response(self._brief())

    async def post_update(self, request: web.Request) -> web.Response:
        try:
            wanted = parse_update(await _body(request))
        except BadInput as exc:
            return error_response(str(exc))
        if self.controller.state not in RUNNING:
            return error_response(
                f"no test is running (state {self.controller.state}); start one first", 409
            )
        try:
            self.controller.update(wanted.users, wanted.spawn_rate)
        except HordeError as exc:
            return error_response(str(exc))
        self._nudge()
        return json_response(self._brief())

    async def post_stop(self, request: web.Request) -> web.Response:
        self.controller.request_stop()
        # request_stop only schedules the stop; one pass of the loop lets it begin,
        # so the answer is the state the run is really in ("stopping"), not the
        # one it had before the request.
        await asyncio.sleep(0)
        self._nudge()
        return json_response(self._brief())

    async def post_reset(self, request: web.Request) -> web.Response:
        self._before_reset()
        self.controller.reset_stats()
        self._nudge()
        return json_response(self._brief())

    def _brief(self) -> dict[str, Any]:
        ctl = self.controller
        return {"state": ctl.state, "target_users": ctl.target_users,
                "spawn_rate": ctl.spawn_rate, "model": ctl.load_model.name}
