"""The master's end of the channel: one ROUTER socket all workers connect to.

Runs in the master's asyncio loop (any loop, uvloop included: zmq.asyncio
waits on the socket's file descriptor with ``add_reader``).

Invariants:

* `recv` returns only well-formed messages a worker may send, with the
  routing id of the worker that sent it (its ``worker_id``, set by the
  worker's DEALER). Everything else (wrong frame count, an id that is not
  text, undecodable or unexpected frames) is dropped, counted in `dropped`
  and logged at a bounded rate; it never raises;
* `send` never blocks and never raises for a peer's sake: it returns False
  when the message cannot be queued (unknown or vanished worker, full
  queue). ``ROUTER_MANDATORY`` makes "unknown worker" an error instead of a
  silent drop, and ``ROUTER_HANDOVER`` lets a worker that reconnects under the
  same id take over its old route;
* with CURVE, a ZAP authenticator in this loop admits only the configured
  client public keys; others never get a connection, so they are never heard;
* zmq errors of our own making (bind failures, use after close) come out as
  `horde.errors` types.

Note that the routing id is chosen by the peer: only CURVE keys prove who a
peer is. The role layer should also check that a `Hello`'s ``worker_id``
matches the routing id it came with.
"""

from __future__ import annotations

import logging
from types import TracebackType

import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator

from horde.errors import HordeError, ProtocolError, UsageError
from horde.net.droplog import DropLog
from horde.net.keys import CurveKeys
from horde.net.sockets import (
    DEFAULT_HWM,
    DEFAULT_PORT,
    apply_common,
    apply_curve_server,
    sent_now,
    tcp_endpoint,
)
from horde.wire import MasterBound, WorkerBound, decode_from_worker, encode

__all__ = ["MasterChannel", "MAX_FRAME_FROM_WORKER"]

log = logging.getLogger("horde.net.master")

MAX_FRAME_FROM_WORKER = 16 * 1024 * 1024
"""Stats reports and handshakes are far smaller; anything bigger is cut by ZeroMQ."""

ZAP_DOMAIN = "horde"


class _AllowedKeys:
    """ZAP credentials callback: accept exactly the configured client keys."""

    def __init__(self, allowed: frozenset[bytes]) -> None:
        self._allowed = allowed

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self._allowed


