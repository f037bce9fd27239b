"""The distributed roles as a person meets them on the command line.

A master nobody joins, a worker with nobody to join, and a master steered from
its web UI (the JSON API) with a real worker. Loopback only; every process is
ended by PID (`Fleet.close`); every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import urllib.request
from typing import Any

import pytest

from tests.distributed.fleet_procs import Fleet, free_port, joined, wait_until, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow




def test_a_master_nobody_joins_gives_up_in_words_with_exit_2(fleet: Fleet) -> None:
    script = write_script(fleet.directory / "m")
    master = fleet.master(free_port(), script, "http://127.0.0.1:9", "-u", "2", "-t", "2s",
                          "--expect-workers", "2", "--expect-workers-max-wait", "1s",
                          "--csv", str(fleet.directory / "never"))
    assert master.wait(30) == 2
    out = master.stdout()
    assert "waiting for 2 workers to connect" in out
    assert "only 0 of 2 workers connected within 1 s (--expect-workers-max-wait)" in out
    assert "Traceback" not in master.stderr()
    assert not (fleet.directory / "master.json").exists()  # no test ran, no result
    assert not list(fleet.directory.glob("never*"))


def test_a_worker_with_no_master_retries_then_exits_1_and_notes_ignored_options(
        fleet: Fleet) -> None:
    worker = fleet.worker(free_port(), "--reconnect-timeout", "1s", "-u", "5")
    assert worker.wait(20) == 1
    err = worker.stderr()
    assert "a worker ignores --users: its master decides those" in err
    assert "no master answered at tcp://127.0.0.1:" in err and "within 1 s" in err
    assert "Traceback" not in err


def _api(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    method = "GET" if body is None else "POST"
    # As the UI's own page: actions name it as their Origin (horde/web/guard.py).
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"content-type": "application/json",
                                              "origin": base})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return dict(json.loads(answer.read()))


def test_a_master_steered_from_its_web_ui(fleet: Fleet, plain_target: Target) -> None:
    port, web_port = free_port(), free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.start("master", ["--master", "--master-bind-host", "127.0.0.1",
                                    "--master-bind-port", str(port), "-f", str(script),
                                    "-H", plain_target.url, "--web-port", str(web_port),
                                    "--json", str(fleet.directory / "master.json")])
    worker = fleet.worker(port, "--reconnect-timeout", "20s")
    base = f"http://127.0.0.1:{web_port}"
    wait_until(joined(master, 1), 20, "the worker to join")
    wait_until(lambda: "web UI at" in master.stdout(), 20, "the web UI")
    state = _api(base, "/api/state")
    assert state["state"] == "ready"
    assert [w["state"] for w in state["workers"]] == ["ready"]
    assert f"-{worker.pid}-" in state["workers"][0]["id"]

    assert _api(base, "/api/start", {"users": 4, "spawn_rate": 10})["state"] == "spawning"
    wait_until(lambda: _api(base, "/api/state")["workers"][0]["users"] == 4, 20, "4 users")
    wait_until(lambda: _api(base, "/api/state")["total"]["requests"] > 20, 20, "requests")
    state = _api(base, "/api/state")
    assert state["workers"][0]["state"] == "running"
    assert state["counts"] == {"Plain": 4}
    _api(base, "/api/stop", {})
    wait_until(lambda: _api(base, "/api/state")["state"] == "stopped", 20, "the stop")

    master.popen.send_signal(signal.SIGINT)
    assert master.wait(30) == 0, master.stdout() + master.stderr()
    assert worker.wait(15) == 0  # the master said Quit
    result = json.loads((fleet.directory / "master.json").read_text())
    assert result["total"]["requests"] == plain_target.counts().route("GET", "/fast") > 20
    assert [w["requests"] for w in result["workers"]] == [result["total"]["requests"]]
    assert "Traceback" not in master.stderr() + worker.stderr()
