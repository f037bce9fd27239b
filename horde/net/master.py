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
  silent drop;
* a worker id belongs to its first connection while that connection lives.
  A worker's routing id is its worker id, a NUL and a tag of the connection
  (`horde.net.worker`), so every connection is its own route in libzmq (no
  ``ROUTER_HANDOVER``: a newcomer never takes a route over). The channel
  binds a worker id to the connection whose `Hello` claimed it first; a
  `Hello` from another connection rebinds it only once the first is gone
  (an empty probe frame to it fails), and any other message from a
  connection not bound to its id is dropped. So nobody can cut a worker
  off or speak for it, and a worker that reconnects is heard again at once;
* one peer cannot flood the master: beyond `PEER_BURST` messages, a peer
  gets `PEER_RATE` a second (a token bucket per routing id, checked before
  decoding); the rest is dropped and counted;
* with CURVE, a ZAP handler in this loop (`horde.net.zap`) admits only the
  configured client public keys and logs every refusal with the peer's
  address; others never get a connection, so they are never heard. Failed
  handshakes (a worker holding another secret, or none) are logged from the
  socket's monitor, at a bounded rate;
* zmq errors of our own making (bind failures, use after close) come out as
  `horde.errors` types.

Note that the routing id is chosen by the peer: only CURVE keys (a fleet
secret) prove that a peer belongs to the fleet. The role layer should also
check that a `Hello`'s ``worker_id`` matches the routing id it came with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from horde.errors import HordeError, ProtocolError, UsageError
from horde.net.droplog import DropLog
from horde.net.keys import CurveKeys
from horde.net.peers import Delivery, delivery
from horde.net.ratelimit import PeerRates
from horde.net.sockets import (
    DEFAULT_HWM,
    DEFAULT_PORT,
    apply_common,
    apply_curve_server,
    drain_into,
    sent_now,
    tcp_endpoint,
)
from horde.net.zap import MONITOR_EVENTS, ZapHandler, handshake_failure
from horde.wire import Hello, MasterBound, WorkerBound, decode_from_worker, encode

__all__ = ["MasterChannel", "MAX_FRAME_FROM_WORKER"]

log = logging.getLogger("horde.net.master")

MAX_FRAME_FROM_WORKER = 16 * 1024 * 1024
"""Stats reports and handshakes are far smaller; anything bigger is cut by ZeroMQ."""

