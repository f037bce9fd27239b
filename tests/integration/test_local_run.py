"""A real `horde` process against a real counting target on loopback.

The target counts every response it sends before sending it; horde's totals
must equal those counts, per endpoint, and its failures must equal the error
responses the target sent.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.integration.horde_process import (
    finish,
    interrupt_when_busy,
    run_horde,
    start_horde,
    write_script,
)
from tests.support.target import Target

pytestmark = pytest.mark.slow

MIXED = """
from horde import HttpUser, task, constant

class Mixed(HttpUser):
    wait_time = constant(0.005)

    @task(3)
    def fast(self):
        self.client.get("/fast")

    @task(1)
    async def fail(self):
        await self.client.get("/fail")

    @task(1)
    def named(self):
        self.client.get("/status/404?x=1", name="/status/[code]")
"""


def test_totals_equal_what_the_target_answered(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, MIXED)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "8",
                     "-r", "8", "-t", "3s", "--csv", str(tmp_path / "out")],
                    tmp_path, json_path=tmp_path / "result.json")
    assert run.returncode == 1, run.stderr  # /fail answered 500: a failed request
    counts = plain_target.counts()
    fast, fail = run.endpoint("GET", "/fast"), run.endpoint("GET", "/fail")
    named = run.endpoint("GET", "/status/[code]")
    assert fast["requests"] == counts.route("GET", "/fast") > 0
    assert fail["requests"] == counts.route("GET", "/fail") > 0
    assert named["requests"] == counts.route("GET", "/status/{code}") > 0
    assert fast["failures"] == 0
    assert fail["failures"] == counts.status(500)
    assert named["failures"] == counts.status(404)
    assert run.result is not None
    total = run.result["total"]
    assert total["requests"] == counts.answered
    assert total["failures"] == counts.status(500) + counts.status(404)
    assert {e["error"] for e in run.result["errors"]} == {"HTTP 500", "HTTP 404"}
    for suffix in ("stats", "stats_history", "failures"):
        assert (tmp_path / f"out_{suffix}.csv").stat().st_size > 0
    assert "Aggregated" in run.stdout


def test_exit_code_0_without_failures_and_custom_code(tmp_path: Path,
                                                      plain_target: Target) -> None:
    script = write_script(tmp_path, """
        from horde import HttpUser, task, constant
        class Ok(HttpUser):
            wait_time = constant(0.01)
            @task
            def fast(self):
                self.client.get("/fast")
    """)
    args = ["-f", str(script), "-H", plain_target.url, "--headless", "-u", "2", "-r", "2",
            "-t", "1s", "--only-summary"]
    ok = run_horde(args, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert not re.search(r"^t=\d+s ", ok.stdout, re.M)  # --only-summary: no live lines
    failing = write_script(tmp_path, MIXED, "failing.py")
    bad = run_horde(["-f", str(failing), *args[2:], "--exit-code-on-error", "3"], tmp_path)
    assert bad.returncode == 3, bad.stderr


def test_sigint_stops_cleanly_and_loses_nothing(tmp_path: Path, plain_target: Target) -> None:
    """Stop in the middle of heavy traffic: every answered request is counted."""
    script = write_script(tmp_path, """
        from horde import HttpUser, task
        class Busy(HttpUser):
            @task
            def slowish(self):
                self.client.get("/slow?ms=20")
    """)
    json_path = tmp_path / "result.json"
    proc = start_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "20",
                        "-r", "100", "-t", "30s", "--json", str(json_path)], tmp_path)
    interrupt_when_busy(proc, lambda: plain_target.counts().answered, signal.SIGINT)
    run = finish(proc, json_path)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    counts = plain_target.counts()
    assert run.result["total"]["requests"] == counts.answered > 0
    assert counts.received == counts.answered  # nothing left unanswered
    assert "Aggregated" in run.stdout


def test_sigterm_also_writes_the_summary(tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, MIXED)
    json_path = tmp_path / "result.json"
    proc = start_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "5",
                        "-r", "50", "-t", "30s", "--json", str(json_path)], tmp_path)
    interrupt_when_busy(proc, lambda: plain_target.counts().answered, signal.SIGTERM)
    run = finish(proc, json_path)
    assert run.returncode == 1
    assert run.result is not None
    assert run.result["total"]["requests"] == plain_target.counts().answered


def test_task_exception_is_counted_with_traceback_and_user_goes_on(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, """
        from horde import HttpUser, task, constant
        class Flaky(HttpUser):
            wait_time = constant(0.05)
            @task
            def boom(self):
                self.client.get("/fast")
                raise ValueError("bad data in the answer")
    """)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "2",
                     "-r", "2", "-t", "2s"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 1
    assert run.result is not None
    [exc] = run.result["exceptions"]
    assert "ValueError: bad data in the answer" in exc["error"]
    assert exc["occurrences"] > 2  # the users kept going
    assert "hordefile.py" in exc["traceback"] and "line 8" in exc["traceback"]
    assert run.result["total"]["requests"] == plain_target.counts().answered


@pytest.mark.parametrize("source, expected", [
    ("from horde import HttpUser\nclass U(HttpUser):\n    def f(:\n", "hordefile.py:3"),
    ("import not_a_module_anywhere\n", "hordefile.py:1"),
    ("from horde import HttpUser\n", "no User class found"),
])
def test_broken_scripts_exit_2_with_a_clear_message(tmp_path: Path, source: str,
                                                    expected: str) -> None:
    script = write_script(tmp_path, source)
    run = run_horde(["-f", str(script), "-H", "http://127.0.0.1:9", "--headless", "-t", "1s"],
                    tmp_path)
    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    script = write_script(tmp_path, MIXED)
    for args, expected in (
        (["-u", "many"], "--users: expected a whole number"),
        (["-t", "5 parsecs"], "--run-time"),
        (["--nope"], "unknown option --nope"),
        (["-T", "no-such-tag"], "no user class has a task to run with these tags"),
    ):
        run = run_horde(["-f", str(script), "-H", "http://127.0.0.1:9", "--headless", *args],
                        tmp_path)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert expected in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr


def test_refused_target_is_failures_not_a_crash(tmp_path: Path) -> None:
    script = write_script(tmp_path, MIXED)
    # Port 9 (discard) is closed on loopback here: every connect is refused.
    run = run_horde(["-f", str(script), "-H", "http://127.0.0.1:9", "--headless", "-u", "2",
                     "-r", "2", "-t", "1s"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 1
    assert run.result is not None
    assert run.result["total"]["requests"] == run.result["total"]["failures"] > 0
    assert any("ConnectError" in e["error"] for e in run.result["errors"])
    assert "Traceback" not in run.stderr


def test_out_of_open_files_is_said_once_and_counted(tmp_path: Path,
                                                    plain_target: Target) -> None:
    """With a hard limit of 40 files and 60 users, connections fail with EMFILE:
    horde says so once with the fix, counts those requests as failures, and goes on."""
    import resource
    import subprocess
    import sys

    from tests.integration.horde_process import _env

    script = write_script(tmp_path, """
        from horde import HttpUser, task, constant
        class Many(HttpUser):
            wait_time = constant(0.05)
            @task
            def fast(self):
                self.client.get("/fast")
    """)

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    proc = subprocess.run(
        [sys.executable, "-m", "horde", "-f", str(script), "-H", plain_target.url,
         "--headless", "-u", "60", "-r", "60", "-t", "2s", "--json", str(tmp_path / "r.json")],
        cwd=tmp_path, env=_env(), text=True, capture_output=True, timeout=60,
        preexec_fn=limit_files,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("ulimit -n") == 1, proc.stderr
    import json

    result = json.loads((tmp_path / "r.json").read_text())
    emfile = [e for e in result["errors"] if e["error"].startswith("TooManyOpenFiles")]
    assert emfile and emfile[0]["occurrences"] > 0
    # Users that did get a socket kept working, and nothing was lost.
    assert result["total"]["requests"] - result["total"]["failures"] == \
        plain_target.counts().answered > 0


def test_classes_left_without_tasks_by_tags_get_no_users(tmp_path: Path,
                                                        plain_target: Target) -> None:
    script = write_script(tmp_path, """
        from horde import HttpUser, tag, task, constant
        class Tagged(HttpUser):
            wait_time = constant(0.05)
            @tag("x")
            @task
            def fast(self):
                self.client.get("/fast")
        class Untagged(HttpUser):
            wait_time = constant(0.05)
            @task
            def other(self):
                self.client.get("/status/200")
    """)
    run = run_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u", "4",
                     "-r", "40", "-t", "1s", "-T", "x"], tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    assert run.result["exceptions"] == []
    assert [e["name"] for e in run.result["endpoints"]] == ["/fast"]
    assert run.result["users"] == 4
