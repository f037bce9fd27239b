"""`horde` with its web UI, as a real process: what Ctrl-C says and writes at the end.

The tests drive the UI over HTTP as its own page would (an Origin naming the
UI, JSON bodies), then send SIGINT as a person at the terminal does.
"""

from __future__ import annotations

import json
import re
import selectors
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.integration.horde_process import HordeRun, finish, start_horde, write_script
from tests.support.target import Target
from tests.web.waiting import wait_for

FAST = """
from horde import HttpUser, task, constant

class Fast(HttpUser):
    wait_time = constant(0.02)

    @task
    def fast(self):
        self.client.get("/fast")
"""

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_URL_LINE = re.compile(r"horde: web UI at (http://\S+) ")


def _ui_url(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """Read horde's stdout until it prints where the UI listens."""
    assert proc.stdout is not None
    seen: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = _URL_LINE.search(line)
            if found:
                return found.group(1)
    proc.kill()
    raise AssertionError(f"no web UI URL within {timeout} s; output: {''.join(seen)}")


def _call(url: str, path: str, body: Any = None, headers: dict[str, str] | None = None
          ) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method="POST" if data else "GET",
                                 headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
        req.add_header("Origin", url)  # as the UI's own page
    try:
        with _OPENER.open(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _state(url: str) -> dict[str, Any]:
    status, state = _call(url, "/api/state")
    assert status == 200
    return dict(state)


@contextmanager
def _web_horde(args: list[str], cwd: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = start_horde([*args, "--web-port", "0"], cwd)
    try:
        yield proc, _ui_url(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _quit(proc: subprocess.Popen[str], json_path: Path | None = None) -> HordeRun:
    proc.send_signal(signal.SIGINT)
    return finish(proc, json_path, timeout=30)


def test_ctrl_c_on_an_idle_ui_just_quits(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    with _web_horde(["-f", str(script), "-H", plain_target.url], tmp_path) as (proc, url):
        assert _state(url)["state"] == "ready"
        run = _quit(proc)
    assert run.returncode == 0, run.stderr
    assert "horde: quitting (no test is running)" in run.stdout
    assert "stopping the test" not in run.stdout
    assert "waiting for requests in flight" not in run.stdout
    assert "horde: no test was run" in run.stdout
    assert plain_target.counts().received == 0


def test_ctrl_c_while_a_test_runs_says_it_stops_it(tmp_path: Path,
                                                   plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    result = tmp_path / "result.json"
    with _web_horde(["-f", str(script), "-H", plain_target.url, "--json", str(result)],
                    tmp_path) as (proc, url):
        assert _call(url, "/api/start", {"users": 2, "spawn_rate": 20})[0] == 200
        wait_for(lambda: _state(url), lambda s: s["total"]["requests"] >= 10,
                 what="some requests")
        run = _quit(proc, result)
    assert "horde: quitting; stopping the test first; waiting for requests in flight" \
        in run.stdout
    assert run.result is not None
    assert run.result["total"]["requests"] == plain_target.counts().route("GET", "/fast")


def test_a_reset_after_the_stop_keeps_the_last_test_for_the_files(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    result = tmp_path / "result.json"
    with _web_horde(["-f", str(script), "-H", plain_target.url, "--json", str(result)],
                    tmp_path) as (proc, url):
        assert _call(url, "/api/start", {"users": 2, "spawn_rate": 20})[0] == 200
        wait_for(lambda: _state(url), lambda s: s["total"]["requests"] >= 10,
                 what="some requests")
        assert _call(url, "/api/stop", {})[0] == 200
        stopped = wait_for(lambda: _state(url), lambda s: s["state"] == "stopped",
                           what="stopped")
        sent = stopped["total"]["requests"]
        # "Reset stats" on a stopped test: the page starts from zero...
        assert _call(url, "/api/reset", {})[0] == 200
        assert _state(url)["total"]["requests"] == 0
        run = _quit(proc, result)
    # ...but the last test's results are what the summary and --json are about.
    assert "no test was run" not in run.stdout
    assert "Aggregated" in run.stdout
    assert run.result is not None, run.stdout + run.stderr
    assert run.result["total"]["requests"] == sent == plain_target.counts().route("GET", "/fast")
    assert run.returncode == 0, run.stderr


def test_a_new_test_after_a_reset_is_the_one_written(tmp_path: Path,
                                                     plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    result = tmp_path / "result.json"
    with _web_horde(["-f", str(script), "-H", plain_target.url, "--json", str(result)],
                    tmp_path) as (proc, url):
        served = []  # what the target had answered after each test
        for _ in range(2):
            assert _call(url, "/api/start", {"users": 1, "spawn_rate": 20})[0] == 200
            wait_for(lambda: _state(url), lambda s: s["total"]["requests"] >= 5,
                     what="some requests")
            assert _call(url, "/api/stop", {})[0] == 200
            wait_for(lambda: _state(url), lambda s: s["state"] == "stopped", what="stopped")
            served.append(plain_target.counts().route("GET", "/fast"))
            assert _call(url, "/api/reset", {})[0] == 200
        run = _quit(proc, result)
    assert run.result is not None
    # The second test only: the first one's requests are not in it.
    assert run.result["total"]["requests"] == served[1] - served[0] > 0


def test_allowed_host_from_the_command_line(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    with _web_horde(["-f", str(script), "-H", plain_target.url,
                     "--web-allowed-host", "horde.example"], tmp_path) as (proc, url):
        port = url.rsplit(":", 1)[1]
        assert _call(url, "/api/state", headers={"Host": f"horde.example:{port}"})[0] == 200
        status, answer = _call(url, "/api/state", headers={"Host": f"evil.example:{port}"})
        assert status == 403 and "--web-allowed-host evil.example" in answer["error"]
        _quit(proc)


def test_processes_2_run_stages_then_the_open_model_from_the_ui(
        tmp_path: Path, plain_target: Target) -> None:
    # A master and two worker processes: the master follows the plan the UI chose and
    # splits it (users, and the open model's rate) over the workers.
    script = write_script(tmp_path, FAST)
    with _web_horde(["-f", str(script), "-H", plain_target.url, "--processes", "2"],
                    tmp_path) as (proc, url):
        wait_for(lambda: _state(url), lambda s: len(s["workers"]) == 2, what="two workers")
        status, answer = _call(url, "/api/start", {"model": "stages",
                                                   "stages": "0s:2,2s:2,1s:0"})
        assert status == 200, answer
        state = wait_for(lambda: _state(url), lambda s: s["state"] == "stopped",
                         timeout=30, what="the stages to end the test")
        assert state["model"] == "stages"
        served = plain_target.counts().route("GET", "/fast")
        assert state["total"]["requests"] == served > 0
        status, history = _call(url, "/api/history")
        assert 2.0 in history["target_users"]

        plain_target.reset_counts()
        status, answer = _call(url, "/api/start", {"model": "arrival", "arrival_rate": 30,
                                                   "users": 4, "max_lateness": "2s",
                                                   "run_time": "4s"})
        assert status == 200, answer
        state = wait_for(lambda: _state(url), lambda s: s["state"] == "stopped",
                         timeout=30, what="-t to end the open-model test")
        served = plain_target.counts().route("GET", "/fast")
        assert state["total"]["requests"] == served
        assert 120 * 0.9 <= served <= 120 * 1.05  # 30/s for 4 s, over both workers
        assert state["arrival"]["target_rate"] == 30
        status, history = _call(url, "/api/history")
        assert 30.0 in history["target_rate"]
        assert sum(n or 0 for n in history["iterations"]) <= state["arrival"]["iterations"]
        run = _quit(proc)
    assert run.returncode == 0, run.stderr
