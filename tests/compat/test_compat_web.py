"""environment.web_ui routes, --autostart and --autoquit, in a real web-UI run."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.integration.horde_process import finish, start_horde, write_script
from tests.support.target import Target

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def test_script_route_autostart_autoquit(tmp_path: Path, plain_target: Target) -> None:
    write_script(tmp_path, """
        from locust import HttpUser, task, constant, events

        @events.init.add_listener
        def add_page(environment, **kw):
            assert environment.web_ui is not None

            @environment.web_ui.app.route("/my-total")
            def my_total():
                return {"requests": environment.stats.total.num_requests,
                        "state": environment.runner.state}

        class U(HttpUser):
            wait_time = constant(0.05)
            @task
            def t(self):
                self.client.get("/fast")
    """, "locustfile.py")
    proc = start_horde(["-H", plain_target.url, "--web-port", "0", "--autostart", "-u", "2",
                        "-r", "10", "-t", "2s", "--autoquit", "1s"], tmp_path)
    assert proc.stdout is not None
    url = None
    for line in proc.stdout:
        if "web UI at" in line:
            url = line.split("web UI at ")[1].split()[0]
            break
    assert url is not None
    with _OPENER.open(url + "/my-total", timeout=10) as resp:
        page = json.load(resp)
    assert page["state"] in ("spawning", "running", "stopping", "stopped")
    run = finish(proc, None, timeout=60)  # --autoquit ends it without a signal
    assert run.returncode == 0, run.stderr
    assert plain_target.counts().route("GET", "/fast") > 0
