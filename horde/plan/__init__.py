"""Load plans as pure functions: durations, executors, ramps, splitting users over workers.

Layer 0: stdlib only, no clock, no I/O. See docs/dev/contracts.md and
docs/dev/design.md for this package's place. Executors (one per file, see
`horde.plan.executor`): `SteadyUsers`, `RampingStages`, `ShapePlan`.
"""

from horde.plan.duration import format_duration, parse_duration
from horde.plan.executor import Executor, Target, class_targets
from horde.plan.ramp import RampPlan, users_at
from horde.plan.shape import CommonOptions, LoadTestShape, ShapePlan
from horde.plan.split import (
    ClassSpec,
    Placement,
    class_counts,
    split_capped,
    split_counts,
    split_rate,
    split_users,
)
from horde.plan.stages import RampingStages, Stage, parse_stages
from horde.plan.steady import SteadyUsers

__all__ = [
    "parse_duration",
    "format_duration",
    "ClassSpec",
    "class_counts",
    "split_counts",
    "split_capped",
    "Placement",
    "split_users",
    "split_rate",
    "users_at",
    "RampPlan",
    "Target",
    "Executor",
    "class_targets",
    "SteadyUsers",
    "Stage",
    "RampingStages",
    "parse_stages",
    "LoadTestShape",
    "ShapePlan",
    "CommonOptions",
]
