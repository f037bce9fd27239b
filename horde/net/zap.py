"""Who may connect to the master: a ZAP handler, and the reading of handshake events.

ZeroMQ asks a ZAP handler (RFC 27) about every peer that completed the CURVE
handshake, with the peer's address and public key. `ZapHandler` admits the
configured worker keys and names every refusal in the log ("refused a
worker from ADDR: wrong secret"), at a bounded rate.

A peer that does not even get that far (it holds another secret, so it
encrypted its greeting to the wrong master key, or it speaks no CURVE at all)
fails inside libzmq, which reports the failure on the socket's monitor but
not the peer's address. `handshake_failure` turns such monitor events into
words, for either side.

Invariants: the handler answers every well-formed request (a peer is never
left waiting), ignores malformed ones, and never raises out of its loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import zmq
import zmq.asyncio
import zmq.utils.z85

from horde.net.droplog import DropLog
from horde.net.keys import CurveKeys

__all__ = ["ZapHandler", "ZAP_ENDPOINT", "handshake_failure", "MONITOR_EVENTS"]

log = logging.getLogger("horde.net.master")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"

MONITOR_EVENTS = (zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
                  | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                  | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
_CRYPTO = zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
_MISMATCH = zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH


def handshake_failure(event: int, value: int, *, curve: bool) -> str | None:
    """What a handshake-failure monitor event means, or None if it is not one we explain."""
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return "wrong secret" if curve else f"refused by the peer (ZAP status {value})"
    if event != zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return None
    if value == _MISMATCH:
        return ("one side uses a secret and the other does not (--insecure)" if curve
                else "the other side uses a secret; this side runs --insecure")
    if value == _CRYPTO:
        return "wrong secret (the secure handshake failed)"
    return None


class ZapHandler:
    """Runs in the master's event loop: ``await h.start(); ...; h.stop()``."""

    def __init__(self, ctx: zmq.asyncio.Context, keys: CurveKeys | None,
                 on_refused: Callable[[str], None] | None = None) -> None:
        """``keys`` None: an open (--insecure) master, which admits every NULL peer.

        Even then the handler is worth having: with ZAP on, libzmq refuses the
        old ZMTP 1.0/2.0 greetings, whose parsing random bytes could reach.
        """
        self._ctx = ctx
        self._keys = keys
        self._allowed = frozenset(zmq.utils.z85.decode(k) for k in keys.allowed_clients) \
            if keys is not None else frozenset()
        self._sock: zmq.asyncio.Socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._log = DropLog(log, "master")
        self._on_refused = on_refused
        self.refused = 0

    def start(self) -> None:
        sock = self._ctx.socket(zmq.REP)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(ZAP_ENDPOINT)
        self._sock = sock
        self._task = asyncio.get_running_loop().create_task(self._serve(), name="master-zap")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    def decide(self, address: str, mechanism: bytes, credentials: list[bytes]) -> bool:
        """Whether to admit; logs the refusal."""
        if self._keys is None:
            return mechanism == b"NULL"
        if mechanism == b"CURVE" and credentials and len(credentials[0]) == 32:
            if self._keys.allow_any_client or credentials[0] in self._allowed:
                return True
        self.refused += 1
        why = ("wrong secret" if self._keys.from_secret
               else "its CURVE key is not among the admitted keys (--curve-keys)")
        self._log.event(f"refused a worker from {address or '?'}: {why}")
        if self._on_refused is not None:
            self._on_refused(address)
        return False

    async def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                frames = await sock.recv_multipart()
            except zmq.ZMQError:  # closed under us
                return
            # version, request id, domain, address, identity, mechanism, credentials...
            if len(frames) < 6 or frames[0] != b"1.0":
                with contextlib.suppress(zmq.ZMQError):  # REP must answer before reading on
                    await sock.send_multipart([b"1.0", b"", b"500", b"bad ZAP request", b"", b""])
                continue
            request_id, address, mechanism = frames[1], frames[3], frames[5]
            try:
                ok = self.decide(address.decode("ascii", "replace"), mechanism, frames[6:])
            except Exception:  # noqa: BLE001 - a peer must never stop the handler
                log.exception("ZAP handler failed; refusing the peer")
                ok = False
            status = [b"200", b"OK"] if ok else [b"400", b"wrong secret"]
            try:
                await sock.send_multipart([b"1.0", request_id, *status, b"", b""])
            except zmq.ZMQError:
                return
