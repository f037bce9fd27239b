"""Running out of open files never crashes a process (issue 8 item 6, issue 14 item 3).

Real horde processes under `ulimit -n 64` (300 for workers, see
WORKER_LIMIT; set in the child before it starts), 100 users against a
counting target: the users that get no socket fail their requests as
`TooManyOpenFiles`, and everything else goes on —
the live view on a terminal (no OSError traceback from a lazy import), the
workers' heartbeats (their memory reading), the result files — and the
result says what happened in `generator.warnings` (workers[].warnings for
a worker), as docs/results.md promises.
"""

from __future__ import annotations

import json
import os
import pty
import resource
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.horde_process import write_script
from tests.support.target import REPO_ROOT, Target

pytestmark = pytest.mark.slow

LIMIT = 64
EMFILE_NOTE = "ran out of open files (EMFILE)"

SCRIPT = """
from horde import HttpUser, between, task


class Visitor(HttpUser):
    wait_time = between(0.05, 0.1)

    @task
    def visit(self):
        self.client.get("/fast")
"""


def _low_limit(limit: int = LIMIT) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


# A worker takes at most its open-file limit minus 200 users (its capacity),
# so under 64 files it takes none. Here it gets 300 (a capacity of 100
# users) and its users hold files of their own besides their connections, as
# scripts that open files do: the worker still runs out.
WORKER_LIMIT = 300
WORKER_SCRIPT = """
import os

from horde import HttpUser, between, task


class Visitor(HttpUser):
    wait_time = between(0.05, 0.1)

    def on_start(self):
        self.held = []
        try:
            for _ in range(5):
                self.held.append(open(os.devnull))
        except OSError:
            pass  # out of files already: the requests will say so

    @task
    def visit(self):
        self.client.get("/fast")
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HORDE_") and k.lower() not in ("http_proxy", "https_proxy")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", ""))
                                        if p)
    env["COLUMNS"], env["LINES"] = "160", "50"
    return env


def _run_on_a_terminal(args: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Run horde with stdout and stderr on a pseudo-terminal (rich's live view)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "horde", *args], cwd=cwd, env=_env(),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            preexec_fn=_low_limit)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    chunk = b""
                if chunk:
                    out += chunk
                    continue
                break  # EOF: every holder of the terminal (horde) has closed it
            if proc.poll() is not None:
                break
        else:
            raise AssertionError(f"horde did not finish in {timeout} s:\n{out.decode()}")
        return proc.wait(timeout=5), out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def _run_plain(args: list[str], cwd: Path, timeout: float,
               limit: int = LIMIT) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "horde", *args], cwd=cwd, env=_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          preexec_fn=lambda: _low_limit(limit), timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def test_live_view_on_a_terminal_survives_running_out_of_files(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, SCRIPT)
    result_path = tmp_path / "r.json"
    code, output = _run_on_a_terminal(
        ["-f", str(script), "-H", plain_target.url, "--headless", "-u", "100", "-r", "100",
         "-t", "5s", "--json", str(result_path)], tmp_path, timeout=60)
    assert "Traceback" not in output and "OSError" not in output, output
    assert "tick failed" not in output
    assert "skipped a refresh" not in output  # rich was preloaded: every frame was drawn
    assert code == 1, output  # the refused connections are failed requests
    result = json.loads(result_path.read_text())
    assert any(EMFILE_NOTE in w for w in result["generator"]["warnings"]), result["generator"]
    errors = result["errors"]
    assert errors and all(e["error"].startswith("TooManyOpenFiles") for e in errors)
    assert result["total"]["requests"] == plain_target.counts().route("GET", "/fast") \
        + sum(e["occurrences"] for e in errors)


def test_workers_out_of_files_keep_running_and_say_so(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, WORKER_SCRIPT)
    result_path = tmp_path / "r.json"
    code, out, err = _run_plain(
        ["-f", str(script), "-H", plain_target.url, "--headless", "-u", "100", "-r", "100",
         "-t", "5s", "--processes", "2", "--json", str(result_path)], tmp_path, timeout=90,
        limit=WORKER_LIMIT)
    assert "unexpected error" not in err and "Traceback" not in err, err
    assert code == 1, err  # failed requests, nothing worse
    result = json.loads(result_path.read_text())
    workers = result["workers"]
    assert len(workers) == 2
    for worker in workers:
        assert worker["state"] not in ("missing", "lost"), worker
        assert any(EMFILE_NOTE in w for w in worker["warnings"]), worker
        assert worker["memory_bytes"] > 0  # read without a new file
    errors = result["errors"]
    assert result["total"]["requests"] == plain_target.counts().route("GET", "/fast") \
        + sum(e["occurrences"] for e in errors)
