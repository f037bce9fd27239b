"""Option precedence: defaults < config file < HORDE_* environment < command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from horde.cli.config import Config, load_config
from horde.errors import UsageError


def test_defaults(tmp_path: Path) -> None:
    config = load_config([], environ={}, cwd=tmp_path)
    assert config == Config()


def test_pyproject_then_env_then_cli(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.horde]\nusers = 10\nspawn-rate = 2\nrun-time = "1m"\nhost = "http://file"\n'
        'tags = ["a", "b"]\n'
    )
    from_file = load_config([], environ={}, cwd=tmp_path)
    assert (from_file.users, from_file.spawn_rate, from_file.run_time) == (10, 2.0, 60.0)
    assert from_file.host == "http://file" and from_file.tags == ("a", "b")

    env = {"HORDE_USERS": "20", "HORDE_HOST": "http://env", "HORDE_HEADLESS": "true"}
    from_env = load_config([], environ=env, cwd=tmp_path)
    assert (from_env.users, from_env.host, from_env.headless) == (20, "http://env", True)
    assert from_env.spawn_rate == 2.0  # still from the file

    from_cli = load_config(["-u", "30", "-t", "1h30m", "-T", "x", "y", "-T", "z"], environ=env,
                           cwd=tmp_path)
    assert (from_cli.users, from_cli.run_time, from_cli.host) == (30, 5400.0, "http://env")
    assert from_cli.tags == ("x", "y", "z")


def test_horde_toml_wins_over_pyproject_and_says_so(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.horde]\nusers = 10\nspawn-rate = 5\n")
    (tmp_path / "horde.toml").write_text("users = 11\n")
    config = load_config([], environ={}, cwd=tmp_path)
    assert (config.users, config.spawn_rate) == (11, 1.0)  # the whole table is ignored
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (f"horde: warning: both {tmp_path / 'horde.toml'} and [tool.horde] in "
            f"{tmp_path / 'pyproject.toml'} hold settings; horde.toml wins and [tool.horde] "
            "is ignored") in err


def test_no_warning_without_a_horde_table(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "horde.toml").write_text("users = 11\n")
    assert load_config([], environ={}, cwd=tmp_path).users == 11
    (tmp_path / "pyproject.toml").write_text("[project\n")  # broken, but horde.toml wins
    assert load_config([], environ={}, cwd=tmp_path).users == 11
    assert capsys.readouterr().err == ""


def test_pyproject_without_horde_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load_config([], environ={}, cwd=tmp_path) == Config()


@pytest.mark.parametrize("content, fragment", [
    ("userz = 3\n", "unknown setting 'userz'"),
    ("users = 'many'\n", "users: expected a whole number"),
    ("run-time = '5 parsecs'\n", "run-time"),
    ("users = [\n", "not valid TOML"),
])
def test_bad_config_file(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "horde.toml").write_text(content)
    with pytest.raises(UsageError, match=fragment.replace("'", ".")) as info:
        load_config([], environ={}, cwd=tmp_path)
    assert "horde.toml" in str(info.value)


def test_bad_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="HORDE_SPAWN_RATE"):
        load_config([], environ={"HORDE_SPAWN_RATE": "-1"}, cwd=tmp_path)


def test_bad_flag_value_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--users"):
        load_config(["-u", "-5"], environ={}, cwd=tmp_path)


def test_unknown_flag_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        load_config(["--no-such-flag"], environ={}, cwd=tmp_path)
    assert info.value.code == 2
    assert "unknown option --no-such-flag" in capsys.readouterr().err


def test_user_classes_positional(tmp_path: Path) -> None:
    config = load_config(["A", "B", "--headless"], environ={}, cwd=tmp_path)
    assert config.user_classes == ("A", "B") and config.headless


def test_exit_code_must_fit_a_shell(tmp_path: Path) -> None:
    assert load_config(["--exit-code-on-error", "255"], environ={}, cwd=tmp_path) \
        .exit_code_on_error == 255
    with pytest.raises(UsageError, match="0 to 255"):
        load_config(["--exit-code-on-error", "256"], environ={}, cwd=tmp_path)


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1"])
def test_spawn_rate_must_be_finite_and_positive(tmp_path: Path, value: str) -> None:
    with pytest.raises(UsageError, match="--spawn-rate: expected a finite number above zero"):
        load_config(["-r", value], environ={}, cwd=tmp_path)


def test_web_allowed_host_repeats_from_every_source(tmp_path: Path) -> None:
    argv = ["--web-allowed-host", "Horde.Example.", "--web-allowed-host", "[::1]",
            "--web-allowed-host", "10.0.0.5", "UserClass"]
    config = load_config(argv, environ={}, cwd=tmp_path)
    assert config.web_allowed_host == ("horde.example", "::1", "10.0.0.5")
    assert config.user_classes == ("UserClass",)  # one value per flag: the class is no host
    env = {"HORDE_WEB_ALLOWED_HOST": "a.example,b.example"}
    assert load_config([], environ=env, cwd=tmp_path).web_allowed_host == ("a.example",
                                                                          "b.example")
    (tmp_path / "horde.toml").write_text('web-allowed-host = ["c.example"]\n')
    assert load_config([], environ={}, cwd=tmp_path).web_allowed_host == ("c.example",)


@pytest.mark.parametrize("value", ["http://horde.example", "horde.example:8089", "*"])
def test_web_allowed_host_takes_a_bare_name(tmp_path: Path, value: str) -> None:
    with pytest.raises(UsageError, match="--web-allowed-host: expected a host name"):
        load_config(["--web-allowed-host", value], environ={}, cwd=tmp_path)


def test_stages_from_the_file_as_a_list_or_a_string_and_from_the_command_line(
        tmp_path: Path) -> None:
    from horde.plan import Stage

    (tmp_path / "horde.toml").write_text('stages = ["30s:100", "2m:100", "30s:0"]\n')
    assert load_config([], environ={}, cwd=tmp_path).stages == (
        Stage(30, 100), Stage(120, 100), Stage(30, 0))
    (tmp_path / "horde.toml").write_text('stages = "10s:5,5s:0"\n')
    assert load_config([], environ={}, cwd=tmp_path).stages == (Stage(10, 5), Stage(5, 0))
    assert load_config(["--stages", "1m:3"], environ={}, cwd=tmp_path).stages == (
        Stage(60, 3),)
    (tmp_path / "horde.toml").write_text('stages = ["30s"]\n')
    with pytest.raises(UsageError, match="horde.toml: stages: invalid stage '30s'"):
        load_config([], environ={}, cwd=tmp_path)
