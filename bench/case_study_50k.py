"""The 50,000-user case study (issue 8) as a benchmark: does the fleet hold under saturation?

One run of each, against nginx with 3 workers on loopback:

* horde: ``-u USERS -r RATE -t SECONDS --processes 3``, users ``between(1, 5)``
  doing one GET each; the result's per-second history (``--json``), its
  workers' final states, and the peak RSS of all horde processes together
  (this script samples the process tree twice a second);
* Locust 2.47 with the same script and ``--processes 3`` beside it (installed
  on first use into its own venv under /tmp, never into the project's);
* ``--soak``: instead, 5,000 users requesting unique query strings for 30
  minutes; RSS after the ramp against RSS at the end (must stay within 10%).

It prints steady requests/s against the expected USERS / mean wait (3 s),
p50/p99 per second, worker states, peak RSS, and the issue's "done when"
verdicts. Run it on a quiet machine; at small scale it proves it works:

    .venv/bin/python bench/case_study_50k.py                               # the full case
    .venv/bin/python bench/case_study_50k.py --users 3000 --rate 500 --seconds 20
    .venv/bin/python bench/case_study_50k.py --soak --soak-minutes 30
    .venv/bin/python bench/case_study_50k.py --users 3000 --seconds 20 --no-locust

Machine settings, as in the case study: the open-file limit is raised to the
hard limit (at most 20,000) for this script's children, and the ephemeral
port range is widened to 1024-65000 (as root) for the duration of the run and
put back afterwards, whatever happens. Loopback only; every process this
script starts is stopped by its pid.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from peers.harness import SetupError, horde_command, require_program

LOCUST_VERSION = "2.47.0"
LOCUST_VENV = Path(tempfile.gettempdir()) / "horde-bench-locust-venv"
PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
WIDE_PORTS = "1024 65000"
MAX_FILES = 20_000
MEAN_WAIT_S = 3.0  # between(1, 5)

VISITORS = """
from {module} import {user}, task, between

class Visitor({user}):
    wait_time = between(1, 5)

    @task
    def index(self):
        self.client.get("/")
"""

SOAK = """
import itertools
from horde import HttpUser, task, between

_n = itertools.count()

class Searcher(HttpUser):
    wait_time = between(1, 5)

    @task
    def search(self):
        self.client.get(f"/search?q={next(_n)}", name="/search")
