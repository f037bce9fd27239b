"""`horde demo`: a real load test against horde's built-in demo shop.

Starts the demo target in its own process (so it does not share a core's
event loop with the generator), runs the bundled script headless as a
distributed test, a master plus two local worker processes (`--processes 2`),
with the live view for about 20 seconds, prints the summary with the worker
table, then compares horde's request count with the count the target itself
kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from importlib import resources
from pathlib import Path

from horde.demo.serve import parse_listen_line
from horde.errors import HordeError

__all__ = ["run_demo", "start_demo_target"]


def start_demo_target() -> tuple[subprocess.Popen[str], str]:
    """Launch `python -m horde.demo.app --port 0`; return the process and its URL."""
    errors = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde.demo.app", "--port", "0"],
        stdout=subprocess.PIPE, stderr=errors, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the app's first line names its port
    proc.stdout.close()
    try:
        host, port = parse_listen_line(line)
    except ValueError:
        proc.kill()
        proc.wait()
        errors.seek(0)
        raise HordeError(
            f"the demo target did not start: {errors.read().strip() or line!r}") from None
    errors.close()
    return proc, f"http://{host}:{port}"


def _target_total(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url + "/__counts", timeout=5) as answer:
            counts = json.load(answer)
    except (OSError, ValueError):
        return None
    total = counts.get("total")
    return int(total) if isinstance(total, int) else None


def _horde_total(path: Path) -> int | None:
    try:
        total = json.loads(path.read_text())["total"]["requests"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(total) if isinstance(total, int) else None


def _compare(served: int | None, counted: int | None) -> str:
    """One line comparing the target's own count with horde's total."""
    if served is None or counted is None:
        return "horde demo: could not compare horde's total with the target's own count."
    if served == counted:
        return (f"horde demo: the target itself counted {served} requests; horde counted "
                f"{counted}: they match.")
    return (f"horde demo: the target itself counted {served} requests; horde counted "
            f"{counted}: they differ by {abs(served - counted)}.")


def run_demo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="horde demo",
                                     description="Run a load test against the built-in demo shop.")
    parser.add_argument("-u", "--users", type=int, default=50,
                        help="shoppers (default 50)")
    parser.add_argument("-r", "--spawn-rate", type=float, default=25.0,
                        help="shoppers started per second (default 25)")
    parser.add_argument("-t", "--run-time", default="20s", help="how long (default 20s)")
    parser.add_argument("--processes", default="2",
                        help="local worker processes (default 2; 'auto': one per core)")
    args = parser.parse_args(argv)

    from horde.cli.main import run

    script = resources.files("horde.demo").joinpath("hordefile.py")
    proc, url = start_demo_target()
    result_dir = Path(tempfile.mkdtemp(prefix="horde-demo-"))
    result = result_dir / "result.json"
    try:
        print(f"horde demo: {args.users} shoppers browse, log in and buy from the demo shop at "
              f"{url} for {args.run_time}, from a master and {args.processes} worker "
              "processes; about 5% of checkouts fail on purpose.", flush=True)
        code = run(["-f", str(Path(str(script))), "-H", url, "--headless",
                    "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.run_time,
                    "--processes", str(args.processes), "--json", str(result)])
        print(_compare(_target_total(url), _horde_total(result)))
        # The demo target fails some checkouts on purpose: that is not a failed demo.
        return 0 if code in (0, 1) else code
    finally:
        shutil.rmtree(result_dir, ignore_errors=True)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
