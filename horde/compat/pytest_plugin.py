"""pytest plugin: Locust's `session` and `fastsession` fixtures, on horde's client.

    pytest --host http://127.0.0.1:8080 tests/test_site.py

    def test_front_page(session):
        resp = session.get("/")
        assert resp.status_code == 200

A test is plain synchronous code with no event loop, while horde's client
runs in one: each fixture owns a loop (uvloop) and a greenlet
(`horde.bridge.SyncRunner`), and every request runs inside that greenlet
while the loop turns, so the call blocks and returns the Response as in a
task. Nothing is recorded: the test asserts on the responses. Registered as
the `horde` pytest11 entry point; importing it does nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["BlockingSession", "session", "fastsession"]


class BlockingSession:
    """horde's HttpSession, usable from plain synchronous code (a test)."""

    def __init__(self, base_url: str | None) -> None:
        import uvloop

        from horde.bridge import SyncRunner
        from horde.http import HttpSession

        self._loop = uvloop.new_event_loop()
        self._runner = SyncRunner()
        self._session = HttpSession(base_url, lambda *args: None)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self._session, method)
        return self._loop.run_until_complete(self._runner.call(fn, *args, **kwargs))

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._call("request", method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._call("get", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> Any:
        return self._call("post", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self._call("put", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> Any:
        return self._call("patch", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self._call("delete", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        return self._call("head", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Any:
        return self._call("options", url, **kwargs)

    @property
    def headers(self) -> dict[str, str]:
        return self._session.headers

    @property
    def cookies(self) -> Any:
        return self._session.cookies

    def close(self) -> None:
        self._loop.run_until_complete(self._session.aclose())
        self._runner.close()
        self._loop.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption("--host", "-H", action="store", default=None,
                         help="base URL for the session/fastsession fixtures (horde)")
    except ValueError as exc:  # another plugin (Locust's) defined it: share it
        if "already added" not in str(exc):
            raise


@pytest.fixture
def session(request: pytest.FixtureRequest) -> Iterator[BlockingSession]:
    """A horde HTTP client for `--host`, blocking like Locust's HttpSession."""
    s = BlockingSession(request.config.getoption("--host"))
    yield s
    s.close()


@pytest.fixture
def fastsession(request: pytest.FixtureRequest) -> Iterator[BlockingSession]:
    """The same client (horde has one fast client for HttpUser and FastHttpUser)."""
    s = BlockingSession(request.config.getoption("--host"))
    yield s
    s.close()
