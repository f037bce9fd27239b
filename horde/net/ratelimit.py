"""A token bucket per peer: how many messages one peer may send.

Invariants:

* a peer may send ``burst`` messages at once, then ``rate`` a second;
* the table holds at most ``max_peers`` peers: when full, peers idle long
  enough to have a full bucket again are forgotten first (forgetting them
  changes nothing), then the oldest; so many peers cost bounded memory;
* no clock of its own: ``clock`` is injected (tests use a fake one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

__all__ = ["PeerRates"]


class PeerRates:
    __slots__ = ("_rate", "_burst", "_clock", "_max", "_peers")

    def __init__(self, rate: float, burst: float, *, max_peers: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1 or max_peers < 1:
            raise ValueError("rate > 0, burst >= 1 and max_peers >= 1 are required")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._max = max_peers
        self._peers: dict[Hashable, tuple[float, float]] = {}  # peer -> (tokens, at)

    def __len__(self) -> int:
        return len(self._peers)

    def allow(self, peer: Hashable) -> bool:
        """Take one token of ``peer``'s bucket; False when it has none left."""
        now = self._clock()
        entry = self._peers.get(peer)
        if entry is None:
            if len(self._peers) >= self._max:
                self._evict(now)
            tokens = self._burst
        else:
            tokens = min(self._burst, entry[0] + (now - entry[1]) * self._rate)
        if tokens < 1.0:
            self._peers[peer] = (tokens, now)
            return False
        self._peers[peer] = (tokens - 1.0, now)
        return True

    def _evict(self, now: float) -> None:
        refill = self._burst / self._rate
        idle = [p for p, (_, at) in self._peers.items() if now - at >= refill]
        for peer in idle:
            del self._peers[peer]
        while len(self._peers) >= self._max:
            del self._peers[next(iter(self._peers))]
