"""The UI answers only its own pages (horde/web/guard.py), against a real run and target.

Each refused request is one a hostile page can make a browser send: a
cross-origin POST, a `text/plain` "simple" POST (no preflight), a request
under a rebinding attacker's host name, a cross-origin WebSocket. After each,
no test has started and the target has received nothing.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from horde.errors import UsageError
from horde.web.guard import MAX_LOGGED, AllowedHosts, parse_allowed_host
from tests.support.target import Target
from tests.web.harness import LiveUI
from tests.web.scripts import PlainVisitor

START = {"users": 3, "spawn_rate": 30}


@pytest.fixture
def ui(plain_target: Target) -> Iterator[LiveUI]:
    with LiveUI([PlainVisitor], plain_target.url, allowed_hosts=("horde.example",)) as live:
        yield live


def _nothing_started(ui: LiveUI, target: Target) -> None:
    assert ui.api("/api/state").json()["state"] == "ready"
    assert ui.call(lambda: ui.runner.state) == "ready"  # type: ignore[union-attr]
    assert target.counts().received == 0


def _port(ui: LiveUI) -> int:
    assert ui.server is not None
    return ui.server.port


@pytest.mark.parametrize("origin", [
    "http://127.0.0.1:1",           # another port of the same machine
    "http://evil.example",          # another site
    "https://evil.example:{port}",  # another site, same port
    "null",                         # a sandboxed frame, a file:// page
    "http://localhost:{port}.evil.example",
])
def test_a_cross_origin_post_starts_nothing(ui: LiveUI, plain_target: Target,
                                            origin: str) -> None:
    origin = origin.format(port=_port(ui))
    answer = ui.api("/api/start", START, headers={"Origin": origin})
    assert answer.status == 403
    assert "own pages" in answer.json()["error"]
    for path in ("/api/stop", "/api/reset", "/api/update"):
        assert ui.api(path, START, headers={"Origin": origin}).status == 403
    _nothing_started(ui, plain_target)


def test_a_text_plain_simple_post_starts_nothing(ui: LiveUI, plain_target: Target) -> None:
    body = json.dumps(START).encode()
    # What a hostile page sends with fetch(..., {mode: "no-cors"}) or a text/plain form.
    foreign = ui.api("/api/start", method="POST", raw=body,
                     headers={"Content-Type": "text/plain", "Origin": "http://127.0.0.1:1"})
    assert foreign.status == 403
    # Even from the UI's own origin, a body that is not declared as JSON is refused.
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        answer = ui.api("/api/start", method="POST", raw=body, headers={"Content-Type": ctype})
        assert answer.status == 415, ctype
        assert "application/json" in answer.json()["error"]
    _nothing_started(ui, plain_target)


def test_an_action_must_name_its_origin(ui: LiveUI, plain_target: Target) -> None:
    answer = ui.api("/api/start", START, own_origin=False)
    assert answer.status == 403
    assert f"-H 'Origin: http://127.0.0.1:{_port(ui)}'" in answer.json()["error"]
    foreign_referer = ui.api("/api/start", START, own_origin=False,
                             headers={"Referer": "http://127.0.0.1:1/attack.html"})
    assert foreign_referer.status == 403
    # An Origin that does not match is not rescued by a Referer that does.
    both = ui.api("/api/start", START, headers={"Origin": "http://evil.example",
                                                "Referer": ui.url + "/"})
    assert both.status == 403
    _nothing_started(ui, plain_target)
    # A browser that leaves Origin out sends the page's Referer: the UI's own page is fine.
    own_referer = ui.api("/api/stop", {}, own_origin=False, headers={"Referer": ui.url + "/"})
    assert own_referer.status == 200


def test_a_foreign_host_is_refused_even_same_origin(ui: LiveUI, plain_target: Target) -> None:
    port = _port(ui)
    rebinding = f"evil.example:{port}"
    # DNS rebinding: the page's origin is the attacker's name, and so is the Host.
    for path in ("/", "/api/state", "/static/app.js", "/download/result.json", "/ws"):
        answer = ui.api(path, headers={"Host": rebinding})
        assert answer.status == 403, path
        assert "--web-allowed-host evil.example" in answer.json()["error"]
    answer = ui.api("/api/start", START, headers={"Host": rebinding,
                                                  "Origin": f"http://{rebinding}"})
    assert answer.status == 403
    for garbled in ("evil.example:notaport", "a@127.0.0.1", "127.0.0.1/x"):
        assert ui.api("/api/state", headers={"Host": garbled}).status == 403, garbled
    _nothing_started(ui, plain_target)


def test_allowed_host_names_and_loopback_spellings_work(ui: LiveUI,
                                                        plain_target: Target) -> None:
    port = _port(ui)
    for name in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]", "horde.example"):
        host = f"{name}:{port}"
        assert ui.api("/api/state", headers={"Host": host}).status == 200, name
    # Under an allowed name, the page of that name may act (its Origin matches the Host).
    host = f"horde.example:{port}"
    answer = ui.api("/api/stop", {}, headers={"Host": host, "Origin": f"http://{host}"})
    assert answer.status == 200, answer.body
    # The same name on another port is another origin.
    answer = ui.api("/api/stop", {}, headers={"Host": host, "Origin": "http://horde.example"})
    assert answer.status == 403
    # Behind a TLS proxy that passes the Host on: https://horde.example is this UI.
    answer = ui.api("/api/stop", {}, headers={"Host": "horde.example",
                                              "Origin": "https://horde.example"})
    assert answer.status == 200, answer.body


def test_reading_without_an_origin_still_works(ui: LiveUI) -> None:
    # curl, Prometheus, a download link: GETs need no Origin (only an allowed Host).
    for path in ("/api/state", "/api/history", "/download/stats.csv", "/"):
        assert ui.api(path).status == 200, path
    # A preflight is never granted: no CORS header, so a browser sends no JSON cross-origin.
    answer = ui.api("/api/start", method="OPTIONS",
                    headers={"Origin": "http://evil.example",
                             "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in answer.headers


async def _ws_first_message(url: str, origin: str | None) -> dict[str, Any]:
    headers = {"Origin": origin} if origin is not None else {}
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(url + "/ws", headers=headers) as ws:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        return data


def test_a_cross_origin_websocket_is_refused(ui: LiveUI, plain_target: Target) -> None:
    for origin in ("http://127.0.0.1:1", "http://evil.example", "null"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            asyncio.run(_ws_first_message(ui.url, origin))
        assert refused.value.status == 403, origin
    assert ui.server is not None and ui.server.hub.clients == 0
    # The UI's own page, and a client that is not a browser (no Origin), are served.
    assert asyncio.run(_ws_first_message(ui.url, ui.url))["state"] == "ready"
    assert asyncio.run(_ws_first_message(ui.url, None))["state"] == "ready"
    _nothing_started(ui, plain_target)


def test_each_refusal_is_logged_once_and_the_log_is_bounded(
        ui: LiveUI, caplog: pytest.LogCaptureFixture) -> None:
    port = _port(ui)
    with caplog.at_level("WARNING", logger="horde.web.guard"):
        for _ in range(3):
            assert ui.api("/api/state", headers={"Host": f"proxy.example:{port}"}).status == 403
        for i in range(MAX_LOGGED + 10):  # a flood of distinct hostile names
            ui.api("/api/state", headers={"Host": f"n{i}.evil.example:{port}"})
    lines = [r.getMessage() for r in caplog.records if r.name == "horde.web.guard"]
    assert len(lines) == MAX_LOGGED
    assert sum("--web-allowed-host proxy.example" in line for line in lines) == 1
    assert lines[0].startswith("web UI refused GET /api/state: ")


# --- the allow-list as a value --------------------------------------------------------------


def test_a_specific_bind_allows_its_address_and_loopback_only() -> None:
    hosts = AllowedHosts.for_bind("192.0.2.7", ["Horde.Example."])
    for ok in ("192.0.2.7", "localhost", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1",
               "horde.example"):
        assert hosts.allows(ok), ok
    for bad in ("10.0.0.1", "evil.example", "127.0.0.2", socket.gethostname() + ".evil"):
        assert not hosts.allows(bad), bad


def test_a_wildcard_bind_allows_any_address_but_no_unknown_name() -> None:
    for bind in ("0.0.0.0", "::", ""):
        hosts = AllowedHosts.for_bind(bind)
        # An address cannot be rebound to by an attacker; people and Prometheus use them.
        for ok in ("10.1.2.3", "192.0.2.7", "fe80::1", "localhost", socket.gethostname()):
            assert hosts.allows(ok), (bind, ok)
        for bad in ("evil.example", "10.1.2.3.evil.example", "0.0.0.0.nip.io"):
            assert not hosts.allows(bad), (bind, bad)


@pytest.mark.parametrize(("text", "want"), [
    ("horde.example.com", "horde.example.com"), ("HORDE.example.", "horde.example"),
    ("10.0.0.5", "10.0.0.5"), ("[::1]", "::1"), ("fe80::1", "fe80::1"),
])
def test_allowed_host_values(text: str, want: str) -> None:
    assert parse_allowed_host(text) == want


@pytest.mark.parametrize("text", ["http://horde.example", "horde.example:8089", "*", "",
                                  "a/b", "user@horde.example"])
def test_bad_allowed_host_values(text: str) -> None:
    with pytest.raises(UsageError, match="no scheme, no port"):
        parse_allowed_host(text)
