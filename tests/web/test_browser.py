"""The web UI in headless Chromium (Playwright), on a real local run against a real target.

Start a test from the form, see the table fill and the charts draw, change the
number of users, stop; download the HTML report and open it with the network
off, and see its charts. Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.target import Target
from tests.web.chromium import ARTIFACTS, WAIT_MS, needs_chromium
from tests.web.fakes import FakeFleet
from tests.web.harness import LiveUI
from tests.web.scripts import PlainVisitor

pytestmark = needs_chromium


def _charts_drawn(page: Any, root: str) -> list[dict[str, Any]]:
    """Size of each chart canvas under `root`, and whether anything is painted on it."""
    result: list[dict[str, Any]] = page.evaluate(
        """(root) => Array.from(document.querySelectorAll(root + ' canvas')).map(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let painted = 0;
             for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) painted++;
             return {w: c.width, h: c.height, painted: painted};
           })""",
        root,
    )
    return result


def test_ui_drives_a_real_run_and_the_report_works_offline(
        browser: Any, plain_target: Target, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      accept_downloads=True)
        page = context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.goto(ui.url + "/")
        page.wait_for_function("document.getElementById('state').textContent === 'ready'",
                               timeout=WAIT_MS)
        assert page.is_visible("#start-form")
        # The form comes filled with the defaults the CLI passed (here: the host).
        page.wait_for_function(
            f"document.getElementById('host-input').value === {plain_target.url!r}",
            timeout=WAIT_MS)

        # Start a test from the form.
        page.fill("#users-input", "2")
        page.fill("#rate-input", "20")
        page.click("#start-btn")
        page.wait_for_function("document.querySelectorAll('#stats-body tr').length === 3",
                               timeout=WAIT_MS)
        assert page.is_hidden("#start-form")
        assert "/fail" in page.inner_text("#stats-body")
        page.wait_for_function("document.getElementById('users').textContent === '2'",
                               timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "1-running-stats.png"), full_page=True)

        # The charts draw the history.
        page.click("button[data-tab=charts]")
        page.wait_for_function("window.horde.history().t.length >= 3", timeout=WAIT_MS)
        # The open model's iterations chart stays hidden in the closed model.
        page.wait_for_function(
            "document.querySelectorAll('#charts .chart:not([hidden]) canvas').length === 3",
            timeout=WAIT_MS)
        page.wait_for_timeout(300)  # one animation frame or so for uPlot to paint
        charts = _charts_drawn(page, "#charts .chart:not([hidden])")
        assert len(charts) == 3
        assert all(c["w"] > 100 and c["h"] > 100 and c["painted"] > 0 for c in charts), charts
        page.screenshot(path=str(ARTIFACTS / "2-charts.png"), full_page=True)

        # Change the number of users.
        page.click("#edit-btn")
        page.fill("#edit-users", "4")
        page.fill("#edit-rate", "20")
        page.click("#edit-submit")
        page.wait_for_function("document.getElementById('users').textContent === '4'",
                               timeout=WAIT_MS)
        assert ui.call(lambda: sum(ui.runner.counts().values())) == 4  # type: ignore[union-attr]

        # A bad value is refused with the server's message; the test goes on.
        page.click("#edit-btn")
        page.fill("#edit-users", "3")
        page.fill("#edit-rate", "0")  # the form allows it, the API does not
        page.click("#edit-submit")
        page.wait_for_selector("#edit-error:not([hidden])", timeout=WAIT_MS)
        assert "'spawn_rate' must be a number > 0" in page.inner_text("#edit-error")
        page.click("#edit-cancel")
        assert page.inner_text("#state") in ("running", "spawning")
        assert ui.call(lambda: ui.runner.target_users) == 4  # type: ignore[union-attr]

        # Stop.
        page.click("#stop-btn")
        page.wait_for_function("document.getElementById('state').textContent === 'stopped'",
                               timeout=WAIT_MS)
        assert page.is_visible("#new-btn")
        page.click("button[data-tab=stats]")
        page.screenshot(path=str(ARTIFACTS / "3-stopped.png"), full_page=True)

        # Download the HTML report.
        page.click("button[data-tab=downloads]")
        with page.expect_download(timeout=WAIT_MS) as download_info:
            page.click("#dl-report")
        report = tmp_path / "report.html"
        download_info.value.save_as(str(report))
        (ARTIFACTS / "report.html").write_bytes(report.read_bytes())
        assert not page_errors, page_errors
        page.click("#new-btn")
        assert page.is_visible("#start-form") and page.is_hidden("#new-btn")
        context.close()
        # What the page showed is what reached the target.
        assert plain_target.counts().route("GET", "/fast") > 0


    # Open the report with the network disabled: everything it needs is inline.
    offline = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    remote: list[str] = []
    offline.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        "file:") else (remote.append(route.request.url), route.abort()))
    page = offline.new_page()
    page.on("request", lambda req: None if req.url.startswith("file:") else remote.append(req.url))
    report_errors: list[str] = []
    page.on("pageerror", lambda exc: report_errors.append(str(exc)))
    page.goto(report.as_uri())
    page.wait_for_function("window.hordeReport && window.hordeReport.history.t.length >= 3",
                           timeout=WAIT_MS)
    page.wait_for_timeout(300)
    charts = _charts_drawn(page, "#charts .chart:not([hidden])")
    assert len(charts) == 3
    assert all(c["w"] > 100 and c["h"] > 100 and c["painted"] > 0 for c in charts), charts
    assert "/bytes/100" in page.inner_text("body")
    assert not remote, remote
    assert not report_errors, report_errors
    page.screenshot(path=str(ARTIFACTS / "4-report-offline.png"), full_page=True)
    offline.close()


def test_500_endpoints_a_fleet_and_the_health_banner(browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LiveUI([], None, controller=lambda: FakeFleet(500)) as ui:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(ui.url + "/")
        page.wait_for_function("document.querySelectorAll('#stats-body tr').length === 500",
                               timeout=WAIT_MS)
        # Several pushes later the table is still 500 rows (rebuilt, not appended).
        page.wait_for_timeout(2500)
        assert page.locator("#stats-body tr").count() == 500
        render_ms = page.evaluate("window.horde.renderMs()")
        print(f"rendering 500 endpoints took {render_ms:.1f} ms in the page")

        # Sorting by a column: descending requests puts the busiest endpoint first.
        page.click("th[data-sort=requests]")
        assert page.inner_text("#stats-body tr:first-child td.name") == "/items/499"

        assert page.is_visible("#health-banner")
        assert "generator CPU at 95%" in page.inner_text("#health-banner")
        assert page.inner_text("#workers-count") == "3"

        page.click("button[data-tab=workers]")
        page.wait_for_selector("#workers-body tr", timeout=WAIT_MS)
        classes = page.eval_on_selector_all("#workers-body tr",
                                            "rows => rows.map(r => r.className)")
        assert classes == ["", "saturated", "saturated"]
        # Saturated rows look different: another background colour. Queried and
        # read in one script: each push rebuilds the rows, and a cell found by
        # one call and read by the next may be detached by then (style '').
        colours = page.evaluate(
            """() => Array.from(document.querySelectorAll('#workers-body tr td:first-child'),
                                c => getComputedStyle(c).backgroundColor)""")
        assert colours[0] != colours[1] == colours[2]
        page.screenshot(path=str(ARTIFACTS / "5-fleet-workers.png"), full_page=True)
        page.close()


def test_basic_auth_in_the_browser_live_view_included(browser: Any, plain_target: Target) -> None:
    with LiveUI([PlainVisitor], plain_target.url, auth=("ann", "s3cret")) as ui:
        # (Without credentials every route is a 401: see test_api.py.)
        context = browser.new_context(http_credentials={"username": "ann", "password": "s3cret"})
        page = context.new_page()
        page.goto(ui.url + "/")
        # The host is only known from the pushed state: the WebSocket got through too.
        page.wait_for_function(
            f"document.getElementById('host').textContent === {plain_target.url!r}",
            timeout=WAIT_MS)
        assert ui.server is not None and ui.server.hub.clients == 1
        context.close()


_HOSTILE_PAGE = """<!doctype html><title>hostile</title>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink">
  <input name='{"users": 5, "spawn_rate": 50, "host": "TARGET", "x": "' value='"}'>
