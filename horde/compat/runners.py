"""`locust.runners`: Locust's runner classes as adapters over horde's controllers.

A Locust script sees `environment.runner`, checks it with
`isinstance(runner, MasterRunner)`, reads `state`, `user_count`,
`stats.total`, and calls `quit()`, `stop()` or `start(n, rate)`. Each adapter
wraps one horde controller, using only the public surface of
`horde.runtime.control.Controller` (state, target_users, start, update,
request_stop, wait_stopped, snapshot, counts, workers), so the runtime may
change underneath without breaking scripts.

`send_message`/`register_message`: on a local run a message is handed to the
registered handler directly (as Locust's LocalRunner does); between a master
and its workers it travels as a typed wire message, and the receiving side's
handler runs off the receive path (horde.compat.messages).

`quit()`: a local run or a master stops its test and ends the process, in
the web UI's mode too (the runtime's `request_quit`); a worker leaves its
master.

Invariant: an adapter keeps no copy of the run's state; every property reads
the controller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from horde.bridge import await_, in_sync_context
from horde.compat.messages import Message
from horde.errors import UsageError
from horde.wire.messages import MAX_MESSAGE_TO_MASTER_BYTES, MAX_MESSAGE_TO_WORKER_BYTES
from horde.wire.script import pack

if TYPE_CHECKING:
    from horde.compat.env import Environment

__all__ = [
    "Runner", "LocalRunner", "DistributedRunner", "MasterRunner", "WorkerRunner",
    "STATE_INIT", "STATE_SPAWNING", "STATE_RUNNING", "STATE_CLEANUP", "STATE_STOPPING",
    "STATE_STOPPED", "STATE_MISSING", "WorkerNode", "Greenlet",
]

log = logging.getLogger(__name__)

STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED, \
    STATE_MISSING = ("ready", "spawning", "running", "cleanup", "stopping", "stopped", "missing")


def _run_soon(coro: Any) -> None:
    """Start `coro` on the running loop, or wait for it when called from a user's task."""
    if in_sync_context():
        await_(coro)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.create_task(coro)


class Greenlet:
    """`runner.greenlet`: `join()` waits until the test has stopped."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def join(self, timeout: float | None = None) -> None:
        self._runner.wait(timeout)


class Runner:
    """What every Locust runner offers, read from a horde controller."""

    def __init__(self, environment: Environment, controller: Any) -> None:
        self.environment = environment
        self.controller = controller
        self.greenlet = Greenlet(self)
        self.exceptions: dict[int, Any] = {}

    # --- reading ----------------------------------------------------------------

    @property
    def state(self) -> str:
        return str(getattr(self.controller, "state", STATE_INIT))

    @property
    def stats(self) -> Any:
        return self.environment.stats

    @property
    def user_count(self) -> int:
        counts = getattr(self.controller, "counts", None)
        if counts is None:  # a worker: its current test's users
            test = getattr(self, "current_test", None)
            return sum(test.counts().values()) if test is not None else 0
        return sum(counts().values())

    @property
    def user_classes_count(self) -> dict[str, int]:
        return dict(self.controller.counts())

    @property
    def target_user_count(self) -> int:
        return int(getattr(self.controller, "target_users", 0))

    @property
    def spawn_rate(self) -> float:
        return float(getattr(self.controller, "spawn_rate", 1.0))

    @property
    def user_classes(self) -> list[type]:
        return list(getattr(self.controller, "classes", ()))

    @property
    def errors(self) -> dict[str, Any]:
        return self.environment.stats.errors

    # --- steering -----------------------------------------------------------------

    def start(self, user_count: int, spawn_rate: float, wait: bool = False,
              user_classes: Any = None) -> None:
        _run_soon(self.controller.start(user_count, spawn_rate))

    def stop(self) -> None:
        self.controller.request_stop()

    def quit(self) -> None:
        quit_run = getattr(self.controller, "request_quit", None)
        if quit_run is not None:
            quit_run()
        else:
            self.controller.request_stop()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the test has stopped (library use; see horde.compat.env)."""
        self.environment.run_until(self.controller.wait_stopped(), timeout)

    def spawn_users(self, *args: Any, **kwargs: Any) -> None:
        raise UsageError("runner.spawn_users is Locust-internal; use runner.start(n, rate)")

    # --- messages -----------------------------------------------------------------

    @property
    def custom_messages(self) -> dict[str, tuple[Callable[..., Any], bool]]:
        return self.environment.script_bridge.handlers

    def register_message(self, msg_type: str, listener: Callable[..., Any],
                         concurrent: bool = False) -> None:
        self.environment.script_bridge.register(msg_type, listener, concurrent)

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        handler = self.custom_messages.get(msg_type)
        if handler is None:
            log.warning("Unknown message type received: %s", msg_type)
            return
        listener, _ = handler
        listener(environment=self.environment, msg=Message(msg_type, data, "local"))


class LocalRunner(Runner):
    """A run in this process."""

    @property
    def worker_count(self) -> int:
        return 0


class DistributedRunner(Runner):
    """A master or a worker."""


_PRESENT = ("ready", "running", "done")


class WorkerNode:
    """One worker as `master.clients` lists it."""

    def __init__(self, summary: Any) -> None:
        self.id = str(getattr(summary, "worker_id", getattr(summary, "id", "")))
        self.state = str(getattr(summary, "state", ""))
        self.user_count = int(getattr(summary, "users", 0))
        self.cpu_usage = float(getattr(summary, "cpu_percent", 0.0))


class MasterRunner(DistributedRunner):
    @property
    def clients(self) -> dict[str, WorkerNode]:
        """The workers that have joined and are there (not gone, left or missing)."""
        nodes = (WorkerNode(s) for s in self.controller.workers() if s.state in _PRESENT)
        return {n.id: n for n in nodes}

    @property
    def worker_count(self) -> int:
        return len(self.clients)

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """To worker `client_id`, or to every worker that has joined (Locust's broadcast)."""
        payload = pack(data, MAX_MESSAGE_TO_WORKER_BYTES, f"the data of message {msg_type!r}")
        if not self.controller.send_message(msg_type, payload, client_id):
            log.warning("message %r reached no worker%s", msg_type,
                        f" ({client_id!r} is not connected)" if client_id else "")


class WorkerRunner(DistributedRunner):
    current_test: Any = None
    """The runner of the test this worker runs now (horde's LocalRunner), if any."""

    @property
    def worker_count(self) -> int:
        return 0

    @property
    def client_id(self) -> str:
        return str(getattr(self.controller, "worker_id", ""))

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """To the master (`client_id` is ignored, as in Locust)."""
        payload = pack(data, MAX_MESSAGE_TO_MASTER_BYTES, f"the data of message {msg_type!r}")
        if not self.controller.send_message(msg_type, payload):
            log.warning("message %r not sent: no master connected", msg_type)

    def quit(self) -> None:
        """Leave the master: stop this worker's users and end the worker process."""
        self.controller.leave("quit by the test script")
