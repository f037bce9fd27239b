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
"""

from __future__ import annotations

from types import ModuleType

import pytest

import horde
from horde.buildinfo import BuildError, require_selected

_PROCESS_HELPERS = frozenset({"tests.integration.horde_process", "tests.distributed.fleet_procs"})


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
        if (item.get_closest_marker("slow") is not None or "browser" in getattr(
                item, "fixturenames", ()) or _starts_processes(getattr(item, "module", None))):
            item.add_marker(pytest.mark.process)
