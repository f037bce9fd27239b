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
    # Workers report their users once a second, so a change may show a second late.
    assert _changes([u for u in users if u]) == [2, 5, 1], users
    assert 9 <= run.result["duration_s"] < 11.5
    assert run.result["total"]["requests"] == plain_target.counts().total > 0
    assert len(run.result["workers"]) == 2


def test_run_time_still_ends_a_shape_early(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SHAPE)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-t", "4s",
                     "--only-summary"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    assert _users_per_second(run.result)[:4] == PLAN[:4]
    assert run.result["duration_s"] < 5


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
