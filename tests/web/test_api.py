"""The JSON API against a real local run and a real target on loopback."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from horde.report.csv_report import FAILURES_COLUMNS, HISTORY_COLUMNS, STATS_COLUMNS
from tests.support.target import Target
from tests.web.harness import LiveUI
from tests.web.scripts import PlainVisitor
from tests.web.waiting import wait_for

BAD_STARTS: list[tuple[Any, str]] = [
    ({"users": -1, "spawn_rate": 1}, "'users' must be >= 0"),
    ({"spawn_rate": 1}, "missing field 'users'"),
    ({"users": 2}, "missing field 'spawn_rate'"),
    ({"users": "many", "spawn_rate": 1}, "'users' must be a whole number"),
    ({"users": 1.5, "spawn_rate": 1}, "'users' must be a whole number"),
    ({"users": True, "spawn_rate": 1}, "'users' must be a whole number"),
    ({"users": 2, "spawn_rate": 0}, "'spawn_rate' must be a number > 0"),
    ({"users": 2, "spawn_rate": -3}, "'spawn_rate' must be a number > 0"),
    ({"users": 2, "spawn_rate": "fast"}, "'spawn_rate' must be a number"),
    ({"users": 2, "spawn_rate": 1, "run_time": "soon"}, "'run_time'"),
    ({"users": 2, "spawn_rate": 1, "run_time": "-5s"}, "'run_time'"),
    ({"users": 2, "spawn_rate": 1, "host": "ftp://x"}, "'host' must be an http"),
    ([1, 2], "must be a JSON object"),
]


@pytest.fixture(scope="module")
def idle_target() -> Iterator[Target]:
    """One target for the tests that never send it a request (it only has to exist)."""
    with Target("plain") as target:
        yield target


def _state(ui: LiveUI) -> dict[str, Any]:
    answer = ui.api("/api/state")
    assert answer.status == 200
    state: dict[str, Any] = answer.json()
    return state


def test_state_before_a_test(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        state = _state(ui)
        assert state["state"] == "ready"
        assert state["users"] == 0
        assert state["endpoints"]["name"] == []
        assert state["workers"] == []
        assert state["history_len"] == 0
        assert ui.api("/api/defaults").json()["host"] == plain_target.url
        assert ui.api("/api/history").json()["t"] == []


@pytest.mark.parametrize(("body", "message"), BAD_STARTS)
def test_bad_start_is_a_400_and_starts_nothing(idle_target: Target, body: Any,
                                               message: str) -> None:
    with LiveUI([PlainVisitor], idle_target.url) as ui:
        answer = ui.api("/api/start", body)
        assert answer.status == 400
        assert message in answer.json()["error"]
        assert _state(ui)["state"] == "ready"


def test_non_json_and_empty_bodies(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        for raw in (b"users=3", b"", b"{"):
            answer = ui.api("/api/start", method="POST", raw=raw)
            assert answer.status == 400, raw
            assert "JSON" in answer.json()["error"]
        assert ui.api("/api/update", method="POST", raw=b"nope").status == 400
        # Update with no test running is refused, not silently started.
        answer = ui.api("/api/update", {"users": 3, "spawn_rate": 1})
        assert answer.status == 409
        assert "no test is running" in answer.json()["error"]
        assert _state(ui)["state"] == "ready"


def test_a_whole_test_through_the_api(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        answer = ui.api("/api/start", {"users": 2, "spawn_rate": 20})
        assert answer.status == 200, answer.body
        state = wait_for(lambda: _state(ui),
                         lambda s: s["users"] == 2 and s["total"]["requests"] > 10,
                         what="2 users and some requests")
        assert state["state"] in ("spawning", "running")
        names = state["endpoints"]["name"]
        assert set(names) == {"/fast", "/fail", "/bytes/100"}
        # Columnar: one list per field, all of the same length.
        assert {len(v) for v in state["endpoints"].values()} == {3}
        fail_row = names.index("/fail")
        assert state["endpoints"]["failures"][fail_row] == state["endpoints"]["requests"][fail_row]
        assert state["errors"]["error"] == ["HTTP 500"]

        # Bad input while running: a 400, and the test goes on exactly as before.
        for body in ({"users": -4, "spawn_rate": 1}, {"spawn_rate": 1}, {"users": 9}):
            answer = ui.api("/api/update", body)
            assert answer.status == 400
            assert answer.json()["error"]
        assert ui.api("/api/start", {"users": -1, "spawn_rate": 1}).status == 400
        before = _state(ui)["total"]["requests"]
        state = wait_for(lambda: _state(ui),
                         lambda s: s["total"]["requests"] > before + 5, what="more requests")
        assert state["state"] in ("spawning", "running")
        assert state["target_users"] == 2 and state["users"] == 2

        # Change the load.
        answer = ui.api("/api/update", {"users": 4, "spawn_rate": 50})
        assert answer.status == 200
        assert answer.json()["target_users"] == 4
        wait_for(lambda: _state(ui), lambda s: s["users"] == 4, what="4 users")

        # The history grows once a second and comes back whole.
        wait_for(lambda: _state(ui), lambda s: s["history_len"] >= 2
                 and s["history_tail"]["target_users"][-1] == 4.0,
                 what="2 history rows, the last with the new target")
        history = ui.api("/api/history").json()
        assert len(history["t"]) >= 2
        assert set(history) == {"t", "rps", "fail_per_s", "p50", "p95", "p99", "users",
                                "target_users", "target_rate", "iterations"}
        # The plan's target beside what ran: 2 users, then 4 after the update.
        assert set(history["target_users"]) <= {2.0, 4.0}
        assert history["target_users"][-1] == 4.0
        assert set(history["target_rate"]) == set(history["iterations"]) == {None}

        # Reset: the figures start again, the test goes on.
        assert ui.api("/api/reset", {}).status == 200
        state = _state(ui)
        assert state["total"]["requests"] < before
        assert state["state"] in ("spawning", "running")

        assert ui.api("/api/stop", {}).status == 200
        wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped", what="stopped")
        assert ui.api("/api/update", {"users": 1, "spawn_rate": 1}).status == 409


def test_a_new_test_after_a_stop_starts_from_zero(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        for _ in range(2):
            assert ui.api("/api/start", {"users": 1, "spawn_rate": 10}).status == 200
            state = wait_for(lambda: _state(ui), lambda s: s["history_len"] >= 1, what="history")
            assert state["history_t0"] == 0
            assert ui.api("/api/stop", {}).status == 200
            state = wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped",
                             what="stopped")
            assert state["users"] == 0


def test_downloads_match_the_cli_formats(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        assert ui.api("/api/start", {"users": 2, "spawn_rate": 20}).status == 200
        wait_for(lambda: _state(ui), lambda s: s["history_len"] >= 2, what="2 seconds of history")
        ui.api("/api/stop", {})
        wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped", what="stopped")

        stats = ui.api("/download/stats.csv")
        assert stats.status == 200
        assert "attachment" in stats.headers["Content-Disposition"]
        lines = stats.body.decode().splitlines()
        assert lines[0].split(",") == list(STATS_COLUMNS)
        assert lines[-1].startswith(",Aggregated,")
        assert len(lines) == 1 + 3 + 1

        history = ui.api("/download/history.csv").body.decode().splitlines()
        assert history[0].split(",") == list(HISTORY_COLUMNS)
        assert len(history) >= 3

        failures = ui.api("/download/failures.csv").body.decode().splitlines()
        assert failures[0].split(",") == list(FAILURES_COLUMNS)
        assert failures[1].startswith("GET,/fail,HTTP 500,")

        result = ui.api("/download/result.json").json()
        assert result["schema_version"] == 1
        assert {e["name"] for e in result["endpoints"]} == {"/fast", "/fail", "/bytes/100"}

        report = ui.api("/download/report.html")
        assert report.status == 200
        assert report.headers["Content-Type"].startswith("text/html")
        assert b"uPlot" in report.body and b"/bytes/100" in report.body

        assert ui.api("/download/nothing.csv").status == 404


def test_static_assets_and_the_page(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        page = ui.api("/")
        assert page.status == 200 and b"<title>horde</title>" in page.body
        for name in ("app.js", "charts.js", "app.css", "vendor/uPlot.iife.min.js",
                     "vendor/uPlot.min.css"):
            answer = ui.api("/static/" + name)
            assert answer.status == 200, name
            assert answer.headers["ETag"]
        assert ui.api("/static/vendor/uPlot.iife.min.js").headers["Content-Type"].startswith(
            "text/javascript")
        for bad in ("../server.py", "..%2Fserver.py", "nothing.js", ".hidden", "vendor/../app.js"):
            assert ui.api("/static/" + bad).status == 404, bad


def test_basic_auth_guards_everything(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url, auth=("ann", "s3cret")) as ui:
        good = "Basic " + base64.b64encode(b"ann:s3cret").decode()
        wrong = "Basic " + base64.b64encode(b"ann:guess").decode()
        for path in ("/", "/api/state", "/static/app.js", "/download/stats.csv", "/ws"):
            answer = ui.api(path)
            assert answer.status == 401, path
            assert answer.headers["WWW-Authenticate"].startswith("Basic")
            assert ui.api(path, headers={"Authorization": wrong}).status == 401
        assert ui.api("/api/state", headers={"Authorization": good}).status == 200
        answer = ui.api("/api/start", {"users": 1, "spawn_rate": 1})
        assert answer.status == 401
        assert ui.api("/api/state", headers={"Authorization": good}).json()["state"] == "ready"


def test_stop_answers_the_state_the_run_is_really_in(plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        assert ui.api("/api/start", {"users": 2, "spawn_rate": 50}).status == 200
        wait_for(lambda: _state(ui), lambda s: s["state"] == "running", what="running")
        answer = ui.api("/api/stop", {})
        assert answer.status == 200
        # Never "running": the stop has begun by the time the answer is written.
        assert answer.json()["state"] in ("stopping", "stopped")
        wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped", what="stopped")
        assert ui.api("/api/stop", {}).json()["state"] == "stopped"


@pytest.mark.parametrize(("content_type", "raw", "error"), [
    ("application/json; charset=x", b"{}", "the request body's charset 'x' is unknown; send UTF-8"),
    ("application/json", b'{"users": "\xff"}', "the request body is not valid utf-8: "
                                                "invalid start byte at byte 11"),
    ("application/json; charset=ascii", '{"users": "é"}'.encode(),
     "the request body is not valid ascii: ordinal not in range(128) at byte 11"),
])
def test_a_body_that_cannot_be_decoded_is_a_400_not_a_500(
        plain_target: Target, content_type: str, raw: bytes, error: str) -> None:
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        for path in ("/api/start", "/api/update"):
            answer = ui.api(path, method="POST", raw=raw, headers={"Content-Type": content_type})
            assert (answer.status, answer.json()) == (400, {"error": error}), answer.body
        assert ui.api("/api/state").json()["state"] == "ready"  # nothing started
