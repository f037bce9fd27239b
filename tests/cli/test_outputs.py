"""Which result paths the command line checks before a run (horde/cli/outputs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.cli.outputs import check_output_paths, output_paths
from horde.errors import UsageError


def test_every_result_file_is_listed(tmp_path: Path) -> None:
    config = load_config(["--json", "r.json", "--csv", "out/x", "--html", "r.html"],
                         environ={}, cwd=tmp_path)
    assert output_paths(config) == [
        ("--json", "r.json"), ("--csv", "out/x_stats.csv"),
        ("--csv", "out/x_stats_history.csv"), ("--csv", "out/x_failures.csv"),
        ("--html", "r.html")]


def test_the_first_bad_path_names_its_flag(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(["--json", "r.json", "--html", "nowhere/r.html"], environ={},
                         cwd=tmp_path)
    with pytest.raises(UsageError) as refused:
        check_output_paths(config)
    assert str(refused.value) == "--html: nowhere/r.html: the directory nowhere does not exist"
    assert list(tmp_path.iterdir()) == []  # the check leaves nothing behind


def test_a_worker_writes_no_result_files_so_checks_none(tmp_path: Path) -> None:
    # Its master writes them; a worker only notes that it ignores the flags.
    config = load_config(["--worker", "--json", "nowhere/r.json"], environ={}, cwd=tmp_path)
    assert output_paths(config) == []
    check_output_paths(config)
