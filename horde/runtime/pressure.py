"""How much a worker can take: its capacity in users, and how fast it may ramp now.

Pure functions of the process's limits and its last health sample; the worker
runtime reports the first in its Hello and feeds the second to its
population's ramp (`Population.pace`).

* capacity: each connected user holds at least one socket, so a process
  holds at most its open-file limit minus `FD_MARGIN` users; beyond that it
  fails (EMFILE) instead of slowing down, so the master never sends more;
* pace: starting users and opening their connections is what costs, so a
  ramp slows while the loop lags past the health limit (in proportion: at
  twice the limit, half the rate; never below `LAGGING_PACE`) and to
  `BUSY_PACE` while CPU is past it, and never stops (a ramp always ends).
  The lag it reads is the second's median probe, not its p99: the p99 of 50
  probes is the second's single worst moment, which one collection or one
  burst of wake-ups sets; a ramp paced on it ran at a quarter of its rate on
  a worker at 50% CPU that kept up (issue 8). The median says whether the
  loop is behind most of the time, which is what more users would worsen.
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
    pace = 1.0
    lag = sample.loop_lag_p50_ms
    if lag > LAG_LIMIT_MS:
        pace = max(LAGGING_PACE, LAG_LIMIT_MS / lag)
    if sample.cpu_percent > CPU_LIMIT_PERCENT:
        pace = min(pace, BUSY_PACE)
    return pace
