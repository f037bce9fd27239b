"""A worker's end of the channel: one DEALER socket connected to the master.

The DEALER's routing id is the worker id, so the master sees who is talking;
ZeroMQ reconnects by itself when the master restarts or a link comes back.

Invariants:

* `recv` returns only well-formed messages the master may send; anything
  else is dropped, counted and logged at a bounded rate, never raised;
* `send` never blocks and never raises for the master's sake: False means
  "not sent" (no master connected: ``IMMEDIATE`` keeps the socket from
  queueing while there is none; or the queue is full). The caller decides
  whether to keep the data (e.g. merge an unsent stats delta into the next);
* `reconnect` drops the socket and everything queued in it and connects a
  fresh one: what a worker does after deciding its master is gone, so no
  stale message reaches the next master. A `recv` waiting meanwhile carries
  on with the new socket;
* a master that does not accept this worker's secret (its ZAP handler said
  no, one side has no secret, or it broke off the secure handshake
  `HANDSHAKE_FAILURES` times in a row without one success) is told apart
  from silence through the socket's monitor: `recv` raises `HordeError`
  saying so, and the worker ends instead of waiting for a master that will
  never take it;
* `master_gone` becomes True when an established connection to the master
  drops (horde.net.peers: the transport decides, not the event loop), and
  ``on_master_gone`` is called then, from a watcher thread, even while the
  event loop is blocked; both reset with `reconnect`. The same thread reads
  the monitor for the handshake events above (one monitor per socket).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import zmq
import zmq.asyncio

from horde.errors import HordeError, ProtocolError, UsageError
from horde.net.droplog import DropLog
from horde.net.keys import CurveKeys
from horde.net.peers import ConnectionWatch
from horde.net.sockets import (
    DEFAULT_HWM,
    DEFAULT_PORT,
    apply_common,
    apply_curve_client,
    drain_into,
    sent_now,
    tcp_endpoint,
)
from horde.net.zap import MONITOR_EVENTS, handshake_failure
from horde.wire import MAX_BUNDLE_BYTES, MasterBound, WorkerBound, decode_from_master, encode

__all__ = ["WorkerChannel", "MAX_FRAME_FROM_MASTER"]

log = logging.getLogger("horde.net.worker")

MAX_FRAME_FROM_MASTER = MAX_BUNDLE_BYTES + 4 * 1024 * 1024
"""The test-file bundle is the largest message; the margin covers paths and hashes."""

HANDSHAKE_FAILURES = 3
"""Secure handshakes broken off by the master, in a row, that mean "another secret"."""


class WorkerChannel:
    """``async with WorkerChannel("w1", "127.0.0.1", 5557) as ch: ch.send(hello)``."""

    def __init__(
        self,
        worker_id: str,
        master_host: str = "127.0.0.1",
        master_port: int = DEFAULT_PORT,
        *,
        curve: CurveKeys | None = None,
        hwm: int = DEFAULT_HWM,
        max_frame: int = MAX_FRAME_FROM_MASTER,
        on_master_gone: Callable[[], None] | None = None,
    ) -> None:
        if not worker_id or not worker_id.isprintable() or len(worker_id.encode()) > 240:
            raise UsageError(f"worker id {worker_id!r} must be 1-240 bytes of printable text")
        if master_port <= 0:
            raise UsageError(f"master port must be > 0, not {master_port}")
        self.worker_id = worker_id
        self.endpoint = tcp_endpoint(master_host, master_port)
        self._host = master_host
        self._curve = curve
        self._hwm = hwm
        self._max_frame = max_frame
        self._ctx: zmq.asyncio.Context | None = None
        self._sock: zmq.asyncio.Socket | None = None
        self._drops = DropLog(log, f"worker {worker_id} channel")
        self._refusal: asyncio.Future[str] | None = None
        self._on_master_gone = on_master_gone
        self._gone = threading.Event()
        self._watcher: ConnectionWatch | None = None
        self._broken_off = 0

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Connect (ZeroMQ connects in the background; the master need not be up yet)."""
        if self._sock is not None:
            return
        if self._ctx is None:
            self._ctx = zmq.asyncio.Context()
        sock = self._ctx.socket(zmq.DEALER)
        try:
            apply_common(sock, host=self._host, hwm=self._hwm, max_frame=self._max_frame)
            # The worker id plus a tag of this connection: the master binds the id
            # to the first connection that said Hello with it (horde.net.master).
            sock.setsockopt(zmq.ROUTING_ID, self.worker_id.encode() + b"\0"
                            + secrets.token_hex(4).encode())
            sock.setsockopt(zmq.IMMEDIATE, 1)
            if self._curve is not None:
                apply_curve_client(sock, self._curve)
            if self._refusal is None:
                self._refusal = asyncio.get_running_loop().create_future()
            self._gone.clear()
            self._broken_off = 0
            loop = asyncio.get_running_loop()

            def on_event(kind: int, value: int) -> None:  # from the watcher thread
                loop.call_soon_threadsafe(self._handshake_event, kind, value)

            self._watcher = ConnectionWatch(sock, self._transport_dropped,
                                            events=MONITOR_EVENTS, on_event=on_event)
            sock.connect(self.endpoint)
        except zmq.ZMQError as exc:
            self._stop_watch()
            sock.close(linger=0)
            raise UsageError(
                f"cannot connect to the master at {self.endpoint}: {exc.strerror}"
            ) from exc
        except BaseException:
            self._stop_watch()
            sock.close(linger=0)
            raise
        self._sock = sock

    async def reconnect(self) -> None:
        """Discard the socket and anything queued in it; connect afresh."""
        self._close_socket()
        await self.start()

    def _close_socket(self) -> None:
        self._stop_watch()  # before the socket closes (horde.net.peers)
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close(linger=0)

    # --- is the master there? (horde.net.peers) --------------------------------

    def _transport_dropped(self) -> None:  # called from the watcher thread
        self._gone.set()
        if self._on_master_gone is not None:
            self._on_master_gone()

    def _stop_watch(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    @property
    def master_gone(self) -> bool:
        """The connection to the master dropped since the last (re)connect."""
        return self._gone.is_set()

    @property
    def master_connected(self) -> bool:
        return self._watcher is not None and self._watcher.connected

    def has_queued(self) -> bool:
        """Whether messages from the master wait to be read."""
        if self._sock is None:
            return False
        # `get`, never `getsockopt`: reading EVENTS takes the socket's edge-
        # triggered wake-up, and only zmq.asyncio's own `get` hands it on to a
        # pending recv (`getsockopt` is bound to the plain socket's method). With
        # `getsockopt`, a worker whose loop lagged long enough to ask this never
        # read from its master again: no Stop, no Quit (issue 8).
        return bool(int(self._sock.get(zmq.EVENTS)) & zmq.POLLIN)

    @property
    def refusal(self) -> str | None:
        """Why the master does not accept this worker's secret, once that is known."""
        fut = self._refusal
        return fut.result() if fut is not None and fut.done() and not fut.cancelled() else None

    def _refused(self, why: str) -> None:
        if self._refusal is not None and not self._refusal.done():
            self._refusal.set_result(why)

    def _handshake_event(self, kind: int, value: int) -> None:
        """One monitor event, in the loop: tell a refused secret apart from silence."""
        curve = self._curve is not None
        where = f"the master at {self.endpoint}"
        if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._broken_off = 0
        elif kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL and curve:
            # The master closed the connection inside the handshake: it
            # could not open our greeting, sealed for another master key.
            self._broken_off += 1
            if self._broken_off >= HANDSHAKE_FAILURES:
                self._refused(self._wrong_secret(
                    f"{where} broke off the secure handshake {self._broken_off} times: "
                    # A master without a secret closes as soon as it reads our
                    # mechanism; under load that close can come before its own
                    # greeting says NULL, so both causes look alike here.
                    "it holds another secret, or it runs without a secret (--insecure), "
                    "or it is not a horde master"))
        else:
            why = handshake_failure(kind, value, curve=curve)
            if why is not None:
                self._refused(self._explain(where, kind, why))

    def _wrong_secret(self, text: str) -> str:
        if self._curve is not None and not self._curve.from_secret:
            return text.replace("another secret", "another CURVE key pair (--curve-keys)")
        return text + "; give this worker the master's secret (HORDE_SECRET or --secret-file)"

    def _explain(self, where: str, kind: int, why: str) -> str:
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            if self._curve is not None and not self._curve.from_secret:
                return f"{where} did not accept this worker's CURVE key (--curve-keys)"
            return self._wrong_secret(f"{where} did not accept this worker's secret")
        if self._curve is None:
            return (f"{where} requires a secret and this worker runs --insecure: give it "
                    "the master's secret (HORDE_SECRET or --secret-file)")
        return (f"{where} runs without a secret (--insecure): this worker runs no scripts "
                "from a master that cannot prove who it is (start it with --insecure to "
                "allow that)")

    @property
    def dropped(self) -> int:
        return self._drops.dropped

    def close(self) -> None:
        """Close at once (linger 0). Idempotent."""
        self._close_socket()
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.destroy(linger=0)

    async def __aenter__(self) -> WorkerChannel:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- messages --------------------------------------------------------------

    def _socket(self) -> zmq.asyncio.Socket:
        if self._sock is None:
            raise HordeError("the worker channel is closed or not started")
        return self._sock

    def send(self, msg: MasterBound) -> bool:
        """Queue ``msg`` for the master; False if it cannot be (never blocks)."""
        fut = self._socket().send(encode(msg), flags=zmq.DONTWAIT)
        return sent_now(fut)

    async def recv(self) -> WorkerBound:
        """The next well-formed message from the master."""
        while True:
            sock = self._socket()
            try:
                frames = await self._recv_or_refusal(sock)
            except asyncio.CancelledError:
                # `reconnect` closing the socket cancels its pending recv; that
                # is not a cancellation of our caller, so carry on with the new one.
                task = asyncio.current_task()
                if self._sock is not sock and self._sock is not None and task is not None:
                    if task.cancelling() == 0:
                        continue
                raise
            except zmq.ZMQError as exc:
                raise HordeError(f"the worker channel failed: {exc.strerror}") from exc
            msg = self._parse(frames)
            if msg is not None:
                return msg

    async def recv_many(self, limit: int = 1_000) -> list[WorkerBound]:
        """Wait for one well-formed message, then take every one already queued.

        One message per wake-up is not enough for a worker whose loop lags:
        with a master heartbeat every second and loop turns longer than that,
        the queue only grew, and a Stop waited behind a minute of heartbeats
        while the users went on (issue 8).
        """
        batch = [await self.recv()]
        sock = self._sock
        if sock is None:
            return batch
        plain: zmq.Socket[bytes] = zmq.Socket.shadow(sock.underlying)
        return drain_into(batch, plain, self._parse, limit, "worker")

    def _parse(self, frames: list[bytes]) -> WorkerBound | None:
        """The message in `frames`, or None when they were a probe or dropped (and logged)."""
        if frames == [b""]:
            return None  # the master probing whether this connection lives
        if len(frames) != 1:
            self._drops.drop("master", f"{len(frames)} frames, expected 1")
            return None
        try:
            return decode_from_master(frames[0])
        except ProtocolError as exc:
            self._drops.drop("master", str(exc))
            return None

    async def _recv_or_refusal(self, sock: zmq.asyncio.Socket) -> list[bytes]:
        """The next frames on ``sock``; HordeError as soon as the master refused us."""
        refusal = self._refusal
        if refusal is None:
            return await sock.recv_multipart()
        if refusal.done():
            raise HordeError(refusal.result())
        receiving: asyncio.Future[list[bytes]] = asyncio.ensure_future(sock.recv_multipart())
        waiting: set[asyncio.Future[Any]] = {receiving, refusal}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            receiving.cancel()
            raise
        if not receiving.done():
            receiving.cancel()
            raise HordeError(refusal.result())
        return receiving.result()
