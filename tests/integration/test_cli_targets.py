"""A real `horde` process against targets that misbehave, and a person at the keyboard.

Every run here is bounded (-t, --request-timeout, a timeout on the process),
talks to 127.0.0.1 only, and must never show a traceback on stderr.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.integration.horde_process import (
    finish,
    interrupt_when_busy,
    run_horde,
    start_horde,
    write_script,
)
from tests.integration.raw_servers import RawServer
from tests.support.target import Target

pytestmark = pytest.mark.slow


def test_refusing_resetting_garbling_and_stalling_targets_are_failures(tmp_path: Path) -> None:
    with RawServer("reset") as reset, RawServer("garbage") as garbage, \
            RawServer("close") as closing, RawServer("stall") as stall:
        refused = RawServer("ok")
        refused.close()  # a port nothing listens on any more
        script = write_script(tmp_path, f"""
            from horde import HttpUser, task, constant

            class Unlucky(HttpUser):
                wait_time = constant(0.2)

                @task
                def everything(self):
                    self.client.get("{reset.url}/r", name="reset")
                    self.client.get("{garbage.url}/g", name="garbage")
                    self.client.get("{closing.url}/c", name="close")
                    self.client.get("{refused.url}/x", name="refused")
                    self.client.get("{stall.url}/s", name="stall")
        """)
        run = run_horde(["-f", str(script), "-H", "http://127.0.0.1:9", "--headless", "-u", "1",
                         "-t", "1s", "--request-timeout", "1", "--only-summary"], tmp_path,
                        json_path=tmp_path / "r.json", timeout=60)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.result is not None
    errors = {e["name"]: e["error"] for e in run.result["errors"]}
    assert "reset by peer" in errors["reset"] or "ConnectionClosed" in errors["reset"]
    assert errors["garbage"].startswith("ResponseParseError")
    assert errors["close"].startswith("ConnectionClosed")
    assert errors["refused"].startswith("ConnectError")
    assert errors["stall"].startswith("ReadTimeout")
    total = run.result["total"]
    assert total["requests"] == total["failures"] >= 5


def test_a_host_path_prefix_goes_before_every_relative_url(tmp_path: Path) -> None:
    script = write_script(tmp_path, """
        from horde import HttpUser, task, constant

        class Prefixed(HttpUser):
            wait_time = constant(0.5)

            @task
            def items(self):
                self.client.get("/items?page=2")
    """)
    with RawServer("ok") as server:
        run = run_horde(["-f", str(script), "-H", f"{server.url}/api/v1/", "--headless",
                         "-u", "1", "-t", "1s", "--only-summary"], tmp_path,
                        json_path=tmp_path / "r.json")
        lines = list(server.lines)
    assert run.returncode == 0, run.stderr
    assert lines and set(lines) == {"GET /api/v1/items?page=2 HTTP/1.1"}
    assert run.result is not None
    assert [e["name"] for e in run.result["endpoints"]] == ["/items"]


def test_a_class_host_that_is_no_url_fails_the_run_in_words(tmp_path: Path) -> None:
    """Before: the user's constructor raised inside the ramp task, silently; the
    run had 0 users, 0 requests and exited 0 as if the target had passed."""
    script = write_script(tmp_path, """
        from horde import HttpUser, task, constant

        class NoScheme(HttpUser):
            host = "127.0.0.1:9"
            wait_time = constant(0.5)

            @task
            def home(self):
                self.client.get("/")
    """)
    run = run_horde(["-f", str(script), "--headless", "-u", "2", "-r", "10", "-t", "1s",
                     "--only-summary"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert run.result is not None
    [exc] = run.result["exceptions"]
    assert exc["where"] == "NoScheme (user could not be created)"
    assert "127.0.0.1:9" in exc["error"]
    assert exc["occurrences"] == 1  # tried once, not at every ramp tick


def test_ctrl_c_during_ramp_up_then_twice_against_a_stalled_target(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, f"""
        from horde import HttpUser, task, constant

        class Slow(HttpUser):
            wait_time = constant(0.05)

            @task
            def fast(self):
                self.client.get("{plain_target.url}/fast")
                self.client.get("/s", name="stall")
    """)
    with RawServer("stall") as stall:
        proc = start_horde(["-f", str(script), "-H", stall.url, "--headless", "-u", "40",
                            "-r", "4", "-t", "60s", "--request-timeout", "30"], tmp_path)
        # Some users started (4/s of 40), most not yet: ramping.
        interrupt_when_busy(proc, lambda: plain_target.counts().answered, at_least=3)
        time.sleep(1.0)  # the stalled requests hold the stop
        proc.send_signal(signal.SIGINT)
        run = finish(proc, None, timeout=30)
    assert "Traceback" not in run.stderr, run.stderr
    assert "stopping; waiting for requests in flight" in run.stdout
    assert "stopping at once; requests still in flight are abandoned and not counted" \
        in run.stdout
    assert "Aggregated" in run.stdout  # the summary still came
    assert run.returncode == 0, run.stderr
