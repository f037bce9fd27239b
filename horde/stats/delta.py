"""What a producer hands over once per report interval: `StatsDelta`.

Plain frozen dataclasses; a delta is a value, never mutated after
`RequestStats.take_delta` builds it. The wire layer converts it to its own
Struct and back.

Invariants:

* `hist_idx`/`hist_cnt` and `ttfb_idx`/`ttfb_cnt` are 1-D numpy int64 arrays
  of equal length, indices ascending and unique, counts > 0 (the non-empty
  buckets of the `horde.stats.histogram` layout);
* `sum(hist_cnt) == requests`; `sum(ttfb_cnt)` is the number of requests that
  received at least one response byte (ttfb_us > 0), whose sum is `ttfb_sum_us`;
* `min_us`/`max_us`/`sum_us` are exact (clamped to [0, MAX_US]);
* an endpoint appears only if it has at least one request.

The array-carrying class compares by identity (numpy arrays have no single
truth value); compare `as_tuple()` results instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from horde.stats.histogram import IntArray

__all__ = ["EndpointDelta", "ErrorDelta", "ExceptionDelta", "StatsDelta"]


def _empty() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False, slots=True)
class EndpointDelta:
    """Requests to one (method, name) during one interval."""

    method: str
    name: str
    requests: int
    failures: int
    bytes: int
    min_us: int
    max_us: int
    sum_us: int
    hist_idx: IntArray
    hist_cnt: IntArray
    ttfb_sum_us: int = 0
    ttfb_idx: IntArray = field(default_factory=_empty)
    ttfb_cnt: IntArray = field(default_factory=_empty)

    def as_tuple(self) -> tuple[object, ...]:
        """All fields with arrays as lists: comparable and printable."""
        return (
            self.method, self.name, self.requests, self.failures, self.bytes,
            self.min_us, self.max_us, self.sum_us,
            self.hist_idx.tolist(), self.hist_cnt.tolist(),
            self.ttfb_sum_us, self.ttfb_idx.tolist(), self.ttfb_cnt.tolist(),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ErrorDelta:
    """`count` failures of (method, name) with the same error string."""

    method: str
    name: str
    error: str
    count: int


@dataclass(frozen=True, slots=True)
class ExceptionDelta:
    """`count` task exceptions at `where` with the same "Type: message"."""

    where: str
    error: str
    traceback: str
    count: int


@dataclass(frozen=True, slots=True)
class StatsDelta:
    """Everything recorded by one producer since its previous delta."""

    endpoints: tuple[EndpointDelta, ...] = ()
    errors: tuple[ErrorDelta, ...] = ()
    exceptions: tuple[ExceptionDelta, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.endpoints or self.errors or self.exceptions)

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints)
