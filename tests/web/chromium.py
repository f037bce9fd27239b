"""Headless Debian Chromium for the browser tests, through Playwright.

    from tests.web.chromium import ARTIFACTS, WAIT_MS, needs_chromium
    pytestmark = needs_chromium

The `browser` fixture itself is in tests/web/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.target import REPO_ROOT

__all__ = ["ARTIFACTS", "CHROMIUM", "WAIT_MS", "launched", "needs_chromium"]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"
WAIT_MS = 20_000

needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (Debian package 'chromium')")


def launched() -> Iterator[Any]:
    """A running headless Chromium, closed at the end."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            yield b
        finally:
            b.close()
