"""Counting and logging dropped frames without letting a flood fill the log.

A peer sending garbage must neither crash a channel nor drown its log: the
first `burst` drops of each `period` are logged one by one, the rest only
counted, and the count is reported with the next drop logged after the
period. `dropped` counts every drop ever, for tests and health displays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["DropLog"]


class DropLog:
    __slots__ = ("_log", "_what", "_burst", "_period", "_clock", "_window_start",
                 "_in_window", "_suppressed", "dropped")  # fmt: skip

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        burst: int = 5,
        period: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._what = what
        self._burst = burst
        self._period = period
        self._clock = clock
        self._window_start = -float("inf")
        self._in_window = 0
        self._suppressed = 0
        self.dropped = 0

    def drop(self, peer: str, reason: str) -> None:
        self.dropped += 1
        self.event(f"dropped a frame from {peer}: {reason}")

    def event(self, text: str) -> None:
        """Log ``text`` (prefixed with what this log is about) unless over the rate."""
        now = self._clock()
        if now - self._window_start >= self._period:
            self._window_start = now
            self._in_window = 0
        self._in_window += 1
        if self._in_window > self._burst:
            self._suppressed += 1
            return
        extra = ""
        if self._suppressed:
            extra = f" ({self._suppressed} more without a log line before this one)"
            self._suppressed = 0
        self._log.warning("%s: %s%s", self._what, text, extra)
