"""Suite-wide: which horde build runs, and which tests start real processes.

`make test` runs the suite twice (docs/dev/compiled.md): once with
HORDE_BUILD=compiled, everything; once with HORDE_BUILD=pure, only the tests
not marked `process`. The variable reaches every horde process a test starts,
since they inherit the environment.

`process` is added here, at collection, to every test that is marked `slow`,
uses a browser, or lives in a module that starts horde processes through the
shared helpers (tests/integration/horde_process.py,
tests/distributed/fleet_procs.py): those exercise process plumbing far more
than the compiled hot path, and cost most of the suite's time.

`make test` runs the suite in pytest-xdist workers (`-n 3 --dist loadfile
--no-loadscope-reorder`): it waits on real processes far more than it
computes, so three test processes overlap the waits on two cores. Each test
module goes to one worker whole, in order (modules such as
test_dist_garbage.py share one master among their tests, and the last test
ends it). The longest modules are handed out first (`_longest_first`), so that
none is left to run alone at the end.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

import horde
from horde.buildinfo import BuildError, require_selected

_PROCESS_HELPERS = frozenset({"tests.integration.horde_process", "tests.distributed.fleet_procs"})


# No timed assertions (docs/dev: how we test): Hypothesis's default deadline
# (200 ms an example) and its too_slow health check are clocks, and fail on a
# machine that is busy (the suite runs in parallel workers, beside other work).
settings.register_profile("horde", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("horde")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "process: starts real horde processes or a browser (set in tests/conftest.py)")
    try:
        require_selected(horde.BUILD)
    except BuildError as exc:
        pytest.exit(f"tests: {exc}", returncode=2)


def pytest_report_header(config: pytest.Config) -> str:
    return f"horde build: {horde.BUILD.describe()} (HORDE_BUILD={horde.BUILD.requested})"


def _starts_processes(module: ModuleType | None) -> bool:
    if module is None:
        return False
    return any(getattr(value, "__module__", None) in _PROCESS_HELPERS
               for value in vars(module).values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if (item.get_closest_marker("slow") is not None or "browser" in names
                or "fleet" in names or _starts_processes(getattr(item, "module", None))):
            item.add_marker(pytest.mark.process)
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        _longest_first(items)


def _guessed_seconds(item: pytest.Item) -> float:
    """A rough cost, only to order modules: a test that asks for a longer timeout
    than the default runs long; one that starts processes takes seconds."""
    mark = item.get_closest_marker("timeout")
    if mark is not None and mark.args:
        return float(mark.args[0])
    return 10.0 if item.get_closest_marker("process") is not None else 0.1


def _longest_first(items: list[pytest.Item]) -> None:
    """Order modules by their guessed cost, the dearest first, each module's
    tests kept together and in their order. With --no-loadscope-reorder, xdist
    hands modules out in this order; every worker computes the same one."""
    cost: dict[str, float] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        cost[module] = cost.get(module, 0.0) + _guessed_seconds(item)
    items.sort(key=lambda item: -cost[item.nodeid.split("::")[0]])
