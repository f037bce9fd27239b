"""pytest fixtures around `tests.support.target`.

Use them from a test directory's conftest.py::

    from tests.support.fixtures import demo_target, plain_target  # noqa: F401

Each fixture gives a fresh, running target process per test (about 0.3 s to
start) and stops it afterwards, whatever the outcome. `plain_target` has no
latency at all; `demo_target` runs the shop with latencies scaled down to 0
and a fixed seed, so its 502s repeat from run to run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.target import Target

__all__ = ["demo_target", "plain_target"]


@pytest.fixture
def plain_target() -> Iterator[Target]:
    with Target("plain") as target:
        yield target


@pytest.fixture
def demo_target() -> Iterator[Target]:
    with Target("demo", latency_scale=0.0, seed=1234) as target:
        yield target
