"""Polling with a deadline: wait for a condition on a live run, never sleep blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_for"]

T = TypeVar("T")


def wait_for(read: Callable[[], T], ok: Callable[[T], bool], timeout: float = 15.0,
             what: str = "condition") -> T:
    """Call `read` until `ok(value)`; return the value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    value = read()
    while not ok(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        time.sleep(0.1)
        value = read()
    return value
