"""Blocking calls in tasks, with real horde processes against a counting target.

* `time.sleep` in a sync task pauses only that user (issue 8, item 5): the
  counts are exact and every user keeps its own pace, locally and over
  `--processes 2`;
* a CPU-bound task that holds the event loop for a second is named, file and
  line, in the log and in the result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow

SLEEPER = """
import time
from time import sleep

from horde import HttpUser, constant, task


class Sleeper(HttpUser):
    wait_time = constant(0)

    @task
    def read(self):
        self.client.get("/fast")
        time.sleep(0.5)
        sleep(0.5)   # bound at import: the same cooperative sleep
"""

BLOCKER = """
import time

from horde import HttpUser, constant, task


def crunch(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


class Blocker(HttpUser):
    wait_time = constant(0.2)

    @task
    def work(self):
        self.client.get("/fast")
        crunch(1.0)
"""

USERS = 10


def _check_sleepers(run_result: dict[str, object], target: Target) -> None:
    total = run_result["total"]["requests"]  # type: ignore[index]
    assert total == target.counts().route("GET", "/fast")
    # Cooperative: every user makes a request each second of the 3 s test, so
    # at least two rounds of USERS requests. Had time.sleep blocked the
    # process, all users together would make about one request a second.
    assert total >= 2 * USERS
    assert run_result["total"]["failures"] == 0  # type: ignore[index]


def test_time_sleep_in_tasks_pauses_only_the_user(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SLEEPER)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", str(USERS),
                     "-r", "100", "-t", "3s"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    _check_sleepers(run.result, plain_target)
    assert "blocked the event loop" not in run.stderr


def test_time_sleep_in_tasks_distributed_counts_are_exact(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SLEEPER)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", str(USERS),
                     "-r", "100", "-t", "3s", "--processes", "2"], tmp_path,
                    json_path=tmp_path / "r.json", timeout=90)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    _check_sleepers(run.result, plain_target)
    assert [w["state"] for w in run.result["workers"]] != []
    assert all(w["state"] not in ("missing", "lost") for w in run.result["workers"])
    assert "missing" not in run.stderr


def _blocker_line(source: str) -> tuple[int, int]:
    lines = source.splitlines()
    task_line = next(i for i, ln in enumerate(lines, 1) if "crunch(1.0)" in ln)
    loop_line = next(i for i, ln in enumerate(lines, 1) if "while time.monotonic()" in ln)
    return task_line, loop_line


def test_a_task_that_blocks_the_loop_is_named(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, BLOCKER)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "1",
                     "-r", "10", "-t", "3s"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    task_line, loop_line = _blocker_line(BLOCKER)
    named = f"Blocker.work (hordefile.py:{task_line}, in crunch at hordefile.py:{loop_line})"
    [warning] = [w for w in run.result["generator"]["warnings"] if "blocked the event loop" in w]
    assert warning.startswith(named)
    # In the log too, and once: the task blocked the loop several times.
    assert run.stderr.count("blocked the event loop") == 1, run.stderr
    assert named in run.stderr


def test_a_blocking_task_on_a_worker_is_named_in_its_warnings(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, BLOCKER)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "1",
                     "-r", "10", "-t", "3s", "--processes", "1"], tmp_path,
                    json_path=tmp_path / "r.json", timeout=90)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    task_line, _ = _blocker_line(BLOCKER)
    [worker] = run.result["workers"]
    assert any(w.startswith(f"Blocker.work (hordefile.py:{task_line}")
               for w in worker["warnings"]), worker
    assert worker["state"] not in ("missing", "lost")