ZAP_DOMAIN = "horde"
PEER_RATE = 500.0
"""Messages a second one peer may send once its burst is spent (a worker sends a few)."""
PEER_BURST = 2_000.0
MAX_WORKER_IDS = 50_000
"""Worker ids bound to a connection at once; Hellos of further ids are dropped."""


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
        self._auth: ZapHandler | None = None
        self._monitor: zmq.asyncio.Socket | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self._drops = DropLog(log, "master channel")
        self._refusals = DropLog(log, "master")
        self._rates = PeerRates(PEER_RATE, PEER_BURST)
        self._routes: dict[str, bytes] = {}  # worker id -> routing id of its connection
        self.failed_handshakes = 0
        """Connections refused inside libzmq's handshake (another secret, or none)."""
        self.endpoint = ""
        """The bound endpoint, e.g. ``tcp://127.0.0.1:5557`` (after `start`)."""

    # --- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Bind. Must run inside the event loop (the authenticator lives there)."""
        if self._sock is not None:
            return
        ctx = zmq.asyncio.Context()
        try:
            self._auth = ZapHandler(ctx, self._curve)
            self._auth.start()
            sock = ctx.socket(zmq.ROUTER)
            apply_common(sock, host=self._host, hwm=self._hwm, max_frame=self._max_frame)
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN.encode())  # see ZapHandler
            if self._curve is not None:
                apply_curve_server(sock, self._curve, ZAP_DOMAIN.encode())
                self._monitor = sock.get_monitor_socket(MONITOR_EVENTS)
                self._monitor_task = asyncio.get_running_loop().create_task(
                    self._watch_handshakes(self._monitor), name="master-monitor")
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
        """Frames dropped so far (malformed, unexpected, undeliverable id, over the rate)."""
        return self._drops.dropped

    @property
    def refused(self) -> int:
        """Peers refused: by the ZAP handler, or in a failed handshake."""
        return self.failed_handshakes + (self._auth.refused if self._auth is not None else 0)

    async def _watch_handshakes(self, monitor: zmq.asyncio.Socket) -> None:
        assert self._curve is not None
        while True:
            try:
                event = parse_monitor_message(await monitor.recv_multipart())
            except (zmq.ZMQError, ValueError, IndexError):
                return  # closed with the socket
            why = handshake_failure(event["event"], event["value"], curve=True)
            if why is None or event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                continue  # a ZAP refusal is logged, with the address, by the handler
            self.failed_handshakes += 1
            if self._curve.from_secret:
                why = why.replace("wrong secret (the secure handshake failed)",
                                  "wrong secret: it holds another one")
            self._refusals.event(f"refused a worker connecting to {self.endpoint}: {why} "
                                 "(libzmq does not tell its address)")

    def close(self) -> None:
        """Close at once; queued messages are discarded (linger 0). Idempotent."""
        sock, self._sock, self._drain = self._sock, None, None
        if self._monitor_task is not None:
            self._monitor_task.cancel()
            self._monitor_task = None
        if sock is not None:
            if self._monitor is not None:
                with contextlib.suppress(zmq.ZMQError):
                    sock.disable_monitor()
                self._monitor.close(linger=0)
                self._monitor = None
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
        route = self._routes.get(worker_id)
        if route is None:
            return False
        fut = sock.send_multipart([route, encode(msg)], flags=zmq.DONTWAIT)
        return sent_now(fut)

    def _alive(self, route: bytes) -> bool:
        """Whether the connection ``route`` still exists (an empty probe frame can be queued)."""
        try:
            self._plain().send_multipart([route, b""], flags=zmq.DONTWAIT)
        except zmq.Again:
            return True  # exists, its queue is full
        except zmq.ZMQError:
            return False  # EHOSTUNREACH: ROUTER_MANDATORY says no such peer
        return True

    def _plain(self) -> zmq.Socket[bytes]:
        if self._drain is None:  # a plain view of the same socket: no future per frame
            self._drain = zmq.Socket.shadow(self._socket().underlying)
        return self._drain

    def _bind(self, worker_id: str, route: bytes, msg: MasterBound) -> bool:
        """Whether ``msg`` from connection ``route`` may speak for ``worker_id``."""
        bound = self._routes.get(worker_id)
        if bound == route:
            return True
        if not isinstance(msg, Hello):
            reason = "its connection has not said Hello" if bound is None else \
                "another connection holds this worker id"
            self._drops.drop(repr(worker_id), reason)
            return False
        if bound is not None and self._alive(bound):
            self._drops.drop(repr(worker_id), "a Hello for a worker id a live connection "
                                              "holds (first connection keeps it)")
            return False
        if bound is None and len(self._routes) >= MAX_WORKER_IDS:
            self._forget_dead()
            if len(self._routes) >= MAX_WORKER_IDS:
                self._drops.drop(repr(worker_id), f"over {MAX_WORKER_IDS} worker ids")
                return False
        self._routes[worker_id] = route
        return True

    def _forget_dead(self) -> None:
        for worker_id, route in list(self._routes.items()):
            if not self._alive(route):
                del self._routes[worker_id]

    def deliver(self, worker_id: str, msg: WorkerBound) -> Delivery:
        """Like `send`, but says why not: "full" (slow peer) or "gone" (no connection).

        The transport's verdict (horde.net.peers): a worker whose event loop
        lags stays connected, because libzmq's I/O thread answers heartbeats.
        """
        sock = self._socket()
        route = self._routes.get(worker_id)
        if route is None:
            return "gone"
        return delivery(sock.send_multipart([route, encode(msg)], flags=zmq.DONTWAIT))

    def has_queued(self) -> bool:
        """Whether frames wait to be read (judge silence only after reading them)."""
        # `get`, not `getsockopt`, which would take the recv's wake-up: see
        # WorkerChannel.has_queued.
        events = self._socket().get(zmq.EVENTS)
        return bool(int(events) & zmq.POLLIN)

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
        return drain_into([await self.recv()], self._plain(), self._parse, limit, "master")

    def _parse(self, frames: list[bytes]) -> tuple[str, MasterBound] | None:
        """(worker id, message), or None when the frames were dropped (and logged)."""
        if len(frames) != 2:
            self._drops.drop(_peer(frames), f"{len(frames) - 1} payload frames, expected 1")
            return None
        ident, frame = frames
        if not self._rates.allow(ident):
            self._drops.drop(_peer(frames), "over its message rate")
            return None
        name = ident.rpartition(b"\0")[0] or ident
        try:
            worker_id = name.decode("utf-8")
        except UnicodeDecodeError:
            worker_id = ""
        if not worker_id or not worker_id.isprintable():
            self._drops.drop(_peer(frames), "the peer has no text worker id")
            return None
        try:
            msg = decode_from_worker(frame)
        except ProtocolError as exc:
            self._drops.drop(repr(worker_id), str(exc))
            return None
        return (worker_id, msg) if self._bind(worker_id, ident, msg) else None


def _peer(frames: list[bytes]) -> str:
    return repr(frames[0][:64]) if frames else "?"
