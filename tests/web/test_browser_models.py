"""Every load model from the start form, in headless Chromium, against a real target.

The form starts a stages run and an open-model run; the target's count must
equal horde's, and the charts must plot the plan's target beside what ran
(read from the uPlot instances the page draws). With a shape in the script,
the form says the shape drives the run.
"""

from __future__ import annotations

from typing import Any

from horde.plan.shape import LoadTestShape, ShapePlan
from tests.support.target import Target
from tests.web.chromium import ARTIFACTS, WAIT_MS, needs_chromium
from tests.web.harness import LiveUI
from tests.web.scripts import PlainVisitor

pytestmark = needs_chromium


def _open(browser: Any, ui: LiveUI, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(ui.url + "/")
    page.wait_for_function("document.getElementById('state').textContent === 'ready'",
                           timeout=WAIT_MS)
    return page


def _series(page: Any, title: str) -> dict[str, list[Any]]:
    """The data a chart plots now, by series label (uPlot's own arrays)."""
    data: dict[str, list[Any]] = page.evaluate(
        """(title) => {
             const specs = window.HordeCharts.SPECS, charts = window.horde.charts();
             const i = specs.findIndex(s => s.title === title);
             const plot = charts.plots[i], out = {t: Array.from(plot.data[0])};
             plot.series.slice(1).forEach((s, k) => out[s.label] = Array.from(plot.data[k + 1]));
             out.visible = !charts.boxes[i].hidden;
             return out;
           }""",
        title,
    )
    return data


def test_the_form_starts_stages_and_the_chart_plots_the_target(
        browser: Any, plain_target: Target) -> None:
    plain_target.reset_counts()
    errors: list[str] = []
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        page = _open(browser, ui, errors)
        assert page.is_hidden("#stages-input")  # the closed model's fields first
        page.select_option("#model-input", "stages")
        assert page.is_visible("#stages-input") and page.is_hidden("#users-input")
        # A bad stage is refused in a sentence, and nothing starts.
        page.fill("#stages-input", "3s")
        page.click("#start-btn")
        page.wait_for_selector("#start-error:not([hidden])", timeout=WAIT_MS)
        assert "invalid stage '3s'" in page.inner_text("#start-error")
        assert ui.api("/api/state").json()["state"] == "ready"

        page.fill("#stages-input", "0s:2,3s:2,2s:0")
        page.click("#start-btn")
        page.wait_for_function("['spawning', 'running'].includes("
                               "document.getElementById('state').textContent)", timeout=WAIT_MS)
        assert page.is_hidden("#edit-btn")  # the stages decide the users
        page.click("button[data-tab='charts']")
        page.wait_for_function("document.getElementById('state').textContent === 'stopped'",
                               timeout=WAIT_MS)
        state = ui.api("/api/state").json()
        assert state["model"] == "stages"
        assert state["total"]["requests"] == plain_target.counts().total > 0
        page.wait_for_function(
            f"window.horde.history().t.length === {state['history_len']}", timeout=WAIT_MS)
        users = _series(page, "Users")
        assert len(users["t"]) == state["history_len"]
        assert 2.0 in users["Target users"]  # the plan, plotted beside...
        assert 2 in users["Users"]  # ...what ran
        assert not _series(page, "Iterations per second (open model)")["visible"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "stages-from-the-form.png"), full_page=True)
        page.close()
    assert not errors


def test_the_form_starts_the_open_model_and_the_chart_plots_the_rate(
        browser: Any, plain_target: Target) -> None:
    plain_target.reset_counts()
    errors: list[str] = []
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        page = _open(browser, ui, errors)
        page.select_option("#model-input", "arrival")
        assert page.is_visible("#arrival-rate-input") and page.is_visible("#max-lateness-input")
        page.fill("#arrival-rate-input", "20")
        page.fill("#max-users-input", "3")
        page.fill("#max-lateness-input", "2s")
        page.fill("#runtime-input", "4s")
        page.click("button[data-tab='charts']")
        page.click("#start-btn")
        page.wait_for_function("!document.getElementById('arrival-box').hidden",
                               timeout=WAIT_MS)
        page.wait_for_function("document.getElementById('state').textContent === 'stopped'",
                               timeout=WAIT_MS)
        state = ui.api("/api/state").json()
        assert state["model"] == "arrival"
        assert state["arrival"]["max_lateness_s"] == 2
        served = plain_target.counts().total
        assert state["total"]["requests"] == served
        assert 80 * 0.8 <= served <= 80 * 1.1  # 20/s for 4 s
        page.wait_for_function(
            f"window.horde.history().t.length === {state['history_len']}", timeout=WAIT_MS)
        rate = _series(page, "Iterations per second (open model)")
        assert rate["visible"]
        assert 20.0 in rate["Target iterations/s"]
        done = [n for n in rate["Iterations/s"] if n is not None]
        assert done and max(done) >= 15  # what ran, second by second
        assert sum(done) <= state["arrival"]["iterations"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "open-model-from-the-form.png"), full_page=True)
        page.close()
    assert not errors


class Wave(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        return (1, 1.0) if self.get_run_time() < 60 else None


def test_with_a_shape_the_form_says_the_shape_drives_the_run(
        browser: Any, plain_target: Target) -> None:
    errors: list[str] = []
    with LiveUI([PlainVisitor], plain_target.url, plan=ShapePlan(Wave())) as ui:
        page = _open(browser, ui, errors)
        page.wait_for_selector("#shape-note:not([hidden])", timeout=WAIT_MS)
        assert "load shape Wave drives the run" in page.inner_text("#shape-note")
        assert page.is_hidden("#model-input") and page.is_hidden("#users-input")
        page.click("#start-btn")
        page.wait_for_function("['spawning', 'running'].includes("
                               "document.getElementById('state').textContent)", timeout=WAIT_MS)
        assert ui.api("/api/state").json()["model"] == "shape"
        assert page.is_hidden("#edit-btn")
        page.close()
    assert not errors
