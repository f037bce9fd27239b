"""Fixtures for the HTTP client tests: loopback servers, a recorder, a strict loop runner."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_helpers import Record, Recorder, run  # noqa: F401 - re-exported for fixtures
from http_servers import BrokenServer, GoodServer


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
