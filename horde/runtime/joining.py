"""How a worker joins a master: version, identity and files, proven before any user.

`Admission` is the master's side of the handshake (docs/distributed.md,
"Joining"): ``Hello`` → ``Refuse`` or ``Welcome`` (+ ``FilesBundle``) →
``FilesAck`` → ready. It keeps no state of its own beyond the master's
files: who is where lives in the `Fleet`.

Invariants:

* a worker becomes ``ready`` (and gets users, via ``on_joined``) only after
  proving, by sha256, that it runs the master's files: its ``Hello.files_sha``
  equals the master's, or its ``FilesAck`` equals the shipped bundle;
* a ``Hello`` whose ``worker_id`` differs from the routing id it came with, of
  another protocol or horde version, with differing files, or under an id a
  live worker of another process holds, is refused in words naming the cause;
* a worker saying Hello again (it restarted or reconnected) starts afresh:
  ``on_rejoin`` lets the master forget a stop it was waiting for and move its
  users to the others until it is ready again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from horde._version import __version__
from horde.net import MasterChannel
from horde.runtime.fleet import Fleet, WorkerRecord
from horde.wire import (
    PROTOCOL_VERSION,
    FilesAck,
    FilesBundle,
    Hello,
    Refuse,
    Welcome,
    differing_files,
)

__all__ = ["Admission"]

log = logging.getLogger("horde.runtime.master")


class Admission:
    def __init__(self, channel: MasterChannel, fleet: Fleet, bundle: FilesBundle, *,
                 on_joined: Callable[[WorkerRecord], None],
                 on_rejoin: Callable[[str, bool], None]) -> None:
        self._channel = channel
        self._fleet = fleet
        self._bundle = bundle
        self._files_sha = {f.path: f.sha256 for f in bundle.files}
        self._on_joined = on_joined
        self._on_rejoin = on_rejoin

    def refuse(self, wid: str, reason: str) -> None:
        log.warning("refused worker %s: %s", wid, reason)
        self._channel.send(wid, Refuse(reason))

    def _why_not(self, wid: str, msg: Hello) -> str | None:
        if msg.worker_id != wid:
            return f"its Hello names worker {msg.worker_id!r} but it connected as {wid!r}"
        if msg.protocol != PROTOCOL_VERSION or msg.horde_version != __version__:
            return (f"version mismatch: the worker runs horde {msg.horde_version} "
                    f"(protocol {msg.protocol}), the master horde {__version__} "
                    f"(protocol {PROTOCOL_VERSION}); install the same version on both")
        if msg.files_sha is not None:
            differ = differing_files(self._files_sha, msg.files_sha)
            if differ:
                return ("its own test files (-f) differ from the master's: " + ", ".join(differ)
                        + "; start the worker without -f to run the master's files")
        known = self._fleet.get(wid)
        if known is not None and known.state in ("joining", "ready", "running") \
                and (known.host, known.pid) != (msg.host, msg.pid):
            return f"worker id {wid!r} is already in use by another worker"
        return None

    def hello(self, wid: str, msg: Hello, now: float) -> None:
        reason = self._why_not(wid, msg)
        if reason is not None:
            self.refuse(wid, reason)
            return
        known = self._fleet.get(wid)
        was_in_test = known is not None and known.test_id is not None
        record = self._fleet.add(wid, msg.host, msg.pid, now, msg.capacity)
        self._channel.send(wid, Welcome(master_version=__version__))
        self._on_rejoin(wid, was_in_test)
        if msg.files_sha is not None:
            self._files_ok(record)
        else:
            self._channel.send(wid, self._bundle)

    def files_ack(self, record: WorkerRecord, msg: FilesAck) -> None:
        if record.state != "joining":
            return
        differ = differing_files(self._files_sha, msg.files_sha)
        if differ:
            self.refuse(record.id, "the files it installed differ from the master's: "
                                   + ", ".join(differ))
            record.state = "left"
            return
        self._files_ok(record)

    def _files_ok(self, record: WorkerRecord) -> None:
        record.state = "ready"
        log.info("worker %s (%s, pid %d) joined", record.id, record.host, record.pid)
        self._on_joined(record)
