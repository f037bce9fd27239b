"""Misbehaving targets on 127.0.0.1, written with raw sockets.

Each `RawServer` accepts connections in a daemon thread and treats every one
the same way (its `mode`):

* ``reset``   -- reads the request, then closes with RST (SO_LINGER 0);
* ``garbage`` -- answers bytes that are not HTTP;
* ``close``   -- reads the request and closes without a word;
* ``stall``   -- reads the request and never answers (until the server closes);
* ``ok``      -- answers ``200 ok`` and remembers each request line (`lines`).

Loopback only, and bounded: `close()` ends the thread and every connection.
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

__all__ = ["RawServer"]

_MODES = ("reset", "garbage", "close", "stall", "ok")


class RawServer:
    def __init__(self, mode: str) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode {mode!r} not in {_MODES}")
        self.mode = mode
        self.lines: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._done = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(1.0)
        try:
            while not self._done.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                if self.mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    return
                if self.mode == "garbage":
                    conn.sendall(b"\x00\x01 this is not http\r\n\r\n")
                    conn.close()
                    return
                if self.mode == "close":
                    conn.close()
                    return
                if self.mode == "stall":
                    self._done.wait()
                    return
                self.lines.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._done.set()
        self._sock.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass
        self._thread.join(timeout=2)

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
