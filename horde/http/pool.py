"""Keep-alive connection reuse for one user: idle connections per origin.

Pool decisions are synchronous (`take`, `give_back`); the I/O that follows
(connecting when `take` found nothing) is the caller's. One pool belongs to
one `HttpSession`, i.e. one simulated user, so users never share connections:
each user costs the server one connection, as a real client would.

Invariants:

* only connections that are `reusable` (open, idle, last response allowed
  keep-alive, nothing unexpected received) are kept;
* a connection found closed when taken (the server closed it while idle) is
  dropped silently and never counted as a failure: nothing was sent on it;
* at most `max_idle` idle connections per origin are kept (a user that ran
  many requests at once with asyncio.gather does not hoard sockets).
"""

from __future__ import annotations

from .connection import Connection

__all__ = ["Pool"]


class Pool:
    """Idle keep-alive connections of one session, by origin key."""

    __slots__ = ("_idle", "max_idle")

    def __init__(self, max_idle: int = 8) -> None:
        self._idle: dict[str, list[Connection]] = {}
        self.max_idle = max_idle

    def take(self, key: str) -> Connection | None:
        """An idle, still-open connection to `key`, or None (the caller connects)."""
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable:
                return conn
            conn.close()
        return None

    def give_back(self, key: str, conn: Connection) -> None:
        """Keep `conn` for the next request if it can carry one, else close it."""
        if not conn.reusable:
            conn.close()
            return
        idle = self._idle.get(key)
        if idle is None:
            self._idle[key] = [conn]
        elif len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    def idle_count(self, key: str | None = None) -> int:
        if key is not None:
            return len(self._idle.get(key, ()))
        return sum(len(idle) for idle in self._idle.values())

    def close_all(self) -> None:
        """Close every idle connection (the session is ending)."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
