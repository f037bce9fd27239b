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
  on with the new socket.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

import zmq
import zmq.asyncio

from horde.errors import HordeError, ProtocolError, UsageError
from horde.net.droplog import DropLog
from horde.net.keys import CurveKeys
from horde.net.sockets import (
    DEFAULT_HWM,
    DEFAULT_PORT,
    apply_common,
    apply_curve_client,
    sent_now,
    tcp_endpoint,
)
from horde.wire import MAX_BUNDLE_BYTES, MasterBound, WorkerBound, decode_from_master, encode

__all__ = ["WorkerChannel", "MAX_FRAME_FROM_MASTER"]

log = logging.getLogger("horde.net.worker")

MAX_FRAME_FROM_MASTER = MAX_BUNDLE_BYTES + 4 * 1024 * 1024
"""The test-file bundle is the largest message; the margin covers paths and hashes."""


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
    ) -> None:
        if not worker_id or not worker_id.isprintable() or len(worker_id.encode()) > 255:
            raise UsageError(f"worker id {worker_id!r} must be 1-255 bytes of printable text")
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
            sock.setsockopt(zmq.ROUTING_ID, self.worker_id.encode())
            sock.setsockopt(zmq.IMMEDIATE, 1)
            if self._curve is not None:
                apply_curve_client(sock, self._curve)
            sock.connect(self.endpoint)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            raise UsageError(
                f"cannot connect to the master at {self.endpoint}: {exc.strerror}"
            ) from exc
        except BaseException:
            sock.close(linger=0)
            raise
        self._sock = sock

    async def reconnect(self) -> None:
        """Discard the socket and anything queued in it; connect afresh."""
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        await self.start()

    @property
    def dropped(self) -> int:
        return self._drops.dropped

    def close(self) -> None:
        """Close at once (linger 0). Idempotent."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close(linger=0)
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
                frames = await sock.recv_multipart()
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
            if len(frames) != 1:
                self._drops.drop("master", f"{len(frames)} frames, expected 1")
                continue
            try:
                return decode_from_master(frames[0])
            except ProtocolError as exc:
                self._drops.drop("master", str(exc))
