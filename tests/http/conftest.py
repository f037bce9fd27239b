"""Fixtures for the HTTP client tests: loopback servers, a recorder, a strict loop runner."""

from __future__ import annotations

import asyncio
import gc
import subprocess
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import uvloop
from http_servers import BrokenServer, GoodServer


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


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for the name localhost only, made by openssl for this run."""
    directory: Path = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return str(cert), str(key)


@pytest.fixture(scope="session")
def good(certificate: tuple[str, str]) -> Iterator[GoodServer]:
    server = GoodServer(*certificate)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broken() -> Iterator[BrokenServer]:
    server = BrokenServer()
    yield server
    server.stop()


@pytest.fixture
def runner() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return run
