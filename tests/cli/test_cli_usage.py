"""What a user gets for a wrong flag or value: exit code 2 and one clear line.

These run `horde.cli.main.run` in this process (fast); nothing here starts a
test, so nothing reaches the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from horde.cli.config import Config, load_config
from horde.cli.distributed import _note_ignored_options, process_count
from horde.cli.main import run
from horde.errors import UsageError

SCRIPT = """
from horde import HttpUser, task

class U(HttpUser):
    @task
    def home(self):
        self.client.get("/")
"""


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no config file of the checkout is read
    for key in [k for k in os.environ if k.startswith("HORDE_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "hordefile.py"
    path.write_text(SCRIPT)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = run(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1:8080", "has no scheme; write http://127.0.0.1:8080"),
    ("localhost:8080", "has no scheme; write http://localhost:8080"),
    ("ftp://127.0.0.1", "http:// and https:// only, not ftp://"),
    ("http://", "names no host"),
    ("http://127.0.0.1:99999", "not a valid URL"),
    ("http://127.0.0.1/x?debug=1", "takes no ?query"),
])
def test_a_bad_host_is_a_usage_error(script: Path, capsys: pytest.CaptureFixture[str],
                                     host: str, expected: str) -> None:
    code, err = _run(capsys, "-f", str(script), "-H", host, "--headless", "-t", "1s")
    assert code == 2
    assert "-H/--host" in err and expected in err


@pytest.mark.parametrize("host", ["http://127.0.0.1:8080", "https://[::1]:8443",
                                  "http://127.0.0.1:8080/api/v1", "HTTP://Example.org"])
def test_good_hosts_pass_unchanged(tmp_path: Path, host: str) -> None:
    assert load_config(["-H", host], environ={}, cwd=tmp_path).host == host


def test_a_bad_host_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="HORDE_HOST.*no scheme"):
        load_config([], environ={"HORDE_HOST": "127.0.0.1:80"}, cwd=tmp_path)


def test_run_time_zero_is_refused(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "-f", str(script), "-H", "http://127.0.0.1:9", "--headless",
                     "-t", "0")
    assert code == 2
    assert "-t/--run-time" in err and "above zero" in err and "leave -t out" in err


def test_zero_users_headless_is_refused(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "-f", str(script), "-H", "http://127.0.0.1:9", "--headless",
                     "-u", "0", "-t", "1s")
    assert code == 2
    assert "-u/--users is 0" in err


def test_zero_users_is_a_fine_web_ui_default(tmp_path: Path) -> None:
    assert load_config(["-u", "0"], environ={}, cwd=tmp_path).users == 0


@pytest.mark.parametrize("flag, value, expected", [
    ("--processes", "0", "1 or more"),
    ("--processes", "many", "expected a whole number"),
    ("-r", "0", "above zero"),
    ("--web-port", "70000", "up to 65535"),
    ("--expect-workers-max-wait", "soon", "--expect-workers-max-wait"),
])
def test_wrong_values_exit_2(script: Path, capsys: pytest.CaptureFixture[str], flag: str,
                             value: str, expected: str) -> None:
    code, err = _run(capsys, "-f", str(script), flag, value)
    assert code == 2
    assert expected in err


def test_processes_auto_is_one_per_core(tmp_path: Path) -> None:
    config = load_config(["--processes", "auto"], environ={}, cwd=tmp_path)
    assert config.processes == "auto"
    assert process_count("auto") == (os.cpu_count() or 1)
    assert process_count(3) == 3


@pytest.mark.parametrize("setup, expected", [
    ("empty_dir", "directory has no .py test scripts"),
    ("syntax", "hordefile.py:2: syntax error"),
    ("raises", "hordefile.py:3: error while loading: RuntimeError: no config"),
    ("no_task", "no user class has a task to run; give each user class at least one @task"),
    ("tags", "no user class has a task to run with these tags"),
])
def test_broken_scripts_exit_2(script: Path, capsys: pytest.CaptureFixture[str], setup: str,
                               expected: str) -> None:
    target, extra = script, []
    if setup == "empty_dir":
        target = script.parent / "empty"
        target.mkdir()
    elif setup == "syntax":
        script.write_text("from horde import HttpUser\ndef broken(:\n")
    elif setup == "raises":
        script.write_text("import os\n\nraise RuntimeError('no config')\n")
    elif setup == "no_task":
        script.write_text("from horde import HttpUser\nclass U(HttpUser):\n    pass\n")
    else:
        extra = ["-T", "checkout"]
    code, err = _run(capsys, "-f", str(target), "-H", "http://127.0.0.1:9", "--headless",
                     "-t", "1s", *extra)
    assert code == 2
    assert expected in err


def test_a_directory_of_scripts_is_loaded(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # -u 0 is refused after loading: proof the directory was read, with no test run.
    code, err = _run(capsys, "-f", str(script.parent), "-H", "http://127.0.0.1:9",
                     "--headless", "-u", "0")
    assert code == 2 and "-u/--users is 0" in err


def test_a_worker_notes_the_options_its_master_decides(
        capsys: pytest.CaptureFixture[str]) -> None:
    _note_ignored_options(Config(worker=True, users=5, host="http://127.0.0.1:9"))
    err = capsys.readouterr().err
    assert "a worker ignores --users, --host: its master decides those" in err
    _note_ignored_options(load_config(["--worker", "--check", "p95<1s", "--check-abort",
                                       "-T", "a"], environ={}))
    assert "a worker ignores --tags, --check, --check-abort: its master" in \
        capsys.readouterr().err
    _note_ignored_options(Config(worker=True, master_port=6000, reconnect_timeout=5.0))
    assert capsys.readouterr().err == ""


def test_help_shows_defaults_configuration_and_exit_codes(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(["--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    for text in (
        "peak number of concurrent users (default: 1)",
        "users started (or stopped) per second (default: 1)",
        "port of the web UI (0: any free port; horde prints the URL) (default: 8089)",
        "(--processes N waits for its own N) (default: 1)",
        "default timeout of one request, in seconds (default: 60)",
        "horde.toml", "[tool.horde] in pyproject.toml", "HORDE_* environment variables",
        "exit codes: 0", "3 a --check failed",
    ):
        assert text in out, text
    # No noise for switches and options without a default.
    assert "(default: False)" not in out and "(default: None)" not in out
    assert "(default: ())" not in out
