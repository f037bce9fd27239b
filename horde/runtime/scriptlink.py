"""What a test script's compatibility layer adds to a master or a worker.

Locust scripts talk across the fleet: `runner.send_message` and
`register_message`, `report_to_master` / `worker_report`, and their own
command-line options read on the workers as `environment.parsed_options`.
The runtime carries that traffic without knowing what it means: a role
(`MasterRunner`, `WorkerRuntime`) holds one `ScriptLink` in ``script_link``,
set by horde.compat when a script is bound to the role, and calls it at the
points named in the Protocol. With no link, a script message is dropped
(logged at debug level) and nothing else changes.

Invariants:

* the runtime never decodes a script's data: it is msgpack bytes whose size
  the wire types bound (`horde.wire.messages`), decoded by the link when a
  script's handler needs it;
* a link's calls return at once: handlers run elsewhere (horde.compat runs
  them in greenlets of their own), so a script never blocks a receive loop;
* one worker cannot flood its master with script messages: `ScriptInbox`
  hears only workers that have joined (proven the master's files), lets
  `MESSAGE_BURST` through, then `MESSAGE_RATE` a second per worker, and
  drops (and counts, and logs at a bounded rate) the rest; a worker holds
  what its scripts' `init` sends until its FilesAck has gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from horde.net.droplog import DropLog
from horde.net.ratelimit import PeerRates
from horde.wire import ScriptOption

__all__ = ["ScriptLink", "ScriptInbox", "MESSAGE_RATE", "MESSAGE_BURST"]

log = logging.getLogger(__name__)

MESSAGE_RATE = 50.0
"""Script messages a second one worker may send its master once its burst is spent."""
MESSAGE_BURST = 500.0


class ScriptLink(Protocol):
    """The calls a role makes into the script layer (horde.compat implements it)."""

    def options(self) -> Mapping[str, ScriptOption]:
        """Master: the script's own options, handed to each worker with its `Start`."""

    def apply_options(self, options: Mapping[str, ScriptOption]) -> None:
        """Worker: the master's values of the script's options, before test_start fires."""

    def report_extra(self) -> bytes:
        """Worker: the script's data for the report being built (msgpack; b"" for none)."""

    def worker_report(self, worker_id: str, extra: bytes) -> None:
        """Master: a worker's report arrived, with the script data it carried (maybe b"")."""

    def message(self, kind: str, data: bytes, node_id: str) -> None:
        """Either side: a script message arrived; hand it on without blocking."""


class ScriptInbox:
    """The master's door for workers' script messages: a rate per worker, then the link."""

    __slots__ = ("_rates", "_drops")

    def __init__(self, *, rate: float = MESSAGE_RATE, burst: float = MESSAGE_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = PeerRates(rate, burst, clock=clock)
        self._drops = DropLog(log, "master")

    @property
    def dropped(self) -> int:
        """Script messages dropped so far (over a worker's rate, or nobody to take them)."""
        return self._drops.dropped

    def received(self, link: ScriptLink | None, worker_id: str, kind: str, data: bytes, *,
                 joined: bool = True) -> None:
        """Hand a worker's message to `link`, unless over its rate, or it has not joined."""
        if not joined:
            self._drops.drop(repr(worker_id), f"script message {kind!r} before the worker "
                             "joined (proved the master's files)")
            return
        if not self._rates.allow(worker_id):
            self._drops.drop(repr(worker_id), f"script message {kind!r} over the "
                             f"{MESSAGE_RATE:.0f}/s a worker may send")
            return
        if link is None:
            self._drops.drop(repr(worker_id), f"script message {kind!r}, and the test "
                             "script takes none")
            return
        link.message(kind, data, worker_id)
