"""--check and --check-abort in real runs of `horde` against a target on loopback.

The plain target's ``/slow?ms=50`` answers in a little over 50 ms, so
``p95 < 1ms`` cannot pass and ``p95 < 10s`` cannot fail.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target

SLOW = """
from horde import HttpUser, task

class U(HttpUser):
    @task
    def slow(self):
        self.client.get("/slow?ms=50", name="/slow")
"""

FAILING = """
from horde import HttpUser, constant, task

class U(HttpUser):
    wait_time = constant(0.05)

    @task
    def fail(self):
        self.client.get("/fail")
"""


def _args(target: Target, *extra: str, run_time: str = "3s", users: str = "5") -> list[str]:
    return ["-H", target.url, "--headless", "-u", users, "-r", users, "-t", run_time,
            "--only-summary", *extra]


def test_a_failed_check_exits_3_and_is_reported(plain_target: Target, tmp_path: Path) -> None:
    write_script(tmp_path, SLOW)
    run = run_horde(_args(plain_target, "--check", "p95<1ms", "--check", "GET /slow: p50 < 10s",
                          "--check", "fail_ratio < 1%"),
                    tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 3, run.stderr
    assert run.result is not None
    checks = run.result["checks"]
    assert [(c["expr"], c["ok"], c["unit"], c["aborted"]) for c in checks] == [
        ("p95<1ms", False, "ms", False),
        ("GET /slow: p50 < 10s", True, "ms", False),
        ("fail_ratio < 1%", True, "%", False),
    ]
    assert checks[0]["value"] == run.result["total"]["percentiles_ms"]["95"] >= 50
    assert checks[2]["value"] == 0.0
    assert "Checks: 1 of 3 failed" in run.stdout
    # Nothing was cut short: the run lasted its -t.
    assert run.result["duration_s"] >= 3.0


def test_passing_checks_exit_0(plain_target: Target, tmp_path: Path) -> None:
    write_script(tmp_path, SLOW)
    run = run_horde(_args(plain_target, "--check", "p95 < 10s", "--check", "rps > 1",
                          "--check", "max < 5s", "--check-abort"),
                    tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.result is not None
    assert [c["ok"] for c in run.result["checks"]] == [True, True, True]
    assert "Checks: all 3 passed" in run.stdout


def test_a_failed_check_wins_over_failed_requests(plain_target: Target, tmp_path: Path) -> None:
    write_script(tmp_path, FAILING)
    plain = run_horde(_args(plain_target, run_time="1s", users="1"), tmp_path)
    assert plain.returncode == 1
    checked = run_horde(_args(plain_target, "--check", "fail_ratio < 50%", run_time="1s",
                              users="1"), tmp_path)
    assert checked.returncode == 3, checked.stdout + checked.stderr
    # --exit-code-on-error 0 does not hide a failed check either.
    quiet = run_horde(_args(plain_target, "--check", "fail_ratio < 50%",
                            "--exit-code-on-error", "0", run_time="1s", users="1"), tmp_path)
    assert quiet.returncode == 3


def test_check_abort_ends_the_run_early(plain_target: Target, tmp_path: Path) -> None:
    write_script(tmp_path, SLOW)
    # 20 users at ~50 ms make ~400 requests a second: p95's 100-request minimum is met
    # within the first seconds, far before -t.
    run = run_horde(_args(plain_target, "--check", "rps > 1000000", "--check", "p95<1ms",
                          "--check-abort", run_time="60s", users="20"),
                    tmp_path, json_path=tmp_path / "r.json", timeout=45)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.result is not None
    assert run.result["duration_s"] < 30
    checks = {c["expr"]: c for c in run.result["checks"]}
    assert checks["p95<1ms"]["aborted"] and not checks["p95<1ms"]["ok"]
    assert not checks["rps > 1000000"]["aborted"]  # rps is judged at the end only
    assert "stopping the run (--check-abort)" in run.stdout
    assert "FAILED (stopped the run)" in run.stdout
    # Stopping lost nothing: the target answered exactly what was counted.
    assert run.result["total"]["requests"] == plain_target.counts().route("GET", "/slow")


def test_check_abort_waits_for_a_sample(plain_target: Target, tmp_path: Path) -> None:
    # One user at 50 ms makes ~20 requests a second: p99 needs 500, so 2 s are not
    # enough to abort, and the run ends by -t with the check failed.
    write_script(tmp_path, SLOW)
    run = run_horde(_args(plain_target, "--check", "p99<1ms", "--check-abort", run_time="2s",
                          users="1"), tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 3
    assert run.result is not None
    assert run.result["total"]["requests"] < 500
    assert run.result["checks"][0]["aborted"] is False
    assert "--check-abort)" not in run.stdout


def test_checks_from_the_config_file_and_the_environment(plain_target: Target,
                                                         tmp_path: Path) -> None:
    write_script(tmp_path, SLOW)
    (tmp_path / "horde.toml").write_text('checks = ["p95 < 10s", "GET /slow: p95 < 1ms"]\n')
    run = run_horde(_args(plain_target, run_time="1s", users="1"), tmp_path,
                    json_path=tmp_path / "r.json")
    assert run.returncode == 3
    assert run.result is not None
    assert [c["expr"] for c in run.result["checks"]] == ["p95 < 10s", "GET /slow: p95 < 1ms"]
    # The command line replaces the file's list.
    run = run_horde(_args(plain_target, "--check", "p95 < 10s", run_time="1s", users="1"),
                    tmp_path, json_path=tmp_path / "r.json")
    assert run.returncode == 0
    assert run.result is not None and [c["expr"] for c in run.result["checks"]] == ["p95 < 10s"]


def test_check_abort_on_a_master_judges_the_merged_figures(plain_target: Target,
                                                           tmp_path: Path) -> None:
    # --processes 2: a master and two local workers; the master's per-second hook
    # judges the fleet's merged snapshot and stops every worker.
    write_script(tmp_path, SLOW)
    run = run_horde(_args(plain_target, "--check", "GET /slow: p95<1ms", "--check-abort",
                          "--processes", "2", run_time="60s", users="20"),
                    tmp_path, json_path=tmp_path / "r.json", timeout=60)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.result is not None
    assert run.result["duration_s"] < 30
    assert run.result["checks"][0]["aborted"] is True
    assert len(run.result["workers"]) == 2
    assert run.result["total"]["requests"] == plain_target.counts().route("GET", "/slow")
