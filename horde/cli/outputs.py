"""The result files a run was asked for, checked before it starts.

A run can take hours; a typo in `--csv results/run1` must not cost them.
`check_output_paths(config)` applies `horde.report.output.check_output` to
every file `--json`, `--csv` and `--html` will write, before the scripts are
loaded or any request is sent, and raises `UsageError` naming the flag and
the path as given (the command line prints it on stderr, exit code 2).

A worker writes no result files (its master does), so it checks nothing.
"""

from __future__ import annotations

from horde.cli.config import Config
from horde.errors import UsageError
from horde.report.csv_report import csv_paths
from horde.report.output import check_output

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


def check_output_paths(config: Config) -> None:
    for flag, path in output_paths(config):
        try:
            check_output(path)
        except UsageError as exc:
            raise UsageError(f"{flag}: {exc}") from None
