"""tests/support/target.py: a real target process, started, counted and stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.target import Target, TargetError, start_target

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def refuses(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_plain_target_counts_exactly_and_stops() -> None:
    with start_target("plain") as target:
        assert target.running
        assert target.url == f"http://127.0.0.1:{target.port}"
        for _ in range(7):
            assert fetch(target.url + "/fast") == 200
        for _ in range(3):
            assert fetch(target.url + "/fail") == 500
        assert fetch(target.url + "/status/503") == 503
        assert fetch(target.url + "/echo", data=b"hi") == 200
        counts = target.counts()
        assert counts.received == counts.answered == counts.total == 12
        assert counts.route("GET", "/fast") == 7
        assert counts.route("get", "/fail") == 3
        assert counts.route("GET", "/nothing") == 0
        assert counts.status(500) == 3 and counts.status(200) == 8
        assert counts.route_status("GET", "/status/{code}", 503) == 1
        assert counts.route_status("POST", "/echo", 200) == 1
        target.reset_counts()
        assert target.counts().received == 0
        port, pid = target.port, target.pid
    # Leaving the block stopped the process by its PID: nothing listens any more.
    assert not target.running
    assert refuses(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stop_is_idempotent_and_reports_a_clean_exit() -> None:
    target = start_target("plain")
    try:
        assert target.stop() == 0  # SIGTERM is a normal way to end the target
        assert target.stop() == 0
    finally:
        target.stop()


def test_demo_target_shop_flow(demo_target: Target) -> None:
    url = demo_target.url
    assert fetch(url + "/") == 200
    assert fetch(url + "/items/1") == 200
    assert fetch(url + "/items/100000") == 404
    assert fetch(url + "/cart") == 401
    login = json.dumps({"username": "ann", "password": "wrong"}).encode()
    assert fetch(url + "/login", login, {"content-type": "application/json"}) == 401
    counts = demo_target.counts()
    assert counts.raw["by_route_status"] == {
        "GET /": {"200": 1},
        "GET /items/{id}": {"200": 1, "404": 1},
        "GET /cart": {"401": 1},
        "POST /login": {"401": 1},
    }


def test_plain_fixture_is_fresh(plain_target: Target) -> None:
    assert plain_target.counts().received == 0
    assert fetch(plain_target.url + "/fast") == 200
    assert plain_target.counts().route("GET", "/fast") == 1


def test_checkout_failure_rate_reaches_the_process() -> None:
    with start_target("demo", checkout_failure_rate=1.0, seed=5) as target:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor()
        )
        form = b"username=ann&password=secret"
        with opener.open(target.url + "/login", data=form, timeout=10) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as failed:
            opener.open(target.url + "/checkout", data=b"", timeout=10)
        assert failed.value.code == 502
        failed.value.close()
        assert target.counts().route_status("POST", "/checkout", 502) == 1


def test_ipv6_loopback_target() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with start_target("plain", host="::1") as target:
        assert target.url == f"http://[::1]:{target.port}"
        assert fetch(target.url + "/fast") == 200
        assert target.counts().route("GET", "/fast") == 1


def test_a_target_that_cannot_start_says_why() -> None:
    bad: Any = "nonsense"  # not a valid --app: the child exits with a usage error
    with pytest.raises(TargetError, match="invalid choice"):
        start_target(bad)


def test_only_loopback_hosts() -> None:
    with pytest.raises(ValueError):
        Target("plain", host="0.0.0.0")


def test_sigint_also_stops_the_target_cleanly() -> None:
    target = start_target("plain")
    try:
        os.kill(target.pid, signal.SIGINT)
        assert target._proc is not None
        assert target._proc.wait(timeout=10) == 0
    finally:
        target.stop()
