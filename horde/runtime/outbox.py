"""A worker's statistics reports on their way to the master.

Invariants:

* the reports of one test are numbered 0, 1, 2, ... (`seq`) in the order
  they are made; `begin` starts a test's numbering;
* a report leaves the queue only once the channel took it, oldest first, so
  the master merges them in order; a report that could not be sent (no master
  connected) is sent before the next one;
* at most `MAX_PENDING_REPORTS` wait (the oldest goes first beyond that);
  `begin` keeps only the waiting reports of its own test (a repeated Start),
  and the master drops reports of another test anyway.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import msgspec

from horde.stats import StatsDelta
from horde.wire import StatsReport, delta_to_wire

__all__ = ["MAX_PENDING_REPORTS", "ReportOutbox"]

MAX_PENDING_REPORTS = 300


class ReportOutbox:
    def __init__(self) -> None:
        self._pending: deque[StatsReport] = deque(maxlen=MAX_PENDING_REPORTS)
        self.seq = 0
        """The number the next report of this test gets."""

    def begin(self, test_id: str) -> None:
        self.seq = 0
        self._pending = deque((r for r in self._pending if r.test_id == test_id),
                              maxlen=MAX_PENDING_REPORTS)

    def add(self, delta: StatsDelta, test_id: str, extra: bytes = b"") -> None:
        report = delta_to_wire(delta, test_id=test_id, seq=self.seq)
        if extra:
            report = msgspec.structs.replace(report, extra=extra)
        self.seq += 1
        self._pending.append(report)

    def flush(self, send: Callable[[StatsReport], bool]) -> None:
        """Send what waits, oldest first, until `send` says it could not."""
        pending = self._pending
        while pending:
            if not send(pending[0]):
                return
            pending.popleft()
