"""Live state to every open page over one WebSocket each, once a second.

`LiveHub` builds the state message once per tick and sends the same text to
every client: the cost is one snapshot per second whatever the number of
pages, and never a message per request. `nudge()` (after a start, stop, ...)
brings the next tick forward so the page reacts at once; nudges coalesce.

Invariants:

* at most one message is built per tick, and ticks are at least
  `MIN_GAP_S` apart even under a storm of nudges;
* a client that cannot take a message within `SEND_TIMEOUT_S` is closed and
  dropped, so one stuck browser never delays the others or grows memory;
* building the message runs in the loop and must not block (it reads the
  controller's in-memory figures only);
* `close()` ends the ticker and closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import WSMsgType, web

__all__ = ["LiveHub", "PUSH_INTERVAL_S", "MIN_GAP_S", "SEND_TIMEOUT_S"]

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 1.0
MIN_GAP_S = 0.2
SEND_TIMEOUT_S = 5.0


class LiveHub:
    def __init__(self, build: Callable[[], str], interval: float = PUSH_INTERVAL_S) -> None:
        self._build = build
        self._interval = interval
        self._clients: set[web.WebSocketResponse] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        """Messages built and sent so far (for tests and diagnostics)."""

    @property
    def clients(self) -> int:
        return len(self._clients)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="web-push")

    def nudge(self) -> None:
        """Send the state soon (coalesced with the regular tick)."""
        self._wake.set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The `/ws` endpoint: send the state at once, then every tick until closed."""
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        try:
            await ws.send_str(self._build())
        except (ConnectionError, RuntimeError):
            return ws
        self._clients.add(ws)
        try:
            # The page never needs to talk; reading keeps the close handshake working.
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._clients.discard(ws)
        return ws

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            started = loop.time()
            if self._clients:
                try:
                    text = self._build()
                except Exception:  # noqa: BLE001 - a view bug must not end the live view
                    log.exception("building the web UI state failed")
                else:
                    await self._broadcast(text)
            # Coalesce nudges: never more than one message per MIN_GAP_S.
            await asyncio.sleep(max(0.0, MIN_GAP_S - (loop.time() - started)))

    async def _broadcast(self, text: str) -> None:
        clients = list(self._clients)
        results = await asyncio.gather(
            *(asyncio.wait_for(ws.send_str(text), SEND_TIMEOUT_S) for ws in clients),
            return_exceptions=True,
        )
        self.sent += 1
        for ws, result in zip(clients, results, strict=True):
            if isinstance(result, BaseException):
                self._clients.discard(ws)
                with contextlib.suppress(Exception):
                    await ws.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for ws in list(self._clients):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutting down")
        self._clients.clear()
