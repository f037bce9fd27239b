"""POST /api/start for every load model: validation by the command line's parsers, real runs.

Bad bodies are refused with a 400 and a sentence, and nothing starts; good
ones run against a real target on loopback, whose count must equal horde's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from horde.plan.shape import LoadTestShape, ShapePlan
from tests.support.target import Target
from tests.web.harness import LiveUI
from tests.web.scripts import PlainVisitor
from tests.web.waiting import wait_for

BAD_MODEL_STARTS: list[tuple[Any, str]] = [
    ({"model": "spiky", "users": 1, "spawn_rate": 1}, "'model' must be"),
    ({"model": "shape"}, "the script defines no load shape"),
    ({"model": "stages"}, "missing field 'stages'"),
    ({"model": "stages", "stages": ""}, "missing field 'stages'"),
    ({"model": "stages", "stages": 30}, "'stages' must be text"),
    ({"model": "stages", "stages": "30s"}, "invalid stage '30s'"),
    ({"model": "stages", "stages": "30s:-2"}, "must be >= 0"),
    ({"model": "stages", "stages": "soon:10"}, "'stages'"),
    ({"model": "stages", "stages": ["10s:5", 7]}, "'stages' must be text"),
    ({"model": "arrival", "users": 2}, "needs 'arrival_rate'"),
    ({"model": "arrival", "arrival_rate": 10}, "missing field 'users'"),
    ({"model": "arrival", "arrival_rate": 10, "users": 0}, "at least one user"),
    ({"model": "arrival", "arrival_rate": "fast", "users": 2}, "'arrival_rate'"),
    ({"model": "arrival", "arrival_rate": -5, "users": 2}, "'arrival_rate'"),
    ({"model": "arrival", "arrival_rate": 0, "users": 2}, "must be > 0"),
    ({"model": "arrival", "arrival_rate": True, "users": 2}, "'arrival_rate'"),
    ({"model": "arrival", "arrival_stages": "10s", "users": 2}, "invalid arrival stage"),
    ({"model": "arrival", "arrival_rate": 5, "users": 2, "max_lateness": "0s"},
     "'max_lateness' must be longer than 0 s"),
    ({"model": "arrival", "arrival_rate": 5, "users": 2, "max_lateness": "later"},
     "'max_lateness'"),
    ({"model": "arrival", "arrival_rate": 5, "users": 2, "max_lateness": [2]},
     "'max_lateness'"),
]


@pytest.fixture(scope="module")
def idle_target() -> Iterator[Target]:
    with Target("plain") as target:
        yield target


def _state(ui: LiveUI) -> dict[str, Any]:
    state: dict[str, Any] = ui.api("/api/state").json()
    return state


@pytest.mark.parametrize(("body", "message"), BAD_MODEL_STARTS)
def test_a_bad_model_is_a_400_with_a_sentence_and_starts_nothing(
        idle_target: Target, body: Any, message: str) -> None:
    with LiveUI([PlainVisitor], idle_target.url) as ui:
        answer = ui.api("/api/start", body)
        assert answer.status == 400, answer.body
        error = answer.json()["error"]
        assert message in error
        assert "\n" not in error and "Traceback" not in error
        state = _state(ui)
        assert state["state"] == "ready"
        assert state["model"] == "users"  # nothing chosen either


def test_the_guard_still_applies_to_a_model_start(idle_target: Target) -> None:
    body = {"model": "stages", "stages": "1s:1"}
    with LiveUI([PlainVisitor], idle_target.url) as ui:
        other = ui.api("/api/start", body, headers={"Origin": "http://evil.example"})
        assert other.status == 403
        no_json = ui.api("/api/start", method="POST", raw=b'{"model": "stages"}',
                         headers={"Content-Type": "text/plain"})
        assert no_json.status in (400, 415)
        assert _state(ui)["state"] == "ready"


def test_stages_through_the_api_run_and_end_by_themselves(plain_target: Target) -> None:
    plain_target.reset_counts()
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        answer = ui.api("/api/start", {"model": "stages", "stages": "0s:2,2s:2,1s:0"})
        assert answer.status == 200, answer.body
        assert answer.json()["model"] == "stages"
        # A running test changes only its user count; another model is refused.
        refused = ui.api("/api/start", {"model": "arrival", "arrival_rate": 5, "users": 1})
        assert refused.status == 409
        assert "stop it before" in refused.json()["error"]
        state = wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped",
                         what="the stages to end the test", timeout=20)
        assert state["model"] == "stages"
        served = plain_target.counts().total
        assert state["total"]["requests"] == served > 0
        history = ui.api("/api/history").json()
        assert 2.0 in history["target_users"]  # the plan's target, second by second
        assert set(history["target_rate"]) == {None}
        # The HTML report charts the same target beside what ran.
        report = ui.api("/download/report.html").body.decode()
        found = re.search(r'"target_users":\[([^\]]*)\]', report)
        assert found is not None
        assert json.loads(f"[{found.group(1)}]") == history["target_users"]


def test_the_open_model_through_the_api_then_a_closed_test(plain_target: Target) -> None:
    plain_target.reset_counts()
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        answer = ui.api("/api/start", {"model": "arrival", "arrival_rate": "20/s", "users": 3,
                                       "max_lateness": "2s", "run_time": "3s"})
        assert answer.status == 200, answer.body
        state = wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped",
                         what="-t to end the open-model test", timeout=20)
        assert (state["model"], state["shape"], state["target_unit"]) == ("arrival", None,
                                                                           "rate")
        arrival = state["arrival"]
        assert arrival is not None and arrival["max_lateness_s"] == 2
        served = plain_target.counts().total
        assert state["total"]["requests"] == served
        assert 60 * 0.8 <= served <= 60 * 1.1  # 20/s for 3 s, the last second cut short
        history = ui.api("/api/history").json()
        assert 20.0 in history["target_rate"]
        assert sum(n for n in history["iterations"] if n is not None) <= arrival["iterations"]
        assert set(history["target_users"]) == {None}

        # The next test, in the closed model, paces nothing (no open-model leftovers).
        plain_target.reset_counts()
        answer = ui.api("/api/start", {"model": "users", "users": 1, "spawn_rate": 5,
                                       "run_time": "1s"})
        assert answer.status == 200, answer.body
        state = wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped",
                         what="the closed test to end", timeout=20)
        assert state["model"] == "users"
        assert state["arrival"] is None
        assert state["total"]["requests"] == plain_target.counts().total > 2


class Steps(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        return (1, 5.0) if self.get_run_time() < 1.5 else None


def test_with_a_shape_the_shape_drives_and_other_models_are_refused(
        plain_target: Target) -> None:
    plain_target.reset_counts()
    with LiveUI([PlainVisitor], plain_target.url, plan=ShapePlan(Steps())) as ui:
        state = _state(ui)
        assert (state["model"], state["shape"], state["target_unit"]) == ("shape", "Steps",
                                                                           "users")
        for body in ({"model": "users", "users": 1, "spawn_rate": 1},
                     {"model": "stages", "stages": "1s:1"}):
            answer = ui.api("/api/start", body)
            assert answer.status == 400
            assert "load shape Steps drives every test" in answer.json()["error"]
        answer = ui.api("/api/start", {})
        assert answer.status == 200, answer.body
        state = wait_for(lambda: _state(ui), lambda s: s["state"] == "stopped",
                         what="the shape to end the test", timeout=20)
        assert state["total"]["requests"] == plain_target.counts().total > 0
