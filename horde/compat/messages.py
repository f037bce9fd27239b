"""A Locust script's traffic across the fleet: messages, report data, its options.

`ScriptBridge` is the `horde.runtime.scriptlink.ScriptLink` of one
Environment: the Environment sets it on the master or worker it is bound to,
and the runtime calls it when a script message, a worker's report or a
test's start arrives. The script side is Locust's:

* `runner.register_message(kind, handler, concurrent=False)`; a message of
  that kind calls ``handler(environment=..., msg=...)`` with ``msg.type``,
  ``msg.data`` and ``msg.node_id`` (the worker's id);
* handlers never run on the receive path: each runs in a greenlet of its own
  (so it may sleep, request or wait like a user's task). Handlers registered
  without ``concurrent`` run one at a time, in arrival order (Locust runs them
  in its receive loop); ``concurrent=True`` handlers run at once, side by side;
* `report_to_master(client_id, data)` fires on a worker as each report is
  built; the keys its listeners add travel with the report and the master
  fires `worker_report(client_id, data)` with them;
* the script's own options (`init_command_line_parser`) as the master has
  them reach the workers' `environment.parsed_options` before their
  test_start.

Invariants (a worker's peer may be hostile; the runtime already bounds each
message's bytes and each worker's message rate):

* at most `MAX_QUEUED` messages (and `MAX_QUEUED_BYTES` of data) wait for
  the one-at-a-time handlers, and at most `MAX_CONCURRENT` concurrent
  handlers run; beyond, a message is dropped and logged at a bounded rate;
* data is decoded only when its handler is about to run, so what waits is
  bytes, bounded above;
* a handler's or listener's exception is logged (as Locust does), never
  raised into the runtime.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from horde.bridge import SyncRunner
from horde.errors import HordeError
from horde.net.droplog import DropLog
from horde.wire import ScriptOption
from horde.wire.messages import MAX_REPORT_EXTRA_BYTES
from horde.wire.script import pack, unpack

if TYPE_CHECKING:
    from horde.compat.env import Environment

__all__ = ["ScriptBridge", "Message", "MAX_QUEUED", "MAX_QUEUED_BYTES", "MAX_CONCURRENT"]

log = logging.getLogger(__name__)

MAX_QUEUED = 1_000
MAX_QUEUED_BYTES = 64 * 1024 * 1024
MAX_CONCURRENT = 100

Handler = Callable[..., Any]


class Message:
    """What a message handler gets as `msg`: `.type`, `.data`, `.node_id`."""

    __slots__ = ("type", "data", "node_id")

    def __init__(self, msg_type: str, data: Any, node_id: str | None) -> None:
        self.type, self.data, self.node_id = msg_type, data, node_id

    def __repr__(self) -> str:
        return f"<Message {self.type}:{self.node_id}>"


def _plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_plain(v) and not isinstance(v, list | tuple) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


class ScriptBridge:
    """One Environment's script handlers and listeners, as the runtime's ScriptLink."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.handlers: dict[str, tuple[Handler, bool]] = {}
        self.option_names: tuple[str, ...] = ()
        """The script's own options (set when `init_command_line_parser` has run)."""
        self._queue: deque[tuple[Handler, str, bytes, str]] = deque()
        self._queued_bytes = 0
        self._serial: asyncio.Task[None] | None = None
        self._concurrent: set[asyncio.Task[None]] = set()
        self._drops = DropLog(log, "script messages")
        self._failures = DropLog(log, "script")

    @property
    def dropped(self) -> int:
        return self._drops.dropped

    # --- the script's side ------------------------------------------------------------

    def register(self, kind: str, handler: Handler, concurrent: bool = False) -> None:
        if kind in self.handlers:
            raise Exception(f"Tried to register listener method for {kind}, "
                            "but it already had a listener!")
        self.handlers[kind] = (handler, concurrent)

    # --- ScriptLink: what the runtime calls ---------------------------------------------

    def options(self) -> Mapping[str, ScriptOption]:
        parsed = self.environment.parsed_options
        out: dict[str, ScriptOption] = {}
        for name in self.option_names:
            value = getattr(parsed, name, None)
            if _plain(value):
                out[name] = list(value) if isinstance(value, tuple) else value
            else:
                log.warning("option %s (%s) is not a plain value; the workers keep their own",
                            name, type(value).__name__)
        return out

    def apply_options(self, options: Mapping[str, ScriptOption]) -> None:
        env = self.environment
        if env.parsed_options is None:
            env.parsed_options = argparse.Namespace()
        for name, value in options.items():
            setattr(env.parsed_options, name, value)

    def report_extra(self) -> bytes:
        hook = self.environment.events.report_to_master
        if not hook:
            return b""
        data: dict[str, Any] = {}
        try:
            hook.fire(client_id=self._own_id(), data=data)
        except Exception as exc:  # noqa: BLE001 - Locust logs a listener's error and goes on
            self._failures.event(f"a report_to_master listener raised {type(exc).__name__}: "
                                 f"{exc}")
        if not data:
            return b""
        try:
            return pack(data, MAX_REPORT_EXTRA_BYTES, "report_to_master data")
        except HordeError as exc:
            self._failures.event(f"report data left out: {exc}")
            return b""

    def worker_report(self, worker_id: str, extra: bytes) -> None:
        hook = self.environment.events.worker_report
        if not hook:
            return
        data: Any = {}
        if extra:
            try:
                data = unpack(extra)
            except HordeError as exc:
                self._drops.drop(repr(worker_id), f"report data: {exc}")
                return
            if not isinstance(data, dict):
                self._drops.drop(repr(worker_id), "report data that is not a map")
                return
        try:
            hook.fire(client_id=worker_id, data=data)
        except Exception as exc:  # noqa: BLE001 - Locust logs a listener's error and goes on
            self._failures.event(f"a worker_report listener raised {type(exc).__name__}: "
                                 f"{exc}")

    def message(self, kind: str, data: bytes, node_id: str) -> None:
        entry = self.handlers.get(kind)
        if entry is None:
            self._drops.drop(repr(node_id), f"message {kind!r}, which no handler is "
                             "registered for")
            return
        handler, concurrent = entry
        if concurrent:
            if len(self._concurrent) >= MAX_CONCURRENT:
                self._drops.drop(repr(node_id), f"message {kind!r}: {MAX_CONCURRENT} "
                                 "concurrent handlers are running already")
                return
            task = asyncio.get_running_loop().create_task(
                self._run(handler, kind, data, node_id))
            self._concurrent.add(task)
            task.add_done_callback(self._concurrent.discard)
            return
        if len(self._queue) >= MAX_QUEUED or self._queued_bytes + len(data) > MAX_QUEUED_BYTES:
            self._drops.drop(repr(node_id), f"message {kind!r}: {len(self._queue)} messages "
                             "wait for their handlers already")
            return
        self._queue.append((handler, kind, data, node_id))
        self._queued_bytes += len(data)
        if self._serial is None or self._serial.done():
            self._serial = asyncio.get_running_loop().create_task(self._drain())

    # --- running handlers -------------------------------------------------------------

    async def _drain(self) -> None:
        while self._queue:
            handler, kind, data, node_id = self._queue.popleft()
            self._queued_bytes -= len(data)
            await self._run(handler, kind, data, node_id)

    async def _run(self, handler: Handler, kind: str, data: bytes, node_id: str) -> None:
        try:
            value = unpack(data) if data else None
        except HordeError as exc:
            self._drops.drop(repr(node_id), f"message {kind!r}: {exc}")
            return
        runner = SyncRunner()
        try:
            await runner.call(handler, environment=self.environment,
                              msg=Message(kind, value, node_id))
        except Exception as exc:  # noqa: BLE001 - logged as Locust does; the next one runs
            self._failures.event(f"the handler of message {kind!r} raised "
                                 f"{type(exc).__name__}: {exc}")
        finally:
            runner.close()

    def _own_id(self) -> str:
        return str(getattr(self.environment.controller, "worker_id", "local"))
