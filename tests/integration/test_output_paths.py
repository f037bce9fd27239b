"""Result paths on the real command line: checked before any request, devices left as they are.

A bad directory must cost nothing: exit 2 and the reason on stderr before a
single request (the counting target sees 0). A device node given as
`--json` is written in place and stays a device node; the nodes here are the
test's own (mknod in a temporary directory), never the system's /dev.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target

FAST = """
from horde import HttpUser, task, constant

class Fast(HttpUser):
    wait_time = constant(0.01)

    @task
    def fast(self):
        self.client.get("/fast")
"""


def _device(path: Path, dev: int) -> Path:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, dev)
        os.close(os.open(path, os.O_WRONLY))
    except OSError as exc:
        path.unlink(missing_ok=True)
        pytest.skip(f"cannot make and open a device node here: {exc}")
    return path


def _is_char_device(path: Path, dev: int) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == dev


def _headless(script: Path, target: Target, *extra: str) -> list[str]:
    return ["-f", str(script), "-H", target.url, "--headless", "-u", "2", "-r", "20",
            "-t", "1s", *extra]


@pytest.mark.parametrize(("flags", "message"), [
    (["--csv", "missing/run1"],
     "horde: --csv: missing/run1_stats.csv: the directory missing does not exist"),
    (["--json", "missing/r.json"],
     "horde: --json: missing/r.json: the directory missing does not exist"),
    (["--html", "hordefile.py/r.html"],
     "horde: --html: hordefile.py/r.html: hordefile.py is not a directory"),
    (["--json", "."], "horde: --json: . is a directory"),
])
@pytest.mark.parametrize("role", [[], ["--processes", "1"]])
def test_a_bad_result_path_exits_2_before_any_request(
        tmp_path: Path, plain_target: Target, flags: list[str], message: str,
        role: list[str]) -> None:
    script = write_script(tmp_path, FAST)
    run = run_horde([*_headless(script, plain_target, *flags), *role], tmp_path, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.strip() == message
    assert run.stdout == ""
    assert plain_target.counts().received == 0


def test_json_to_a_device_node_leaves_it_a_device_node(tmp_path: Path,
                                                      plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    out = tmp_path / "out"
    out.mkdir()
    null = _device(out / "null", os.makedev(1, 3))
    run = run_horde(_headless(script, plain_target, "--json", str(null), "--html", str(null),
                              "--csv", str(out / "x")), tmp_path)
    assert run.returncode == 0, run.stderr
    assert _is_char_device(null, os.makedev(1, 3))
    # Nothing left behind: no temporary file next to the device.
    assert sorted(p.name for p in out.iterdir()) == [
        "null", "x_failures.csv", "x_stats.csv", "x_stats_history.csv"]
    assert plain_target.counts().route("GET", "/fast") > 0


def test_a_write_that_fails_at_the_end_names_the_path_on_stderr(
        tmp_path: Path, plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    full = _device(tmp_path / "full", os.makedev(1, 7))
    run = run_horde(_headless(script, plain_target, "--json", "full"), tmp_path)
    assert run.returncode == 2
    assert "horde: could not write the JSON result full: No space left on device" \
        in run.stderr.splitlines()
    assert "could not write" not in run.stdout
    assert "Aggregated" in run.stdout  # the summary came first
    assert _is_char_device(full, os.makedev(1, 7))


def _shell_horde(tmp_path: Path, args: list[str], tail: str) -> subprocess.CompletedProcess[str]:
    """horde under a real shell, so its stdout is what `| cat` or `> file` makes of it."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("http_proxy", None)
    env.pop("HTTP_PROXY", None)
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "horde", *args])
    return subprocess.run(["sh", "-c", f"{command} {tail}"], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=60, check=False)


def _json_after_summary(out: str) -> dict[str, object]:
    start = out.index('{\n  "schema_version"')
    assert "Aggregated" in out[:start]  # the summary first, whole
    result: dict[str, object] = json.loads(out[start:])
    return result


@pytest.mark.parametrize("tail", ["| cat", "> out.txt"])
def test_json_to_dev_stdout_follows_the_summary(tmp_path: Path, plain_target: Target,
                                                tail: str) -> None:
    script = write_script(tmp_path, FAST)
    run = _shell_horde(tmp_path, _headless(script, plain_target, "--json", "/dev/stdout"),
                       tail)
    assert run.returncode == 0, run.stderr
    out = run.stdout if tail.startswith("|") else (tmp_path / "out.txt").read_text()
    result = _json_after_summary(out)
    total = result["total"]
    assert isinstance(total, dict)
    assert total["requests"] == plain_target.counts().route("GET", "/fast") > 0
    assert os.path.islink("/dev/stdout")  # still the system's link, of course


def test_a_fifo_nobody_reads_is_refused_before_any_request(tmp_path: Path,
                                                          plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    os.mkfifo(tmp_path / "r.fifo")
    run = run_horde(_headless(script, plain_target, "--json", "r.fifo"), tmp_path, timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.strip() == ("horde: --json: r.fifo: a FIFO that no program reads: horde "
                                  "would wait for a reader forever once the run ends; start "
                                  "the reader first")
    assert plain_target.counts().received == 0


def test_a_fifo_with_a_reader_gets_the_whole_result(tmp_path: Path,
                                                   plain_target: Target) -> None:
    script = write_script(tmp_path, FAST)
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    # The reader is there before horde starts (as `cat r.fifo &` would be);
    # the result (a few KB) waits in the pipe until it is read.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        run = run_horde(_headless(script, plain_target, "--json", "r.fifo"), tmp_path)
        assert run.returncode == 0, run.stderr
        chunks = []
        while chunk := os.read(reader, 1 << 16):  # b"": every writer is gone, horde included
            chunks.append(chunk)
    finally:
        os.close(reader)
    result = json.loads(b"".join(chunks))
    assert result["total"]["requests"] == plain_target.counts().route("GET", "/fast")


def test_a_link_another_user_planted_is_refused_before_any_request(
        tmp_path: Path, plain_target: Target) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a link to another user needs root")
    script = write_script(tmp_path, FAST)
    secret = tmp_path / "secret"
    secret.write_text("root only")
    secret.chmod(0o600)
    planted = tmp_path / "x"
    planted.mkdir()
    os.chown(planted, 4242, 4242)
    link = planted / "link.json"
    link.symlink_to(secret)
    os.lchown(link, 4242, 4242)
    run = run_horde(_headless(script, plain_target, "--json", "x/link.json"), tmp_path,
                    timeout=30)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith("horde: --json: x/link.json: a symbolic link owned by "
                                 "another user (uid 4242)")
    assert plain_target.counts().received == 0
    assert secret.read_text() == "root only"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
