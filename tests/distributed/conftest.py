from tests.distributed.fleet_procs import fleet  # noqa: F401
from tests.support.fixtures import plain_target  # noqa: F401
