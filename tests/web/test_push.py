"""The live push over /ws, and the compact state payload."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from horde.web.payload import TAIL_ROWS, state_payload
from tests.support.target import Target
from tests.web.fakes import FakeFleet
from tests.web.harness import LiveUI
from tests.web.scripts import PlainVisitor
from tests.web.waiting import wait_for


async def _messages(url: str, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "/ws") as ws:
        while len(out) < n:
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            out.append(json.loads(msg.data))
    return out


def test_ws_sends_state_at_once_then_every_second(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        first = asyncio.run(_messages(ui.url, 1))[0]
        assert first["state"] == "ready"
        ui.api("/api/start", {"users": 1, "spawn_rate": 10})
        # Three more messages, each bounded at 5 s: the push does not wait for a change.
        messages = asyncio.run(_messages(ui.url, 4))
        assert all(m["state"] in ("spawning", "running") for m in messages)
        assert messages[-1]["total"]["requests"] >= messages[0]["total"]["requests"]
        assert {"endpoints", "errors", "exceptions", "workers", "health", "history_tail"} <= set(
            messages[-1])


def test_one_message_per_tick_whatever_the_clients(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        ui.api("/api/start", {"users": 2, "spawn_rate": 20})
        wait_for(lambda: ui.api("/api/state").json()["total"]["requests"],
                 lambda n: n > 20, what="some requests")

        async def three_clients() -> tuple[int, list[list[dict[str, Any]]]]:
            assert ui.server is not None
            before = ui.server.hub.sent
            got = await asyncio.gather(*(_messages(ui.url, 3) for _ in range(3)))
            return ui.server.hub.sent - before, list(got)

        built, got = asyncio.run(three_clients())
        # 3 clients x 2 pushed messages each, but built once per tick for all of them
        # (the first message of each client is its own greeting).
        assert all(len(g) == 3 for g in got)
        assert built <= 4


def test_payload_is_columnar_and_compact_with_500_endpoints() -> None:
    payload = state_payload(FakeFleet(500))
    endpoints = payload["endpoints"]
    assert {len(col) for col in endpoints.values()} == {500}
    assert endpoints["current_rps"][0] == 2.123  # rounded for the eye and the wire
    assert payload["users"] == 15
    assert payload["history_len"] == 30 and payload["history_t0"] == 0
    assert len(payload["history_tail"]["t"]) == TAIL_ROWS
    assert [w["saturated"] for w in payload["workers"]] == [False, True, True]
    assert payload["health"]["warnings"]  # CPU 95% > 90%
    text = json.dumps(payload, separators=(",", ":"))
    # ~40 bytes per endpoint per shown figure set, not a dict of keys per row.
    assert len(text) < 500 * 120, len(text)
    assert text.count('"name":') == 2  # the endpoints' and the errors' columns, once each


def test_payload_carries_the_open_model_figures() -> None:
    from dataclasses import replace

    from horde.stats.snapshot import ArrivalSummary

    fleet = FakeFleet(3)
    assert state_payload(fleet)["arrival"] is None  # the closed model
    fleet._snap = replace(fleet._snap, arrival=ArrivalSummary(
        target_rate=200.0, achieved_rate=198.5, current_rate=199.25, iterations=3970,
        dropped_iterations=17, max_lateness_s=2.0))
    arrival = state_payload(fleet)["arrival"]
    assert arrival == {"target_rate": 200.0, "achieved_rate": 198.5, "current_rate": 199.25,
                       "iterations": 3970, "dropped_iterations": 17, "max_lateness_s": 2.0}
