"""`--check` and `--check-abort` on the command line: judge, stop early, pick the exit code.

The parsing and judging are pure (horde.stats.checks); this module wires them
to a run: the once-a-second hook that stops a run whose check failed (it rides
on the runner's existing `on_second` callback, so no runner knows about
checks), the `RunInfo` the reports read, and the exit code.

Exit codes: 3 when a check failed -- it wins over `--exit-code-on-error`
(a failed request), since a CI job asks first whether the service met its
targets; 2 (usage, broken script, unwritable result file) is decided before.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from horde.report.model import RunInfo
from horde.runtime.control import Controller
from horde.runtime.health import HealthSample
from horde.stats.checks import CheckWatch

__all__ = ["CHECK_FAILED_EXIT", "abort_hook", "checks_failed", "chain"]

CHECK_FAILED_EXIT = 3

OnSecond = Callable[[int, HealthSample], None]

_RUNNING = ("spawning", "running")


def checks_failed(info: RunInfo) -> bool:
    return any(not c.ok for c in info.checks)


def abort_hook(watch: CheckWatch, controller: Callable[[], Controller | None],
               console: Console) -> OnSecond | None:
    """The per-second callback of --check-abort (None without it).

    It judges the live snapshot (cumulative since the start, as the final
    verdict will be) and, the first time a check fails with enough requests
    behind it (`horde.stats.checks.abort_min_requests`), says so and asks the
    run to stop: requests in flight are awaited as for any stop.
    """
    if not watch.abort:
        return None

    def on_second(second: int, health: HealthSample) -> None:
        run = controller()
        if run is None or run.state not in _RUNNING:
            return
        failed = watch.tick(run.snapshot(), run.info().started_at)
        if failed is not None:
            console.print(f"horde: check failed: {failed.expr} (now {failed.value_text()}); "
                          "stopping the run (--check-abort)", style="red", markup=False,
                          highlight=False)
            run.request_stop()

    return on_second


def chain(*callbacks: OnSecond | None) -> OnSecond | None:
    """One per-second callback calling each given one in turn (None if none is given)."""
    present = [c for c in callbacks if c is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]

    def on_second(second: int, health: HealthSample) -> None:
        for callback in present:
            callback(second, health)

    return on_second
