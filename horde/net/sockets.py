"""Socket options and endpoints shared by both ends of a channel.

Why these options (a load generator must never block on, or keep pressing
against, a peer that went away):

* ``LINGER 0``: closing never waits for unsent messages to a dead peer;
* high-water marks: a slow or dead peer makes sends fail fast (the channel
  uses non-blocking sends and reports "not sent") instead of growing memory;
* ``MAXMSGSIZE``: a peer cannot make us buffer an arbitrarily large frame;
* ZMTP heartbeats: a half-open TCP connection (a cut link, a killed host) is
  noticed by ZeroMQ in seconds and the DEALER reconnects on its own;
* ``IMMEDIATE`` on the worker's DEALER: nothing is queued while there is no
  master, so a reconnecting worker does not deliver stale messages;
* reconnecting: ``CONNECT_TIMEOUT`` 1 s abandons a connect whose SYNs go
  unanswered (a cut link) instead of waiting out the kernel's SYN retries
  (about two minutes), and ``RECONNECT_IVL`` 100 ms doubling up to
  ``RECONNECT_IVL_MAX`` 1 s retries often: a worker is back within about 2 s
  of its link coming back. A thousand workers retrying once a second is a
  trivial load for the master.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import zmq

from horde.errors import HordeError, UsageError
from horde.net.keys import CurveKeys

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_HWM",
    "tcp_endpoint",
    "apply_common",
    "apply_curve_server",
    "apply_curve_client",
    "sent_now",
    "drain_into",
]

DEFAULT_PORT = 5557
DEFAULT_HWM = 10_000
HEARTBEAT_IVL_MS = 1_000
HEARTBEAT_TIMEOUT_MS = 3_000
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 1_000
CONNECT_TIMEOUT_MS = 1_000


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host.strip("[]")), ipaddress.IPv6Address)
    except ValueError:
        return False


def tcp_endpoint(host: str, port: int | str) -> str:
    """``tcp://host:port`` with IPv6 literals bracketed; port ``0`` means "any free port"."""
    if isinstance(port, int) and not 0 <= port <= 65535:
        raise UsageError(f"port {port} is outside 0..65535")
    shown_port = "*" if port == 0 else str(port)
    if _is_ipv6(host):
        return f"tcp://[{host.strip('[]')}]:{shown_port}"
    return f"tcp://{host}:{shown_port}"


def apply_common(sock: zmq.Socket[Any], *, host: str, hwm: int, max_frame: int) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.RCVHWM, hwm)
    sock.setsockopt(zmq.MAXMSGSIZE, max_frame)
    sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL_MS)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
    sock.setsockopt(zmq.CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS)
    if _is_ipv6(host):
        sock.setsockopt(zmq.IPV6, 1)


def apply_curve_server(sock: zmq.Socket[Any], keys: CurveKeys, zap_domain: bytes) -> None:
    sock.setsockopt(zmq.ZAP_DOMAIN, zap_domain)
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)


def apply_curve_client(sock: zmq.Socket[Any], keys: CurveKeys) -> None:
    if keys.server_public is None:
        raise UsageError("a worker using CURVE needs the master's public key")
    sock.setsockopt(zmq.CURVE_SERVERKEY, keys.server_public)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)


def sent_now(fut: Awaitable[object]) -> bool:
    """Whether a non-blocking send on a zmq.asyncio socket went out.

    Such a send completes at once; its exception (EHOSTUNREACH: no such peer,
    EAGAIN: queue full) is a peer problem, reported as False, never raised.
    """
    if not isinstance(fut, asyncio.Future):  # pragma: no cover - zmq.asyncio returns one
        raise TypeError("sent_now needs the future of a zmq.asyncio send")
    if not fut.done():  # pragma: no cover - pyzmq finishes DONTWAIT sends at once
        fut.cancel()
        return False
    exc = fut.exception()
    if exc is None:
        return True
    if isinstance(exc, zmq.ZMQError):
        return False
    raise exc


T = TypeVar("T")


def drain_into(batch: list[T], plain: zmq.Socket[bytes], parse: Callable[[list[bytes]], T | None],
               limit: int, side: str) -> list[T]:
    """Append to `batch` every message already queued on `plain`, up to `limit` in all.

    `plain` is a plain (not zmq.asyncio) view of the socket, so no future is
    made per frame; `parse` returns None for frames to drop. HordeError names
    `side` ("master", "worker") when the socket fails.
    """
    while len(batch) < limit:
        try:
            frames = plain.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            break
        except zmq.ZMQError as exc:
            raise HordeError(f"the {side} channel failed: {exc.strerror}") from exc
        parsed = parse(frames)
        if parsed is not None:
            batch.append(parsed)
    return batch
