"""Fixtures for the web UI tests: real target processes from tests/support, and Chromium."""

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fixtures import demo_target, plain_target
from tests.web.chromium import CHROMIUM, launched

__all__ = ["browser", "demo_target", "plain_target"]


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium')")
    yield from launched()
