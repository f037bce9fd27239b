"""How much a worker can take: its capacity in users, and how fast it may ramp now.

Pure functions of the process's limits and its last health sample; the worker
runtime reports the first in its Hello and feeds the second to its
population's ramp (`Population.pace`).

* capacity: each connected user holds at least one socket, so a process
  holds at most its open-file limit minus `FD_MARGIN` users; beyond that it
  fails (EMFILE) instead of slowing down, so the master never sends more;
* pace: starting users and opening their connections is what costs, so a
  ramp slows to `LAGGING_PACE` of its rate while the loop lags past the
  health limit, to `BUSY_PACE` while only CPU is past it, and never stops
  (a ramp always ends).
"""

from __future__ import annotations

import resource

from horde.runtime.health import CPU_LIMIT_PERCENT, LAG_LIMIT_MS, HealthSample

__all__ = ["FD_MARGIN", "LAGGING_PACE", "BUSY_PACE", "user_capacity", "pace_for"]

FD_MARGIN = 200
"""Open files kept back from users: sockets to the master, logs, /proc reads, the script's own."""
LAGGING_PACE = 0.25
BUSY_PACE = 0.5


def user_capacity(soft_limit: int | None = None) -> int | None:
    """Users this process can hold (None: no limit known)."""
    if soft_limit is None:
        try:
            soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (OSError, ValueError):
            return None
    if soft_limit == resource.RLIM_INFINITY or soft_limit < 0:
        return None
    return max(0, int(soft_limit) - FD_MARGIN)


def pace_for(sample: HealthSample) -> float:
    """The ramp's speed, as a fraction of its spawn rate, after this health sample."""
    if sample.loop_lag_p99_ms > LAG_LIMIT_MS:
        return LAGGING_PACE
    if sample.cpu_percent > CPU_LIMIT_PERCENT:
        return BUSY_PACE
    return 1.0