"""

NGINX_CONF = """
worker_processes 3;
daemon off;
worker_rlimit_nofile 65000;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 30000; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
    uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{
        listen 127.0.0.1:{port} backlog=65535;
        location / {{ default_type text/plain; return 200 "Hello world!"; }}
    }}
}}
"""


# --- machine settings, always put back -------------------------------------------------

@contextmanager
def machine_settings(widen_ports: bool = True) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_FILES if hard == resource.RLIM_INFINITY else min(hard, MAX_FILES)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    old_ports = PORT_RANGE_FILE.read_text().strip() if PORT_RANGE_FILE.exists() else None
    widened = False
    try:
        if widen_ports and old_ports is not None and old_ports.split() != WIDE_PORTS.split():
            try:
                PORT_RANGE_FILE.write_text(WIDE_PORTS)
                widened = True
                print(f"ephemeral ports: {old_ports} -> {WIDE_PORTS} (put back at the end)")
            except OSError as exc:
                print(f"note: cannot widen the ephemeral port range ({exc}); "
                      f"keeping {old_ports}")
        yield
    finally:
        if widened and old_ports is not None:
            PORT_RANGE_FILE.write_text(old_ports)
            print(f"ephemeral ports put back to {old_ports}")


@contextmanager
def nginx3() -> Iterator[str]:
    nginx = require_program("nginx")
    workdir = Path(tempfile.mkdtemp(prefix="horde-case-nginx-"))
    with socket_port() as port:
        (workdir / "nginx.conf").write_text(NGINX_CONF.format(dir=workdir, port=port))
    proc = subprocess.Popen([nginx, "-c", str(workdir / "nginx.conf"), "-p", str(workdir)],
                            stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SetupError(f"nginx did not start: {(workdir / 'error.log').read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def socket_port() -> Iterator[int]:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def _answers(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url + "/", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


# --- running a generator and watching its memory ---------------------------------------------

@dataclass
class Watched:
    returncode: int
    wall_s: float
    peak_rss: int
    rss_samples: list[tuple[float, int]] = field(default_factory=list)


def run_watched(argv: Sequence[str], cwd: Path, timeout_s: float, log: Path) -> Watched:
    """Run `argv`, summing the RSS of it and all its children twice a second."""
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(list(argv), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            samples.append((time.monotonic() - start, total))
            stop.wait(0.5)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        rc = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the session we created for it: only our processes
        rc = proc.wait()
    stop.set()
    watcher.join()
    return Watched(rc, time.monotonic() - start, max((s for _, s in samples), default=0), samples)


def ensure_locust() -> Path:
    locust = LOCUST_VENV / "bin" / "locust"
    marker = LOCUST_VENV / "version.txt"
    if locust.exists() and marker.exists() and marker.read_text().strip() == LOCUST_VERSION:
        return locust
    print(f"installing locust=={LOCUST_VERSION} into {LOCUST_VENV} (first use)", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(LOCUST_VENV)], check=True)
    subprocess.run([str(LOCUST_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                    f"locust=={LOCUST_VERSION}"], check=True)
    marker.write_text(LOCUST_VERSION + "\n")
    return locust


# --- figures -----------------------------------------------------------------------------

@dataclass
class Figures:
    tool: str
    requests: int
    failures: int
    steady_rps: float
    p99_median_ms: float
    per_second: list[tuple[int, int, float, float, float]]
    """(t, users, rps, p50 ms, p99 ms) for each second."""
    peak_rss: int
    workers: list[tuple[str, str, int]] = field(default_factory=list)


def _window(rows: list[tuple[int, int, float, float, float]], run_s: int,
            last_s: int) -> list[tuple[int, int, float, float, float]]:
    """The rows of the last `last_s` seconds before `-t` ended the run.

    Not the last rows of the history: a stop that waits for late workers adds
    seconds of trickling reports (or none) after `-t`, which are no steady state.
    """
    return [r for r in rows if run_s - last_s <= r[0] < run_s]


def horde_figures(result: dict[str, Any], peak_rss: int, last_s: int, run_s: int) -> Figures:
    rows = [(h["t_s"], h["users"], h["rps"], h["p50_ms"], h["p99_ms"]) for h in result["history"]]
    tail = _window(rows, run_s, last_s)
    return Figures(
        "horde", result["total"]["requests"], result["total"]["failures"],
        statistics.fmean(r[2] for r in tail) if tail else 0.0,
        statistics.median(r[4] for r in tail) if tail else 0.0,
        rows, peak_rss,
        [(w["id"], w["state"], w["users"]) for w in result.get("workers", [])],
    )


def _num(row: dict[str, str], key: str) -> float:
    value = row.get(key, "N/A")
    return float(value) if value not in ("N/A", "") else 0.0


def locust_figures(history_csv: Path, peak_rss: int, last_s: int, run_s: int) -> Figures:
    rows: list[tuple[int, int, float, float, float]] = []
    requests = failures = 0
    t0: int | None = None
    with history_csv.open() as f:
        for row in csv.DictReader(f):
            if row.get("Name") != "Aggregated":
                continue
            ts = int(row["Timestamp"])
            t0 = ts if t0 is None else t0

            rows.append((ts - t0, int(_num(row, "User Count")), _num(row, "Requests/s"),
                         _num(row, "50%"), _num(row, "99%")))
            requests = int(_num(row, "Total Request Count"))
            failures = int(_num(row, "Total Failure Count"))
    tail = _window(rows, run_s, last_s)
    return Figures("locust", requests, failures,
                   statistics.fmean(r[2] for r in tail) if tail else 0.0,
                   statistics.median(r[4] for r in tail) if tail else 0.0, rows, peak_rss)


def show(fig: Figures, expected_rps: float) -> None:
    print(f"\n== {fig.tool}: {fig.requests:,} requests, {fig.failures:,} failures, "
          f"peak RSS {fig.peak_rss / 2**20:,.0f} MiB")
    print(f"   steady req/s (last 20 s) {fig.steady_rps:,.0f} of expected {expected_rps:,.0f} "
          f"({100 * fig.steady_rps / expected_rps:.0f}%); median per-second p99 "
          f"{fig.p99_median_ms:.1f} ms")
    print("    t  users     req/s   p50 ms   p99 ms")
    for t, users, rps, p50, p99 in fig.per_second:
        print(f"   {t:>3} {users:>6} {rps:>9,.0f} {p50:>8.1f} {p99:>8.1f}")
    for wid, state, users in fig.workers:
        print(f"   worker {wid}: {state}, {users:,} users")


def verdicts(fig: Figures, expected_rps: float) -> list[tuple[str, bool]]:
    bad_states = [s for _, s, _ in fig.workers if s in ("missing", "lost")]
    return [
        ("no worker marked missing or lost", not bad_states),
        ("0 failures", fig.failures == 0),
        ("steady req/s >= 90% of users / mean wait", fig.steady_rps >= 0.9 * expected_rps),
        ("median per-second p99 < 50 ms", fig.p99_median_ms < 50.0),
        ("peak RSS of all horde processes < 1.5 GiB", fig.peak_rss < 1.5 * 2**30),
    ]


# --- the runs ---------------------------------------------------------------------------------

def case(args: argparse.Namespace, url: str, work: Path) -> None:
    expected = args.users / MEAN_WAIT_S
    timeout = args.seconds + args.users / args.rate + 120
    script = work / "visitors.py"
    script.write_text(VISITORS.format(module="horde", user="HttpUser"))
    common = ["-H", url, "-u", str(args.users), "-r", str(args.rate), "-t", f"{args.seconds}s",
              "--processes", str(args.processes)]
    run = run_watched([*horde_command(), "-f", str(script), "--headless", "--only-summary",
                       *common, "--json", str(work / "horde.json")], work, timeout,
                      work / "horde.log")
    if not (work / "horde.json").exists():
        print((work / "horde.log").read_text()[-3000:])
        raise SetupError(f"horde wrote no result (exit {run.returncode})")
    result = json.loads((work / "horde.json").read_text())
    fig = horde_figures(result, run.peak_rss, 20, args.seconds)
    show(fig, expected)
    print(f"   exit code {run.returncode}")
    for name, ok in verdicts(fig, expected):
        print(f"   [{'ok' if ok else 'FAIL'}] {name}")
    if args.no_locust:
        return
    locust = ensure_locust()
    lscript = work / "locust_visitors.py"
    lscript.write_text(VISITORS.format(module="locust", user="FastHttpUser"))
    lrun = run_watched([str(locust), "-f", str(lscript), "--headless", *common,
                        "--csv", str(work / "locust"), "--csv-full-history", "--only-summary"],
                       work, timeout, work / "locust.log")
    history = work / "locust_stats_history.csv"
    if not history.exists():
        print((work / "locust.log").read_text()[-3000:])
        raise SetupError(f"Locust wrote no history (exit {lrun.returncode})")
    lfig = locust_figures(history, lrun.peak_rss, 20, args.seconds)
    show(lfig, expected)
    llog = (work / "locust.log").read_text(errors="replace")
    missing = llog.count("failed to send heartbeat")
    print(f"   exit code {lrun.returncode}; its workers missed a heartbeat {missing} times"
          + ("; Locust stopped the test: the last worker went missing"
             if "last worker went missing" in llog else ""))
    print(f"\n== side by side: horde {fig.steady_rps:,.0f} req/s, p99 {fig.p99_median_ms:.1f} ms, "
          f"{fig.peak_rss / 2**20:,.0f} MiB | Locust {lfig.steady_rps:,.0f} req/s, "
          f"p99 {lfig.p99_median_ms:.1f} ms, {lfig.peak_rss / 2**20:,.0f} MiB")


def soak(args: argparse.Namespace, url: str, work: Path) -> None:
    script = work / "soak.py"
    script.write_text(SOAK)
    seconds = int(args.soak_minutes * 60)
    ramp_s = args.soak_users / args.rate
    run = run_watched([*horde_command(), "-f", str(script), "--headless", "--only-summary",
                       "-H", url, "-u", str(args.soak_users), "-r", str(args.rate),
                       "-t", f"{seconds}s", "--json", str(work / "soak.json")],
                      work, seconds + ramp_s + 120, work / "soak.log")
    # While the users run: after the ramp, before the stop (the last samples
    # see the processes ending, with nothing left to measure).
    after_ramp = [rss for t, rss in run.rss_samples if ramp_s + 10 <= t <= seconds and rss > 0]
    if not after_ramp:
        raise SetupError("the soak ended before its ramp did")
    first, last = after_ramp[0], after_ramp[-1]
    growth = 100.0 * (last - first) / first
    print(f"\n== soak: {args.soak_users:,} users with unique query strings, {seconds} s")
    print(f"   RSS after the ramp {first / 2**20:,.0f} MiB, at the end {last / 2**20:,.0f} MiB "
          f"({growth:+.1f}%), peak {run.peak_rss / 2**20:,.0f} MiB; exit code {run.returncode}")
    print(f"   [{'ok' if abs(growth) <= 10.0 else 'FAIL'}] RSS within 10% after the ramp")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=2_500.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--no-locust", action="store_true", help="horde only")
    parser.add_argument("--soak", action="store_true", help="run the soak instead")
    parser.add_argument("--soak-users", type=int, default=5_000)
    parser.add_argument("--soak-minutes", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, results)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="horde-case-study-"))
    try:
        # The soak's 5,000 connections fit the default range: other programs'
        # ports stay where they were for its 30 minutes.
        with machine_settings(widen_ports=not args.soak), nginx3() as url:
            print(f"nginx (3 workers) at {url}; open-file limit "
                  f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]:,}; work dir {work}")
            if args.soak:
                soak(args, url, work)
            else:
                case(args, url, work)
    except SetupError as exc:
        print(f"case_study_50k: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