</form>
<script>
window.results = {};
async function attack(ui) {
  const body = JSON.stringify({users: 5, spawn_rate: 50, host: "TARGET"});
  // A "simple" request: no preflight, the browser sends it and hides the answer.
  try {
    await fetch(ui + "/api/start", {method: "POST", mode: "no-cors",
                                    headers: {"Content-Type": "text/plain"}, body: body});
    results.simple = "sent";
  } catch (e) { results.simple = "failed: " + e; }
  // A JSON request needs a preflight, which the UI does not grant.
  try {
    const r = await fetch(ui + "/api/start", {method: "POST",
                                              headers: {"Content-Type": "application/json"},
                                              body: body});
    results.json = "answered " + r.status;
  } catch (e) { results.json = "blocked"; }
  // A form POST into a frame.
  await new Promise((resolve) => {
    const frame = document.getElementById("sink");
    frame.onload = () => resolve();
    const form = document.getElementById("form");
    form.action = ui + "/api/start";
    form.submit();
  });
  results.form = "sent";
  // The live state over a WebSocket.
  results.ws = await new Promise((resolve) => {
    const ws = new WebSocket(ui.replace("http:", "ws:") + "/ws");
    ws.onmessage = (m) => { ws.close(); resolve("read the state: " + m.data.slice(0, 40)); };
    ws.onerror = () => resolve("refused");
    ws.onclose = () => resolve("closed");
  });
  return results;
}
</script>"""


def test_a_page_from_another_port_cannot_start_a_test(browser: Any, plain_target: Target,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    import http.server
    import threading

    page_html = _HOSTILE_PAGE.replace("TARGET", plain_target.url).encode()

    class Hostile(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server naming
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page_html)))
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args: Any) -> None:
            pass

    hostile = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    serving = threading.Thread(target=hostile.serve_forever, daemon=True)
    serving.start()
    try:
        with LiveUI([PlainVisitor], plain_target.url) as ui, \
                caplog.at_level("WARNING", logger="horde.web.guard"):
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{hostile.server_address[1]}/")
            results = page.evaluate("(ui) => attack(ui)", ui.url)
            # The requests did reach the UI, and the guard refused them.
            refused = " ".join(r.getMessage() for r in caplog.records)
            assert "refused POST /api/start" in refused and "refused GET /ws" in refused
            assert results["simple"] == "sent"  # the browser did send it...
            assert results["json"] == "blocked"  # ...and never sent this one
            assert results["form"] == "sent"
            assert results["ws"] in ("refused", "closed"), results
            # ...and nothing started: the UI is idle, the target saw no request.
            state = ui.api("/api/state").json()
            assert state["state"] == "ready", results
            assert ui.call(lambda: ui.runner.state) == "ready"  # type: ignore[union-attr]
            page.close()
            # The UI's own page still works in the same browser.
            own = browser.new_page()
            own.goto(ui.url + "/")
            own.wait_for_function("document.getElementById('state').textContent === 'ready'",
                                  timeout=WAIT_MS)
            own.close()
        assert plain_target.counts().received == 0
    finally:
        hostile.shutdown()
        hostile.server_close()


def test_open_model_figures_on_the_page(browser: Any, plain_target: Target) -> None:
    from horde.plan.arrival import ArrivalRate

    with LiveUI([PlainVisitor], plain_target.url, plan=ArrivalRate(40.0, users=4)) as ui:
        page = browser.new_page()
        page.goto(ui.url + "/")
        page.wait_for_function("document.getElementById('state').textContent === 'ready'",
                               timeout=WAIT_MS)
        assert page.is_hidden("#arrival-box")  # nothing to show before the open model runs
        assert ui.api("/api/start", {"users": 1, "spawn_rate": 1}).status == 200
        page.wait_for_function("!document.getElementById('arrival-box').hidden",
                               timeout=WAIT_MS)
        # achieved / wanted: the wanted rate is the plan's, over every process.
        page.wait_for_function(
            "document.getElementById('arrival-rate').textContent.endsWith('/ 40.0')",
            timeout=WAIT_MS)
        assert page.is_visible("#dropped-box")
        assert page.inner_text("#dropped") == "0"
        state = ui.api("/api/state").json()
        assert state["arrival"]["target_rate"] == 40.0
        page.close()
