"""`horde keys DIR`: make the CURVE keys of a fleet, ready for --curve-keys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from horde.errors import UsageError
from horde.net import write_fleet_keys

__all__ = ["run_keys"]


def run_keys(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="horde keys",
        description="Create CURVE keys that encrypt and authenticate master/worker traffic.")
    parser.add_argument("directory", type=Path, help="where to create master/ and worker/")
    args = parser.parse_args(argv)
    try:
        master_dir, worker_dir = write_fleet_keys(args.directory)
    except UsageError as exc:
        print(f"horde: {exc}", file=sys.stderr)
        return 2
    print(f"horde: keys written.\n"
          f"  on the master:      horde --master --curve-keys {master_dir} ...\n"
          f"  on every worker:    horde --worker --curve-keys {worker_dir} ...\n"
          f"Copy {worker_dir} to the worker machines; {master_dir} holds the master's "
          "secret key and stays on the master.")
    return 0
