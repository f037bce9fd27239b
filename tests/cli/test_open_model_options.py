"""--arrival-rate, --arrival-stages, --max-lateness: parsed, refused with a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.cli.openmodel import open_model_plan
from horde.errors import UsageError
from horde.plan.arrival import ArrivalRate, RateStage


def test_closed_model_by_default(tmp_path: Path) -> None:
    assert open_model_plan(load_config([], environ={}, cwd=tmp_path)) is None


def test_flags_file_and_environment_make_the_plan(tmp_path: Path) -> None:
    config = load_config(["--arrival-rate", "200", "-u", "20", "--max-lateness", "2s"],
                         environ={}, cwd=tmp_path)
    assert open_model_plan(config) == ArrivalRate(200.0, users=20, max_lateness=2.0)
    (tmp_path / "horde.toml").write_text('arrival-stages = ["30s:100", "1m:0"]\nusers = 5\n')
    config = load_config([], environ={"HORDE_ARRIVAL_RATE": "10"}, cwd=tmp_path)
    assert open_model_plan(config) == ArrivalRate(
        10.0, users=5, stages=(RateStage(30, 100), RateStage(60, 0)))


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--arrival-rate", "0"], "--arrival-rate"),
    (["--arrival-rate", "fast"], "--arrival-rate"),
    (["--arrival-stages", "30s"], "--arrival-stages"),
    (["--max-lateness", "0s"], "--max-lateness"),
])
def test_bad_values_name_the_flag(tmp_path: Path, argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        load_config(argv, environ={}, cwd=tmp_path)


def test_one_plan_a_run(tmp_path: Path) -> None:
    config = load_config(["--arrival-rate", "5", "--stages", "10s:5"], environ={}, cwd=tmp_path)
    with pytest.raises(UsageError, match="one or the other"):
        open_model_plan(config)
    with pytest.raises(UsageError, match="load shape"):
        open_model_plan(load_config(["--arrival-rate", "5"], environ={}, cwd=tmp_path),
                        has_shape=True)
