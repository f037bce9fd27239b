"""Cost per user: many mostly idle users in ONE horde process (issue 8, item 4).

Runs the real `horde` CLI (one process, pinned to the first core) with N users
of `between(1, 5)` against nginx (pinned to the second core) on loopback, and
watches it from outside every 0.5 s: resident memory (/proc/PID/status), CPU
seconds (/proc/PID/stat, all threads) and nginx's own counters (open
connections, requests). It prints:

* memory: RSS before any user connected, with all users connected (median over
  the steady window), the difference per connected user, and the peak;
* CPU: the share of one core horde used over the steady window (after the ramp
  and a settling time), i.e. the cost of keeping N idle users alive;
* req/s in that window as nginx counted it, against the expected N / 3 (mean
  wait 3 s; requests themselves take microseconds);
* with `--unique-urls`, every request has its own query string (`/search?q=…`,
  `name="/search"`): RSS at the start of the steady window and at its end, the
  growth showing whether a cache grows with URL variety.

Usage (from the repository root, with the project venv):

    ulimit -n 20000
    .venv/bin/python bench/users_idle.py                           # 18,000 users, 60 s steady
    .venv/bin/python bench/users_idle.py --users 5000 --unique-urls --steady 480

Needs nginx and taskset (Debian: nginx, util-linux). CPU figures are only as
quiet as the machine: other processes on the first core inflate them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers.harness import (  # noqa: E402 - after the path set-up above
    Nginx,
    SetupError,
    cores,
    horde_command,
    require_program,
    start_nginx,
)

SCRIPT = '''
import itertools

from horde import HttpUser, between, task

_ids = itertools.count()


class Visitor(HttpUser):
    wait_time = between(1, 5)

    @task
    def visit(self):
        if {unique}:
            self.client.get(f"/search?q={{next(_ids)}}", name="/search")
        else:
            self.client.get("/")
'''


@dataclass(frozen=True)
class Sample:
    t_s: float
    rss_bytes: int
    cpu_s: float
    connections: int
    requests: int


@dataclass(frozen=True)
class Result:
    users: int
    connected: int
    rss_before_mb: float
    rss_steady_mb: float
    rss_peak_mb: float
    rss_per_user_kb: float
    steady_cpu_percent: float
    steady_rps: float
    expected_rps: float
    steady_window_s: float
    rss_window_start_mb: float
    rss_window_end_mb: float
    ramp_s: float


def _rss(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def _cpu(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _watch(proc: subprocess.Popen[bytes], nginx: Nginx, users: int, settle_s: float,
           steady_s: float, deadline: float) -> list[Sample]:
    """Sample until the steady window is complete (then stop horde: SIGINT) or `deadline`."""
    samples: list[Sample] = []
    start = time.monotonic()
    full_at: float | None = None
    while proc.poll() is None and time.monotonic() < deadline:
        rss, cpu = _rss(proc.pid), _cpu(proc.pid)
        try:
            conns, reqs = nginx.connections() - 1, nginx.requests()
        except OSError:
            conns, reqs = -1, -1
        if rss is not None and cpu is not None and conns >= 0:
            sample = Sample(time.monotonic() - start, rss, cpu, conns, reqs)
            samples.append(sample)
            if full_at is None and conns >= users * 0.995:
                full_at = sample.t_s
            if full_at is not None and sample.t_s >= full_at + settle_s + steady_s:
                proc.send_signal(signal.SIGINT)  # enough: the test stops as on Ctrl-C
                break
        time.sleep(0.5)
    return samples


def analyse(samples: list[Sample], users: int, settle_s: float) -> Result:
    if not samples:
        raise SetupError("no samples: horde ended at once (see its output above)")
    first_connected = next((i for i, s in enumerate(samples) if s.connections > 0), 0)
    before = samples[:first_connected]  # not the end: users gone again
    rss_before = before[-1].rss_bytes if before else samples[0].rss_bytes
    full = next((s for s in samples if s.connections >= users * 0.995), None)
    if full is None:
        raise SetupError(f"the users never all connected (max {max(s.connections for s in samples)}"
                         f" of {users}); is `ulimit -n` high enough for horde and nginx?")
    window = [s for s in samples if s.t_s >= full.t_s + settle_s]
    window = window[:-1]  # the last one may include the stop
    if len(window) < 4:
        raise SetupError("no steady window: raise --steady")
    first, last = window[0], window[-1]
    wall = last.t_s - first.t_s
    connected = int(statistics.median(s.connections for s in window))
    rss_steady = statistics.median(s.rss_bytes for s in window)
    mb = 1024 * 1024
    return Result(
        users=users,
        connected=connected,
        rss_before_mb=round(rss_before / mb, 1),
        rss_steady_mb=round(rss_steady / mb, 1),
        rss_peak_mb=round(max(s.rss_bytes for s in samples) / mb, 1),
        rss_per_user_kb=round((rss_steady - rss_before) / max(connected, 1) / 1024, 2),
        steady_cpu_percent=round(100 * (last.cpu_s - first.cpu_s) / wall, 1),
        steady_rps=round((last.requests - first.requests) / wall, 1),
        expected_rps=round(users / 3.0, 1),
        steady_window_s=round(wall, 1),
        rss_window_start_mb=round(first.rss_bytes / mb, 1),
        rss_window_end_mb=round(last.rss_bytes / mb, 1),
        ramp_s=round(full.t_s - (before[-1].t_s if before else 0.0), 1),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=18_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="ramp, users/s")
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds after the ramp before the steady window")
    parser.add_argument("--steady", type=float, default=60.0, help="steady window, seconds")
    parser.add_argument("--unique-urls", action="store_true",
                        help="every request its own query string (the URL-cache soak)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.users + 500:
        print(f"open-file limit {soft} < users + 500: run `ulimit -n 20000` first",
              file=sys.stderr)
        return 2
    require_program("taskset")
    generator_core, nginx_core = cores()
    # An upper bound: the run ends (SIGINT) once the steady window is complete,
    # however long a starved ramp took.
    run_time = args.users / args.rate + args.settle + args.steady + 300
    with tempfile.TemporaryDirectory(prefix="horde-bench-idle-") as tmp, \
            start_nginx(nginx_core, "nginx_many.conf.template") as nginx:
        directory = Path(tmp)
        script = directory / "idle.py"
        script.write_text(SCRIPT.format(unique=args.unique_urls))
        argv = ["taskset", "-c", str(generator_core), *horde_command(), "-f", str(script),
                "-H", nginx.url, "--headless", "-u", str(args.users), "-r", str(args.rate),
                "-t", f"{run_time:.0f}s", "--json", str(directory / "result.json")]
        print("$", " ".join(argv[3:]), flush=True)
        with open(directory / "out.txt", "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=directory)
            try:
                samples = _watch(proc, nginx, args.users, args.settle, args.steady,
                                 time.monotonic() + run_time + 60)
            finally:
                if proc.poll() is None:
                    proc.terminate()
                proc.wait(timeout=120)
        output = (directory / "out.txt").read_text(errors="replace")
        print("\n".join(ln for ln in output.splitlines() if "WARNING" in ln or "error" in ln))
        result = analyse(samples, args.users, args.settle)
        summary_path = directory / "result.json"
        lag = json.loads(summary_path.read_text())["generator"] if summary_path.exists() else {}
    print(f"users {result.users:,} (connected {result.connected:,}), ramp {result.ramp_s} s, "
          f"steady window {result.steady_window_s} s")
    print(f"RSS before users {result.rss_before_mb} MB, steady {result.rss_steady_mb} MB, "
          f"peak {result.rss_peak_mb} MB: {result.rss_per_user_kb} KB per connected user")
    print(f"steady CPU {result.steady_cpu_percent}% of one core; "
          f"{result.steady_rps:,.0f} req/s (expected ~{result.expected_rps:,.0f})")
    if args.unique_urls:
        growth = 100 * (result.rss_window_end_mb / result.rss_window_start_mb - 1)
        print(f"RSS over the steady window: {result.rss_window_start_mb} -> "
              f"{result.rss_window_end_mb} MB ({growth:+.1f}%)")
    if lag:
        print(f"horde's own view: loop lag p99 {lag.get('loop_lag_p99_ms')} ms, "
              f"CPU max {lag.get('cpu_percent_max')}%")
    if args.out is not None:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "result": asdict(result), "generator": lag}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupError as exc:
        print(f"users_idle: {exc}", file=sys.stderr)
        sys.exit(2)
