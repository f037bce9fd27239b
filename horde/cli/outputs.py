"""The result files a run was asked for, checked before it starts.

A run can take hours; a typo in `--csv results/run1` must not cost them.
`check_output_paths(config)` applies `horde.report.output.check_output` to
every file `--json`, `--csv` and `--html` will write, before the scripts are
loaded or any request is sent, and raises `UsageError` naming the flag and
the path as given (the command line prints it on stderr, exit code 2).

A FIFO among them must have a reader already (else the end of the run would
wait for one forever: refused, exit 2); horde then keeps it open for writing
until it exits, so that reader sees no end of file before the result
(`horde.report.output.hold_reader`).

A worker writes no result files (its master does), so it checks nothing.
"""

from __future__ import annotations

import os

from horde.cli.config import Config
from horde.errors import UsageError
from horde.report.csv_report import csv_paths
from horde.report.output import check_output, hold_reader

__all__ = ["check_output_paths", "output_paths"]


def output_paths(config: Config) -> list[tuple[str, str]]:
    """(flag, path) for every result file the run will write."""
    if config.worker:
        return []
    paths: list[tuple[str, str]] = []
    if config.json is not None:
        paths.append(("--json", config.json))
    if config.csv is not None:
        paths.extend(("--csv", str(p)) for p in csv_paths(config.csv))
    if config.html is not None:
        paths.append(("--html", config.html))
    return paths


def check_output_paths(config: Config) -> list[int]:
    """Check every result path; return the FIFO descriptors it holds open.

    The command line drops them: they stay open until the process ends, which
    is the point. A caller that goes on living (a test) closes them.
    """
    held: list[int] = []
    for flag, path in output_paths(config):
        try:
            check_output(path)
            fd = hold_reader(path)
        except UsageError as exc:
            for fd in held:
                os.close(fd)
            raise UsageError(f"{flag}: {exc}") from None
        if fd is not None:
            held.append(fd)
    return held