class MasterChannel:
    """``async with MasterChannel("127.0.0.1", 0) as ch: worker_id, msg = await ch.recv()``."""

    def __init__(
        self,
        host: str = "*",
        port: int = DEFAULT_PORT,
        *,
        curve: CurveKeys | None = None,
        hwm: int = DEFAULT_HWM,
        max_frame: int = MAX_FRAME_FROM_WORKER,
    ) -> None:
        self._host = host
        self._port = port
        self._curve = curve
        self._hwm = hwm
        self._max_frame = max_frame
        self._ctx: zmq.asyncio.Context | None = None
        self._sock: zmq.asyncio.Socket | None = None
        self._drain: zmq.Socket[bytes] | None = None
        self._auth: AsyncioAuthenticator | None = None
        self._drops = DropLog(log, "master channel")
        self.endpoint = ""
        """The bound endpoint, e.g. ``tcp://127.0.0.1:5557`` (after `start`)."""

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Bind. Must run inside the event loop (the authenticator lives there)."""
        if self._sock is not None:
            return
        ctx = zmq.asyncio.Context()
        try:
            if self._curve is not None:
                self._auth = AsyncioAuthenticator(ctx)
                self._auth.start()
                if self._curve.allow_any_client:
                    self._auth.configure_curve(domain=ZAP_DOMAIN, location=zmq.auth.CURVE_ALLOW_ANY)
                else:
                    provider = _AllowedKeys(self._curve.allowed_clients)
                    self._auth.configure_curve_callback(ZAP_DOMAIN, provider)
            sock = ctx.socket(zmq.ROUTER)
            apply_common(sock, host=self._host, hwm=self._hwm, max_frame=self._max_frame)
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
            if self._curve is not None:
                apply_curve_server(sock, self._curve, ZAP_DOMAIN.encode())
            wanted = tcp_endpoint(self._host, self._port)
            try:
                sock.bind(wanted)
            except zmq.ZMQError as exc:
                sock.close(linger=0)
                raise UsageError(f"the master cannot listen on {wanted}: {exc.strerror}") from exc
            last = sock.getsockopt(zmq.LAST_ENDPOINT)
            self.endpoint = last.decode() if isinstance(last, bytes) else str(last)
        except BaseException:
            self._teardown(ctx)
            raise
        self._ctx, self._sock = ctx, sock

    @property
    def port(self) -> int:
        """The bound TCP port (useful after binding port 0)."""
        if not self.endpoint:
            raise HordeError("the master channel is not started")
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def dropped(self) -> int:
        """Frames dropped so far (malformed, unexpected, undeliverable id)."""
        return self._drops.dropped

    def close(self) -> None:
        """Close at once; queued messages are discarded (linger 0). Idempotent."""
        sock, self._sock, self._drain = self._sock, None, None
        if sock is not None:
            sock.close(linger=0)
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            self._teardown(ctx)

    def _teardown(self, ctx: zmq.asyncio.Context) -> None:
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        ctx.destroy(linger=0)

    async def __aenter__(self) -> MasterChannel:
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
            raise HordeError("the master channel is closed or not started")
        return self._sock

    def send(self, worker_id: str, msg: WorkerBound) -> bool:
        """Queue ``msg`` for ``worker_id``; False if it cannot be (never blocks)."""
        sock = self._socket()
        fut = sock.send_multipart([worker_id.encode(), encode(msg)], flags=zmq.DONTWAIT)
        return sent_now(fut)

    async def recv(self) -> tuple[str, MasterBound]:
        """The next well-formed message and the id of the worker that sent it."""
        sock = self._socket()
        while True:
            try:
                frames = await sock.recv_multipart()
            except zmq.ZMQError as exc:
                raise HordeError(f"the master channel failed: {exc.strerror}") from exc
            parsed = self._parse(frames)
            if parsed is not None:
                return parsed

    async def recv_many(self, limit: int = 10_000) -> list[tuple[str, MasterBound]]:
        """Wait for one well-formed message, then take every one already queued.

        With many workers, waking the event loop once per frame costs more
        than handling the frame; a master that calls this and then sleeps a
        few milliseconds handles its fleet in a few dozen wake-ups a second.
        """
        batch = [await self.recv()]
        drain = self._drain
        if drain is None:  # a plain view of the same socket: no future per frame
            drain = self._drain = zmq.Socket.shadow(self._socket().underlying)
        while len(batch) < limit:
            try:
                frames = drain.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            except zmq.ZMQError as exc:
                raise HordeError(f"the master channel failed: {exc.strerror}") from exc
            parsed = self._parse(frames)
            if parsed is not None:
                batch.append(parsed)
        return batch

    def _parse(self, frames: list[bytes]) -> tuple[str, MasterBound] | None:
        """(worker id, message), or None when the frames were dropped (and logged)."""
        if len(frames) != 2:
            self._drops.drop(_peer(frames), f"{len(frames) - 1} payload frames, expected 1")
            return None
        ident, frame = frames
        try:
            worker_id = ident.decode("utf-8")
        except UnicodeDecodeError:
            worker_id = ""
        if not worker_id or not worker_id.isprintable():
            self._drops.drop(_peer(frames), "the peer has no text worker id")
            return None
        try:
            return worker_id, decode_from_worker(frame)
        except ProtocolError as exc:
            self._drops.drop(repr(worker_id), str(exc))
            return None


def _peer(frames: list[bytes]) -> str:
    return repr(frames[0][:64]) if frames else "?"
