"""Real master and worker processes for the distributed tests, on loopback only.

Every process started here is ended by its PID (`Fleet.close`), whatever the
test's outcome; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from horde import HttpUser, task, constant

class Plain(HttpUser):
    wait_time = constant(0.01)

    @task
    def fast(self):
        self.client.get("/fast")
"""


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range.

    A port from bind(("127.0.0.1", 0)) comes from the ephemeral range, and once
    closed it can be taken as the source port of any outgoing connection before
    horde binds it (load tests in parallel open thousands: "Address already in
    use"). Below that range the kernel never hands a port out by itself.
    """
    low = min(_ephemeral_low(), 65536)
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if not k.startswith("HORDE_") and k.lower() not in ("http_proxy", "https_proxy")}
    out["PYTHONUNBUFFERED"] = "1"
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), out.get("PYTHONPATH", "")) if p)
    return out


def write_script(directory: Path, source: str = SCRIPT, name: str = "hordefile.py") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(source)
    return path


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Proc:
    popen: subprocess.Popen[str]
    out_path: Path
    err_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"process {self.pid} did not end in {timeout} s:\n"
                                 f"{self.stdout()}\n{self.stderr()}") from None

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace") if self.out_path.exists() else ""

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace") if self.err_path.exists() else ""

    def end(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Fleet:
    """Processes started by one test, in `directory`."""

    directory: Path
    procs: list[Proc] = field(default_factory=list)
    prefix: list[str] = field(default_factory=list)
    """Put in front of every command (e.g. ``ip netns exec NS``)."""

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    """The fleet's shared secret (HORDE_SECRET), unless a command chooses another way."""

    def start(self, name: str, args: list[str],
              extra_env: dict[str, str | None] | None = None) -> Proc:
        """Start ``horde ARGS`` with the fleet's secret in HORDE_SECRET (unless ARGS has
        --insecure, --curve-keys or --secret-file; ``extra_env`` maps a name to None to
        leave it out). The per-user secret file lives in this fleet's directory
        (``XDG_CONFIG_HOME``), shared by the processes of one test only."""
        out, err = self.directory / f"{name}.out", self.directory / f"{name}.err"
        environ = env()
        environ["XDG_CONFIG_HOME"] = str(self.directory / "config")
        if not {"--insecure", "--curve-keys", "--secret-file"} & set(args):
            environ["HORDE_SECRET"] = self.secret
        for key, value in (extra_env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        popen = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "horde", *args], cwd=self.directory,
            env=environ,
            stdin=subprocess.DEVNULL, stdout=out.open("w"), stderr=err.open("w"), text=True,
        )
        proc = Proc(popen, out, err)
        self.procs.append(proc)
        return proc

    def master(self, port: int, script: Path, target_url: str, *extra: str,
               name: str = "master", bind: str = "127.0.0.1",
               extra_env: dict[str, str | None] | None = None) -> Proc:
        return self.start(name, ["--master", "--master-bind-host", bind,
                                 "--master-bind-port", str(port), "-f", str(script),
                                 "-H", target_url, "--headless", "--only-summary",
                                 "--json", str(self.directory / f"{name}.json"), *extra],
                          extra_env)

    def worker(self, port: int, *extra: str, name: str = "worker",
               host: str = "127.0.0.1", extra_env: dict[str, str | None] | None = None) -> Proc:
        return self.start(name, ["--worker", "--master-host", host, "--master-port", str(port),
                                 *extra], extra_env)

    def result(self, name: str = "master") -> dict[str, Any]:
        return dict(json.loads((self.directory / f"{name}.json").read_text()))

    def close(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)  # a stopped process cannot be terminated
            proc.end()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    """The processes a test starts, all ended after it (conftest.py makes it a fixture)."""
    f = Fleet(tmp_path)
    try:
        yield f
    finally:
        f.close()


def joined(proc: Proc, n: int) -> Callable[[], bool]:
    return lambda: len(re.findall(r"joined\b", proc.stderr())) >= n


def worker_entry(result: dict[str, Any], pid: int) -> dict[str, Any]:
    for w in result["workers"]:
        if f"-{pid}-" in w["id"]:
            return dict(w)
    raise AssertionError(f"no worker with pid {pid} in {result['workers']}")


def kill9(proc: Proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.popen.wait(timeout=5)


def raw_bytes_for(port: int, seconds: float, host: str = "127.0.0.1") -> int:
    """Open TCP connections to ``port`` and write random bytes for ``seconds``; return bytes sent.

    Bounded in time and volume (at most 64 KB per connection, one connection at
    a time); a connection the master closes is simply replaced.
    """
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as conn:
                conn.settimeout(0.5)
                for _ in range(16):
                    # a ZMTP-looking greeting now and then, so some connections get further
                    chunk = (b"\xff" + bytes(8) + b"\x7f\x03\x00NULL" + os.urandom(40)
                             if sent % 3 == 0 else os.urandom(4096))
                    conn.sendall(chunk)
                    sent += len(chunk)
        except OSError:
            pass  # closed by the master: open another one
    return sent
