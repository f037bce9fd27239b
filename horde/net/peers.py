"""Is the peer there? Transport-level liveness, decided outside the event loop.

A load generator's event loop can lag for seconds (CPU starvation, a task
that blocks, a GC pause) while its process is perfectly alive. Silence at the
application level therefore means "slow"; only the transport says "gone".
ZeroMQ's ZMTP heartbeats (``HEARTBEAT_IVL``/``_TIMEOUT``/``_TTL``, set in
`horde.net.sockets`) are sent and answered by libzmq's own I/O thread, which
needs no GIL and keeps running while Python is busy; a process that is dead
or stopped (``kill -STOP``) does not answer, and its connection is closed
after ``HEARTBEAT_TIMEOUT``. A killed process's connection closes at once
(the kernel resets it). Measured with libzmq 4.3.5: ``kill -9`` is seen in
well under a second, ``kill -STOP`` after about 4 s, and a peer whose Python
loop is blocked for 8 s by CPU-bound code is never seen as gone.

How each side hears of it:

* the master's ROUTER (``ROUTER_MANDATORY``) refuses to queue a message for
  a routing id that has no connection (``EHOSTUNREACH``): `delivery` turns a
  send into "sent", "full" (the peer is slow: its queue is at the high-water
  mark) or "gone". (``ROUTER_NOTIFY`` would push the same news, but it is a
  draft API, not built into the libzmq wheels pyzmq ships.)
* a worker's DEALER has one connection; `ConnectionWatch` reads the socket's
  monitor in a small thread and calls ``on_gone`` (from that thread) when an
  established connection drops. The callback runs even while the worker's
  event loop is blocked, so it can close the users' gate at once.

Invariants of `ConnectionWatch`:

* ``on_gone`` is called at most once per established connection, only after
  the handshake with the peer succeeded (a master that is not up yet is not
  "gone");
* `connected` is True between a successful handshake and the next drop;
* `stop` ends the thread before the socket or context is closed; the thread
  never touches the watched socket itself.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import zmq
from zmq.utils.monitor import parse_monitor_message

__all__ = ["Delivery", "delivery", "ConnectionWatch"]

log = logging.getLogger("horde.net.peers")

Delivery = Literal["sent", "full", "gone"]
"""What became of a non-blocking send: queued, refused because the peer's
queue is full (slow), or refused because the peer has no connection (gone)."""

_POLL_MS = 100
_EVENTS = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_MONITOR_STOPPED
_GONE_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENOTSOCK, zmq.ETERM})


def delivery(fut: Awaitable[object]) -> Delivery:
    """Classify the future of a ``DONTWAIT`` send on a zmq.asyncio socket.

    Such a send completes at once. ``EHOSTUNREACH`` (a ROUTER with
    ``ROUTER_MANDATORY`` has no connection under that id) is "gone";
    ``EAGAIN`` (high-water mark reached, or no connection on a socket with
    ``IMMEDIATE``) is "full". Anything that is not a zmq error is raised.
    """
    if not isinstance(fut, asyncio.Future):  # pragma: no cover - zmq.asyncio returns one
        raise TypeError("delivery needs the future of a zmq.asyncio send")
    if not fut.done():  # pragma: no cover - pyzmq finishes DONTWAIT sends at once
        fut.cancel()
        return "full"
    exc = fut.exception()
    if exc is None:
        return "sent"
    if isinstance(exc, zmq.ZMQError):
        return "gone" if exc.errno in _GONE_ERRNOS else "full"
    raise exc


class ConnectionWatch:
    """Watch one connecting socket's monitor from a thread; report drops.

    ``watch = ConnectionWatch(sock, on_gone); ...; watch.stop()`` — `stop`
    must be called before the socket or its context is closed.
    """

    _ids = itertools.count()

    def __init__(self, sock: zmq.Socket[Any], on_gone: Callable[[], None], *,
                 events: int = 0,
                 on_event: Callable[[int, int], None] | None = None) -> None:
        """``events``/``on_event``: more monitor events, passed on as (event, value)
        from the thread (libzmq allows one monitor per socket, so whoever else
        needs its events, e.g. handshake failures, gets them here)."""
        self._on_gone = on_gone
        self._on_event = on_event
        self._stopping = threading.Event()
        self._stop_called = False
        self._connected = threading.Event()
        self.drops = 0
        """Established connections that dropped since the watch began."""
        self._addr = f"inproc://horde-watch-{id(self):x}-{next(self._ids)}"
        sock.monitor(self._addr, _EVENTS | events)
        # The PAIR that reads the monitor is made here, on the caller's thread,
        # from a plain (non-asyncio) view of the same context, and connected
        # before any event can be missed; from then on only the thread uses it.
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.shadow(sock.context.underlying)
        self._pair: zmq.Socket[bytes] = ctx.socket(zmq.PAIR)
        self._pair.setsockopt(zmq.LINGER, 0)
        self._pair.connect(self._addr)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="horde-conn-watch", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _run(self) -> None:
        pair = self._pair
        try:
            while not self._stopping.is_set():
                if not pair.poll(_POLL_MS):
                    continue
                parsed = parse_monitor_message(pair.recv_multipart())
                event = parsed["event"]
                if self._on_event is not None and event != zmq.EVENT_MONITOR_STOPPED:
                    try:
                        self._on_event(int(event), int(parsed["value"]))
                    except Exception:  # a callback bug must not end the watch
                        log.exception("connection watch event callback failed")
                if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    self._connected.set()
                elif event == zmq.EVENT_DISCONNECTED and self._connected.is_set():
                    self._connected.clear()
                    self.drops += 1
                    try:
                        self._on_gone()
                    except Exception:  # a callback bug must not end the watch
                        log.exception("connection watch callback failed")
                elif event == zmq.EVENT_MONITOR_STOPPED:
                    return
        except zmq.ZMQError:
            return  # the context is going away
        finally:
            pair.close(linger=0)

    def stop(self) -> None:
        """End the thread; idempotent. Call before closing the watched socket.

        The monitor is disabled first, while the thread still reads it:
        libzmq's last monitor event (MONITOR_STOPPED) is a blocking send that
        would wait forever for a reader that has gone.
        """
        if self._stop_called:
            return
        self._stop_called = True
        if self._thread.is_alive():
            try:
                self._sock.disable_monitor()
            except zmq.ZMQError:
                pass  # the socket is closed already
        self._stopping.set()  # in case MONITOR_STOPPED never came
        self._thread.join(timeout=2.0)
