"""The flags, files and variables Locust users type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from horde.cli.config import load_config
from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target

SCRIPT = """
    from locust import HttpUser, TaskSet, task, constant

    class Browse(TaskSet):
        @task(3)
        def a(self):
            self.client.get("/fast")
        @task(1)
        def b(self):
            self.client.get("/fast")

    class Web(HttpUser):
        weight = 3
        wait_time = constant(0.01)
        tasks = [Browse]

    class Api(HttpUser):
        weight = 1
        wait_time = constant(0.01)
        @task
        def t(self):
            self.client.get("/fast")
"""


def test_locust_env_vars_are_aliases_and_horde_wins(tmp_path: Path) -> None:
    config = load_config([], environ={"LOCUST_USERS": "7", "LOCUST_LOCUSTFILE": "x.py",
                                      "LOCUST_RUN_TIME": "5s"}, cwd=tmp_path)
    assert (config.users, config.hordefile, config.run_time) == (7, "x.py", 5.0)
    config = load_config([], environ={"LOCUST_USERS": "7", "HORDE_USERS": "9"}, cwd=tmp_path)
    assert config.users == 9


def test_locust_conf_found_and_named_by_config(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text(
        "# Locust's format\nlocustfile = my.py\nheadless = true\nusers = 4\n"
        "spawn-rate = 2\nrun-time = 1m\n")
    config = load_config([], environ={}, cwd=tmp_path)
    assert (config.hordefile, config.headless, config.users, config.spawn_rate,
            config.run_time) == ("my.py", True, 4, 2.0, 60.0)
    other = tmp_path / "other.toml"
    other.write_text("[tool.locust]\nusers = 11\n")
    assert load_config(["--config", str(other)], environ={}, cwd=tmp_path).users == 11


def test_tool_locust_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.locust]\nlocustfile = 'a.py'\nusers = 3\n")
    config = load_config([], environ={}, cwd=tmp_path)
    assert (config.hordefile, config.users) == ("a.py", 3)


def test_unsupported_locust_flag_gets_a_sentence(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        load_config(["--web-login"], environ={}, cwd=tmp_path)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--web-login is a Locust option horde does not support" in err
    assert "--web-auth" in err


def test_list_and_task_ratio(tmp_path: Path) -> None:
    write_script(tmp_path, SCRIPT, "locustfile.py")
    listed = run_horde(["-l"], tmp_path)
    assert listed.returncode == 0 and listed.stdout.split() == ["Web", "Api"]
    ratio = run_horde(["--show-task-ratio-json"], tmp_path)
    assert ratio.returncode == 0, ratio.stderr
    data = json.loads(ratio.stdout)
    assert data["Web"]["ratio"] == 0.75 and data["Api"]["ratio"] == 0.25
    assert data["Web"]["tasks"]["Browse"]["tasks"] == {"a": {"ratio": 0.75},
                                                      "b": {"ratio": 0.25}}
    text = run_horde(["--show-task-ratio"], tmp_path)
    assert "75.0%  Web" in text.stdout and "75.0%  a" in text.stdout


def test_iterations_logfile_and_reset_stats(tmp_path: Path, plain_target: Target) -> None:
    write_script(tmp_path, SCRIPT, "locustfile.py")
    log = tmp_path / "horde.log"
    run = run_horde(["-H", plain_target.url, "--headless", "-u", "2", "-r", "10", "-i", "20",
                     "--logfile", str(log), "--loglevel", "DEBUG", "-t", "30s",
                     "--only-summary"], tmp_path, json_path=tmp_path / "o.json")
    assert run.returncode == 0, run.stderr
    served = plain_target.counts().route("GET", "/fast")
    # Every task makes one request; users finishing a task as the budget runs out
    # may add one each.
    assert 20 <= served <= 22
    assert run.endpoint("GET", "/fast")["requests"] == served
    assert run.result is not None and run.result["duration_s"] < 30
    assert "horde's locust namespace" in log.read_text()
