"""Run `horde` as a real subprocess, the way a user does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HordeRun", "run_horde", "start_horde", "write_script",
           "interrupt_when_busy"]


@dataclass
class HordeRun:
    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any] | None

    def endpoint(self, method: str, name: str) -> dict[str, Any]:
        assert self.result is not None, self.stderr
        for row in self.result["endpoints"]:
            if row["method"] == method and row["name"] == name:
                return dict(row)
        raise AssertionError(f"no endpoint {method} {name} in {self.result['endpoints']}")


def write_script(directory: Path, source: str, name: str = "hordefile.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("http_proxy", None)
    env.pop("HTTP_PROXY", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_horde(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "horde", *args], cwd=cwd, env=_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _finish(proc: subprocess.Popen[str], json_path: Path | None, timeout: float) -> HordeRun:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"horde did not finish in {timeout} s\n{out}\n{err}") from None
    result = None
    if json_path is not None and json_path.exists():
        result = json.loads(json_path.read_text())
    return HordeRun(proc.returncode, out, err, result)


def run_horde(args: list[str], cwd: Path, *, timeout: float = 60.0,
              json_path: Path | None = None) -> HordeRun:
    extra = ["--json", str(json_path)] if json_path is not None else []
    return _finish(start_horde([*args, *extra], cwd), json_path, timeout)


def interrupt_when_busy(proc: subprocess.Popen[str], answered: Callable[[], int],
                        sig: int = signal.SIGINT, *, at_least: int = 200,
                        timeout: float = 30.0) -> None:
    """Send `sig` once the target has answered `at_least` requests.

    Waiting for traffic, not for a guessed time: on a loaded machine horde may
    need longer than a second or two to start, and a signal that arrives
    before its handlers are installed kills it instead of stopping the test.
    """
    deadline = time.monotonic() + timeout
    while answered() < at_least:
        if proc.poll() is not None or time.monotonic() > deadline:
            break  # the assertions on the run say what went wrong
        time.sleep(0.05)
    proc.send_signal(sig)


def finish(proc: subprocess.Popen[str], json_path: Path | None, timeout: float = 60.0) -> HordeRun:
    return _finish(proc, json_path, timeout)
