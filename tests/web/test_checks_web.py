"""--check in the web UI: a real `horde` process serving the UI, a real target, Chromium.

The checks are shown live under the header, `--check-abort` stops a test
started from the page, the downloads carry the verdicts, and Ctrl-C ends the
process with exit code 3 and the checks in the JSON.
"""

from __future__ import annotations

import re
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.integration.horde_process import finish, start_horde, write_script
from tests.support.target import REPO_ROOT, Target
from tests.web.harness import http_json
from tests.web.waiting import wait_for

WAIT_MS = 20_000
ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"

SLOW = """
from horde import HttpUser, task

class U(HttpUser):
    @task
    def slow(self):
        self.client.get("/slow?ms=20", name="/slow")
"""


def _ui_url(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The URL from "horde: web UI at URL", read from the process's stdout with a deadline."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.5):
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"web UI at (http://\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no web UI URL from horde: {seen!r}")


def test_checks_live_in_the_ui_abort_and_exit_3(browser: Any, plain_target: Target,
                                                tmp_path: Path) -> None:
    write_script(tmp_path, SLOW)
    json_path = tmp_path / "r.json"
    proc = start_horde(["-H", plain_target.url, "--web-port", "0", "-u", "20", "-r", "20",
                        "--check", "p95 < 10s", "--check", "GET /slow: p95 < 1ms",
                        "--check-abort", "--json", str(json_path)], tmp_path)
    try:
        url = _ui_url(proc)
        page = browser.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('state').textContent === 'ready'",
                               timeout=WAIT_MS)
        page.wait_for_function("document.getElementById('users-input').value === '20'",
                               timeout=WAIT_MS)
        page.click("#start-btn")
        # 20 users at ~20 ms: the p95 check has its 100 requests within a second or two,
        # fails, and stops the test by itself.
        page.wait_for_function("document.getElementById('state').textContent === 'stopped'",
                               timeout=WAIT_MS)
        bar = page.locator("#checks-bar")
        assert bar.is_visible()
        failed = page.locator("#checks-bar .check.failed")
        assert failed.count() == 1
        assert "GET /slow: p95 < 1ms" in failed.inner_text()
        assert "stopped the run" in failed.inner_text()
        assert "stopped the run" in (failed.get_attribute("title") or "")
        passed = page.locator("#checks-bar .check.ok")
        assert passed.count() == 1 and "p95 < 10s" in passed.inner_text()
        assert not page_errors
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "checks-aborted.png"))

        state = http_json(url + "/api/state").json()
        assert [(c["expr"], c["ok"], c["aborted"]) for c in state["checks"]] == [
            ("p95 < 10s", True, False), ("GET /slow: p95 < 1ms", False, True)]
        report = http_json(url + "/download/result.json").json()
        assert report["checks"][1]["aborted"] is True
        html = http_json(url + "/download/report.html").body.decode()
        assert "<h2>Checks</h2>" in html and "FAILED (stopped the run)" in html
    finally:
        proc.send_signal(signal.SIGINT)
    run = finish(proc, json_path, timeout=30)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.result is not None
    assert [c["aborted"] for c in run.result["checks"]] == [False, True]
    assert "stopping the run (--check-abort)" in run.stdout


def test_a_ui_without_checks_shows_no_checks_row(browser: Any, plain_target: Target,
                                                 tmp_path: Path) -> None:
    write_script(tmp_path, SLOW)
    proc = start_horde(["-H", plain_target.url, "--web-port", "0"], tmp_path)
    try:
        url = _ui_url(proc)
        page = browser.new_page()
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('state').textContent === 'ready'",
                               timeout=WAIT_MS)
        assert page.locator("#checks-bar").is_hidden()
        state = wait_for(lambda: http_json(url + "/api/state").json(),
                         lambda s: s["state"] == "ready")
        assert state["checks"] == []
    finally:
        proc.send_signal(signal.SIGINT)
    assert finish(proc, None, timeout=30).returncode == 0
