"""`GET /metrics` on the web UI and on the standalone `--metrics-port` server, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import socket
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from horde.errors import UsageError
from horde.events import Events
from horde.runtime.local import LocalRunner, RunOptions
from horde.stats.checks import CheckWatch, parse_check
from horde.web.metrics import start_metrics_server
from tests.support.target import Target
from tests.web.harness import LiveUI, http_json
from tests.web.scripts import PlainVisitor
from tests.web.waiting import wait_for

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _values(body: bytes, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == metric:
                out[tuple(sorted(s.labels.items()))] = float(s.value)
    return out


def _state(ui: LiveUI) -> dict[str, Any]:
    state: dict[str, Any] = ui.api("/api/state").json()
    return state


def test_web_ui_metrics_match_the_run(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        assert ui.api("/api/start", {"users": 3, "spawn_rate": 30}).status == 200
        wait_for(lambda: _values(ui.api("/metrics").body, "horde_users"),
                 lambda v: v.get((), 0) == 3, what="3 users in /metrics")
        wait_for(lambda: _state(ui), lambda s: s["total"]["requests"] >= 20, what="requests")
        assert ui.api("/api/stop", {}).status == 200
        wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped", what="stopped")

        answer = ui.api("/metrics")
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=")
        requests = _values(answer.body, "horde_requests_total")
        failures = _values(answer.body, "horde_failures_total")
        snapshot = ui.call(lambda: ui.runner.snapshot())  # type: ignore[union-attr]
        expected = {(("method", e.method), ("name", e.name)): float(e.requests)
                    for e in snapshot.endpoints}
        assert requests == expected
        assert sum(failures.values()) == snapshot.total.failures > 0  # /fail always fails
        counts = _values(answer.body, "horde_response_time_seconds_count")
        assert counts == expected
        assert _values(answer.body, "horde_run_state")[(("state", "stopped"),)] == 1.0
        assert _values(answer.body, "horde_users") == {(): 0.0}


def test_web_ui_metrics_need_the_ui_credentials(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url, auth=("ops", "s3cret")) as ui:
        assert ui.api("/metrics").status == 401
        token = base64.b64encode(b"ops:s3cret").decode()
        answer = ui.api("/metrics", headers={"Authorization": f"Basic {token}"})
        assert answer.status == 200
        assert b"horde_target_users 0.0" in answer.body


async def _fetch(url: str) -> tuple[int, bytes]:
    def get() -> tuple[int, bytes]:
        with _OPENER.open(url, timeout=10) as resp:
            return resp.status, resp.read()

    return await asyncio.to_thread(get)


def test_standalone_server_serves_metrics_and_a_pointer() -> None:
    async def main() -> None:
        runner = LocalRunner([PlainVisitor], RunOptions(), Events())
        server = await start_metrics_server(runner, "127.0.0.1", 0)
        try:
            assert server.url == f"http://127.0.0.1:{server.port}/metrics"
            status, body = await _fetch(server.url)
            assert status == 200
            assert _values(body, "horde_run_state")[(("state", "ready"),)] == 1.0
            status, body = await _fetch(server.url.removesuffix("metrics"))
            assert status == 200 and b"/metrics" in body
            answer = await asyncio.to_thread(http_json, server.url.replace("/metrics", "/api"))
            assert answer.status == 404  # nothing but metrics here
        finally:
            await server.close()
            await server.close()  # idempotent

    asyncio.run(main())


def test_standalone_server_on_a_busy_port_is_a_usage_error() -> None:
    async def main() -> None:
        runner = LocalRunner([PlainVisitor], RunOptions(), Events())
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
                await start_metrics_server(runner, "127.0.0.1", port)

    asyncio.run(main())


def test_standalone_server_judges_the_runs_checks() -> None:
    async def main() -> None:
        runner = LocalRunner([PlainVisitor], RunOptions(), Events())
        watch = CheckWatch([parse_check("p95 < 300ms")])
        server = await start_metrics_server(runner, "127.0.0.1", 0, watch)
        try:
            _, body = await _fetch(server.url)
            # No request yet: nothing to measure fails (docs/thresholds.md), with no value.
            assert _values(body, "horde_check_passed") == {(("check", "p95 < 300ms"),): 0.0}
            assert _values(body, "horde_check_value") == {}
        finally:
            await server.close()

    asyncio.run(main())


def _get(url: str, host: str | None = None) -> int:
    return http_json(url, headers={"Host": host} if host else None).status


def test_standalone_server_refuses_a_rebound_host_name() -> None:
    async def main() -> None:
        runner = LocalRunner([PlainVisitor], RunOptions(), Events())
        server = await start_metrics_server(runner, "127.0.0.1", 0,
                                            allowed_hosts=("prom.example",))
        try:
            port = server.port
            evil = await asyncio.to_thread(http_json, server.url,
                                           headers={"Host": f"evil.example:{port}"})
            assert evil.status == 403
            assert evil.json()["error"].startswith(
                "this metrics server does not answer to the host name 'evil.example'")
            for host in (None, f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                         f"prom.example:{port}"):
                assert await asyncio.to_thread(_get, server.url, host) == 200, host
        finally:
            await server.close()

    asyncio.run(main())


def test_a_wildcard_bound_server_answers_any_address_but_no_foreign_name() -> None:
    async def main() -> None:
        runner = LocalRunner([PlainVisitor], RunOptions(), Events())
        server = await start_metrics_server(runner, "0.0.0.0", 0)
        try:
            port = server.port
            assert server.url == f"http://127.0.0.1:{port}/metrics"
            url = f"http://127.0.0.1:{port}/metrics"
            # Prometheus scraping a pod by its IP: an address cannot be rebound.
            assert await asyncio.to_thread(_get, url, f"10.1.2.3:{port}") == 200
            assert await asyncio.to_thread(_get, url, f"{socket.gethostname()}:{port}") == 200
            assert await asyncio.to_thread(_get, url, f"evil.example:{port}") == 403
        finally:
            await server.close()

    asyncio.run(main())


def test_an_ipv6_wildcard_server_prints_a_url_one_can_open() -> None:
    async def main() -> None:
        runner = LocalRunner([PlainVisitor], RunOptions(), Events())
        try:
            server = await start_metrics_server(runner, "::", 0)
        except UsageError as exc:
            pytest.skip(f"no IPv6 here: {exc}")
        try:
            assert server.url == f"http://[::1]:{server.port}/metrics"
            assert await asyncio.to_thread(_get, server.url) == 200
        finally:
            await server.close()

    asyncio.run(main())
