"""Load plans in real processes: a LoadTestShape and --stages are followed and end the run.

The shape below has three stages of 3 s (2, 5, then 1 user) and then says
None. The JSON history has one row per test second with the users running
when that second closed, so "followed second by second" is read from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow

SHAPE = """
from horde import HttpUser, LoadTestShape, constant, task

class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def fast(self):
        self.client.get("/fast")

class ThreeStages(LoadTestShape):
    stages = [(3, 2), (6, 5), (9, 1)]

    def tick(self):
        run_time = self.get_run_time()
        for end, users in self.stages:
            if run_time < end:
                return (users, 1000)
        return None
"""

PLAN = [2, 2, 2, 5, 5, 5, 1, 1, 1]


def _users_per_second(result: dict) -> list[int]:  # type: ignore[type-arg]
    return [row["users"] for row in result["history"]]


def _changes(values: list[int]) -> list[int]:
    out: list[int] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def _without_steps_between(values: list[int]) -> list[int]:
    """Drop each value strictly between its two neighbours (a change half reported)."""
    return [v for i, v in enumerate(values)
            if i in (0, len(values) - 1) or not (min(values[i - 1], values[i + 1]) < v
                                                 < max(values[i - 1], values[i + 1]))]


def test_a_shape_is_followed_second_by_second_and_ends_the_run(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SHAPE)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "50",
                     "--only-summary"], tmp_path, json_path=tmp_path / "r.json", timeout=90)
    assert run.returncode == 0, run.stderr
    assert "-u/-r are ignored" in run.stderr  # as in Locust
    assert run.result is not None
    assert _users_per_second(run.result)[:9] == PLAN
    assert 9 <= run.result["duration_s"] < 10.5  # ended by itself, at the plan's end
    assert run.result["total"]["requests"] == plain_target.counts().total > 0


def test_a_shape_with_processes_runs_on_the_master(tmp_path: Path,
                                                   plain_target: Target) -> None:
    script = write_script(tmp_path, SHAPE)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless",
                     "--processes", "2", "--only-summary"], tmp_path,
                    json_path=tmp_path / "r.json", timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    users = _users_per_second(run.result)
    # Workers report their users once a second, so a change may show a second
    # late, one worker before the other: a second in between its neighbours.
    assert _without_steps_between(_changes([u for u in users if u])) == [2, 5, 1], users
    assert 9 <= run.result["duration_s"] < 11.5
    assert run.result["total"]["requests"] == plain_target.counts().total > 0
    assert len(run.result["workers"]) == 2


def test_run_time_still_ends_a_shape_early(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SHAPE)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-t", "5s",
                     "--only-summary"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    # The row of second 4 closes as -t fires (either may come first): not asserted.
    assert _users_per_second(run.result)[:4] == PLAN[:4]
    assert run.result["duration_s"] < 6


def test_stages_ramp_hold_and_end(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SHAPE.split("class ThreeStages")[0])
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless",
                     "--stages", "2s:4,2s:4,1s:0", "--only-summary"], tmp_path,
                    json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    users = _users_per_second(run.result)
    # 4 users over 2 s: one at 0, 0.5, 1 and 1.5 s; held for 2 s; stopped within the last.
    assert users[:4] == [2, 4, 4, 4], users
    assert 5 <= run.result["duration_s"] < 6.5
    assert run.result["total"]["requests"] == plain_target.counts().total > 0


def test_a_shape_and_stages_exclude_each_other(tmp_path: Path) -> None:
    script = write_script(tmp_path, SHAPE)
    run = run_horde(["-f", str(script), "-H", "http://127.0.0.1:9", "--headless",
                     "--stages", "1s:1"], tmp_path)
    assert run.returncode == 2
    assert "use one or the other" in run.stderr and "Traceback" not in run.stderr


STOPPER = """
from horde import HttpUser, StopUser, constant, task

class Stopper(HttpUser):
    wait_time = constant(0)

    @task
    def once(self):
        self.client.get("/fast", name="stopper")
        raise StopUser()

class Other(HttpUser):
    wait_time = constant(0.1)

    @task
    def work(self):
        self.client.get("/fast", name="other")
"""


def _requests(result: dict, name: str) -> int:  # type: ignore[type-arg]
    return sum(e["requests"] for e in result["endpoints"] if e["name"] == name)


@pytest.mark.parametrize("extra", [[], ["--processes", "2"]], ids=["local", "processes"])
def test_users_that_stop_themselves_stay_stopped(tmp_path: Path, plain_target: Target,
                                                 extra: list[str]) -> None:
    """Issue 14: before, stoppers were started again and again (300 requests from 4)."""
    script = write_script(tmp_path, STOPPER)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "4",
                     "-r", "4", "-t", "4s", "--only-summary", *extra], tmp_path,
                    json_path=tmp_path / "r.json", timeout=90)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    assert _requests(run.result, "stopper") == 2
    assert _requests(run.result, "other") > 0
    # Only the users that run are counted: never the 4 asked for.
    assert max(row["users"] for row in run.result["history"]) == 2
    assert run.result["total"]["requests"] == plain_target.counts().total


def test_a_fleet_whose_users_stop_themselves_reaches_running(tmp_path: Path,
                                                            plain_target: Target) -> None:
    """The master's "running" needs every worker at its share; a user that stopped
    itself stays stopped, so "at its share" is what the worker says, not a count."""
    import signal

    from tests.distributed.fleet_procs import free_port
    from tests.integration.horde_process import finish, start_horde
    from tests.web.harness import http_json
    from tests.web.waiting import wait_for

    script = write_script(tmp_path, STOPPER)
    port = free_port()
    proc = start_horde(["-f", str(script), "-H", plain_target.url, "--processes", "1",
                        "--web-port", str(port)], tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answer(url + "/api/state"), lambda a: a is not None, 60,
                 what="the web UI")
        started = http_json(url + "/api/start", "POST", {"users": 4, "spawn_rate": 100},
                            headers={"Origin": url})  # as the UI's own page sends it
        assert started.status == 200, started.json()
        state = wait_for(lambda: http_json(url + "/api/state").json(),
                         lambda s: s["state"] == "running", 30, what="running")
        assert state["users"] == 2
    finally:
        proc.send_signal(signal.SIGINT)
        finish(proc, None, timeout=60)


def _answer(url: str) -> object | None:
    from tests.web.harness import http_json

    try:
        return http_json(url).json()
    except OSError:
        return None
