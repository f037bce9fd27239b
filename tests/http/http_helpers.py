"""Helpers for the HTTP client tests, imported by name (`from http_helpers import ...`).

They live outside conftest.py: importing `conftest` by name picks whichever
conftest module Python loaded first when several test directories run in one
session.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, NamedTuple

import uvloop

__all__ = ["Record", "Recorder", "run"]


class Record(NamedTuple):
    method: str
    name: str
    latency_us: int
    size: int
    error: str | None
    ttfb_us: int


class Recorder:
    """A list-backed RecordFn (not a network fake: it stands in for horde.stats)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def __call__(
        self, method: str, name: str, latency_us: int, size: int, error: str | None, ttfb_us: int
    ) -> None:
        self.records.append(Record(method, name, latency_us, size, error, ttfb_us))

    @property
    def errors(self) -> list[str | None]:
        return [r.error for r in self.records]

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if r.error is not None]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run `coro` on a fresh uvloop loop; fail if anything reached the loop's exception handler."""
    loop = uvloop.new_event_loop()
    caught: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: caught.append(context))
    try:
        result = loop.run_until_complete(coro)
        # Let closing transports finish, then collect so "never retrieved" would show now.
        loop.run_until_complete(asyncio.sleep(0.01))
        gc.collect()
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert not caught, f"the loop's exception handler was called: {caught}"
    return result
