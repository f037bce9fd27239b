"""Running async test bodies without a pytest asyncio plugin.

    @run_async
    async def test_something() -> None:
        ...

runs the coroutine in a fresh event loop with `asyncio.run` and a time bound,
so a hung server or client fails the test instead of blocking the suite.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["run_async"]

DEFAULT_BOUND_S = 30.0


def run_async(
    fn: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., None]:
    """Turn an `async def` test into a plain one (pytest fixtures still pass through)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), DEFAULT_BOUND_S))

    return wrapper
