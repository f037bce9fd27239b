"""An HTTP/1.1 server on 127.0.0.1 that notes each connection's peer address.

For tests of where connections come from (`--local-ips`): it answers every
request head with ``200 ok`` on a kept-alive connection, counts requests, and
records the source address of each connection it accepts. It runs on its own
event loop in a thread, so it serves whatever loop the client uses (or none).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

__all__ = ["PeerServer"]


class PeerServer:
    """HTTP/1.1 on 127.0.0.1 that answers every GET with 200 and notes each connection's peer."""

    def __init__(self) -> None:
        self.peers: list[str] = []
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.append(writer.get_extra_info("peername")[0])
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> PeerServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
