"""The stop gate: once closed, no new request starts.

One per run. The runtime closes it when stopping begins; the HTTP client reads
`closed` before sending (one attribute load on the hot path) and raises
`StopUser` instead of sending. Requests already on the wire are not affected,
so everything the target answered is still recorded.
"""

from __future__ import annotations

__all__ = ["Gate"]


class Gate:
    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True
