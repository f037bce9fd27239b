"""The open model (--arrival-rate) in real runs against a target that stalls.

The plain target's ``/stall?every_ms=5000&for_ms=500`` freezes for the last
0.5 s of every 5 s. At 200 iterations/s with 20 users, every user is busy
during a stall: about 100 iterations per stall wait for a user. Timed from
their intended start they took up to 0.5 s longer (the coordinated-omission
correction), so p95 over 20 s lands well above 150 ms, while the server's
own service time (from the first byte sent) stays low for all but the
handful of requests caught inside the stall.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target

STALL = """
from horde import HttpUser, constant, task

class U(HttpUser):
    wait_time = constant(5)  # ignored in the open model

    @task
    def stall(self):
        self.client.get("/stall?every_ms=5000&for_ms=500", name="/stall")
"""


@pytest.mark.parametrize("processes", [None, "2"], ids=["one-process", "processes-2"])
def test_open_model_against_a_stalling_target(plain_target: Target, tmp_path: Path,
                                              processes: str | None) -> None:
    write_script(tmp_path, STALL)
    args = ["-H", plain_target.url, "--headless", "--arrival-rate", "200", "-u", "20",
            "--max-lateness", "2s", "-t", "20s", "--only-summary", "--check", "p95<1ms"]
    if processes is not None:
        args += ["--processes", processes]
    run = run_horde(args, tmp_path, json_path=tmp_path / "r.json", timeout=120)
    assert run.returncode == 3, run.stdout + run.stderr  # the check failed, nothing else
    served = plain_target.counts().route("GET", "/stall")
    assert 4000 * 0.97 <= served <= 4000 * 1.03
    result = run.result
    assert result is not None
    total = result["total"]
    assert total["requests"] == served  # every request sent was answered and counted
    assert total["percentiles_ms"]["95"] >= 150
    assert total["service_percentiles_ms"]["95"] < total["percentiles_ms"]["95"]
    assert total["dropped_iterations"] == result["arrival"]["dropped_iterations"] == 0
    arrival = result["arrival"]
    assert arrival["target_rate"] == 200
    assert arrival["iterations"] >= served
    (endpoint,) = result["endpoints"]
    assert endpoint["percentiles_ms"]["95"] >= 150
    assert endpoint["service_percentiles_ms"]["95"] < endpoint["percentiles_ms"]["95"]
    assert "open model: target 200.0 it/s" in run.stdout


def test_iterations_later_than_max_lateness_are_dropped(plain_target: Target,
                                                        tmp_path: Path) -> None:
    # One user, a route that takes 300 ms, 20 iterations/s: most iterations find
    # the user busy for longer than 0.1 s and are dropped; the rest run.
    write_script(tmp_path, """
from horde import HttpUser, task

class U(HttpUser):
    @task
    def slow(self):
        self.client.get("/slow?ms=300", name="/slow")
""")
    run = run_horde(["-H", plain_target.url, "--headless", "--arrival-rate", "20", "-u", "1",
                     "--max-lateness", "0.1s", "-t", "3s", "--only-summary",
                     "--html", str(tmp_path / "r.html")],
                    tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.result is not None
    served = plain_target.counts().route("GET", "/slow")
    dropped = run.result["arrival"]["dropped_iterations"]
    assert 0 < served <= 11  # one user, 300 ms each, 3 s
    assert dropped >= 40
    # Each drop is charged to the endpoint of the next iteration that ran.
    (endpoint,) = run.result["endpoints"]
    assert dropped == run.result["total"]["dropped_iterations"]
    assert 0 < endpoint["dropped_iterations"] <= dropped
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Dropped iterations" in html and f">{dropped}<" in html
    # The report charts the plan's rate beside the iterations that started.
    found = re.search(r'"target_rate":\[([^\]]*)\]', html)
    assert found is not None and "20.0" in found.group(1).split(",")


def test_ramping_rate_runs_its_integral_and_ends_by_itself(plain_target: Target,
                                                          tmp_path: Path) -> None:
    # 0 -> 50/s over 1 s, then back to 0 over 1 s: exactly 50 iterations, then the run ends.
    write_script(tmp_path, """
from horde import HttpUser, task

class U(HttpUser):
    @task
    def fast(self):
        self.client.get("/fast")
""")
    run = run_horde(["-H", plain_target.url, "--headless", "--arrival-stages", "1s:50,1s:0",
                     "-u", "5", "--only-summary"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert plain_target.counts().route("GET", "/fast") == 50
    assert run.result is not None and run.result["arrival"]["iterations"] == 50
