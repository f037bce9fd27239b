"""The flags, files and variables Locust users type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.compat.options import LocustArgumentParser, parse_script_options
from horde.errors import UsageError
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


OPTIONS_SCRIPT = """
    from locust import HttpUser, task, constant, events

    @events.init_command_line_parser.add_listener
    def add(parser):
        parser.add_argument("--my-path", default="/fast")
        parser.add_argument("--my-code", type=int, default=200, env_var="MY_CODE")
        parser.add_argument("--quiet-flag", action="store_true")

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            options = self.environment.parsed_options
            assert options.quiet_flag is True
            self.client.get(options.my_path)
            self.client.get(f"/status/{options.my_code}")
"""


def test_script_options_in_locust_conf(tmp_path: Path, plain_target: Target) -> None:
    """As in Locust: a locust.conf may set the script's own options (below the command line)."""
    write_script(tmp_path, OPTIONS_SCRIPT, "locustfile.py")
    (tmp_path / "locust.conf").write_text(
        f"host = {plain_target.url}\nmy-path = /bytes/9\nmy_code = 201\nquiet-flag = true\n")
    run = run_horde(["--headless", "-u", "2", "-r", "10", "-t", "2s", "--only-summary",
                     "--my-code", "202"], tmp_path, json_path=tmp_path / "o.json")
    assert run.returncode == 0, run.stderr
    counts = plain_target.counts()
    assert counts.route("GET", "/fast") == 0
    assert run.endpoint("GET", "/bytes/9")["requests"] == counts.route("GET", "/bytes/{n}") > 0
    assert counts.route_status("GET", "/status/{code}", 202) == \
        counts.route("GET", "/status/{code}") > 0


def test_a_setting_neither_horde_nor_the_script_knows_is_still_refused(tmp_path: Path) -> None:
    write_script(tmp_path, OPTIONS_SCRIPT, "locustfile.py")
    (tmp_path / "locust.conf").write_text("my-path = /x\nmy-pth = /y\n")
    run = run_horde(["--headless", "-t", "1s"], tmp_path)
    assert run.returncode == 2
    assert "unknown setting 'my_pth'" in run.stderr and "Traceback" not in run.stderr


def test_script_options_order_defaults_file_env_command_line() -> None:
    """Locust's (configargparse's) order; a file's text becomes the option's type."""
    parser = LocustArgumentParser()
    parser.add_argument("--a", type=int, default=1, env_var="A")
    parser.add_argument("--b", default="x")
    parser.add_argument("--flag", action="store_true")
    parser.add_argument("--many", is_multiple=True)
    settings = {"a": "2", "b": "file", "flag": "yes", "many": "one"}
    got = parse_script_options(parser, [], environ={}, settings=settings)
    assert (got.a, got.b, got.flag, got.many) == (2, "file", True, ["one"])
    got = parse_script_options(parser, ["--b", "argv"], environ={"A": "3"}, settings=settings)
    assert (got.a, got.b) == (3, "argv")
    got = parse_script_options(parser, ["--a", "4"], environ={"A": "3"}, settings={"a": 2})
    assert got.a == 4
    assert parse_script_options(parser, [], environ={}, settings={"flag": "false"}).flag is False
    with pytest.raises(UsageError, match="not a valid value for --a"):
        parse_script_options(parser, [], environ={}, settings={"a": "two"})
