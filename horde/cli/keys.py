"""`horde keys`: make a fleet's secret (``--secret FILE``) or per-worker CURVE keys (``DIR``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from horde.errors import UsageError
from horde.net import write_fleet_keys
from horde.net.secret import create_secret_file

__all__ = ["run_keys"]


def run_keys(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="horde keys",
        description="Create a fleet secret (--secret FILE), or CURVE keys that encrypt and "
                    "authenticate master/worker traffic with a key pair per side (DIR).")
    parser.add_argument("directory", type=Path, nargs="?",
                        help="where to create master/ and worker/ CURVE key directories")
    parser.add_argument("--secret", type=Path, metavar="FILE",
                        help="create FILE (mode 0600) holding a new random fleet secret")
    args = parser.parse_args(argv)
    if (args.directory is None) == (args.secret is None):
        print("horde: give either DIR (CURVE keys) or --secret FILE", file=sys.stderr)
        return 2
    try:
        if args.secret is not None:
            if args.secret.exists():
                raise UsageError(f"{args.secret} exists already; a secret is never overwritten")
            create_secret_file(args.secret)
            print(f"horde: secret written to {args.secret} (mode 0600).\n"
                  f"  on the master:      horde --master --secret-file {args.secret} ...\n"
                  f"  on every worker:    horde --worker --secret-file {args.secret} ...\n"
                  "Copy it to the worker machines over a channel you trust, or put its "
                  "contents in HORDE_SECRET.")
            return 0
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
