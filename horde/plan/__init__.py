"""Load plans as pure functions: durations, splitting users and rate over workers, ramps.

Layer 0: stdlib only, no clock, no I/O. See docs/dev/contracts.md and the
shared DESIGN.md for this package's place.
"""

from horde.plan.duration import format_duration, parse_duration
from horde.plan.ramp import RampPlan, users_at
from horde.plan.split import ClassSpec, class_counts, split_counts, split_rate, split_users

__all__ = [
    "parse_duration",
    "format_duration",
    "ClassSpec",
    "class_counts",
    "split_counts",
    "split_users",
    "split_rate",
    "users_at",
    "RampPlan",
]
