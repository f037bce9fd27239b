"""--metrics-port / --metrics-host on the command line: exit 2 and one clear line when wrong.

Nothing here starts a test: a refused option or a busy port ends the run
before any user exists.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.cli.main import run

SCRIPT = """
from horde import HttpUser, task

class U(HttpUser):
    @task
    def home(self):
        self.client.get("/")
"""


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
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


def test_defaults_and_sources(tmp_path: Path) -> None:
    assert load_config([], environ={}, cwd=tmp_path).metrics_port is None
    config = load_config(["--metrics-port", "9089", "--metrics-host", "0.0.0.0"], environ={},
                         cwd=tmp_path)
    assert (config.metrics_port, config.metrics_host) == (9089, "0.0.0.0")
    assert load_config([], environ={"HORDE_METRICS_PORT": "9100"}, cwd=tmp_path).metrics_port \
        == 9100


@pytest.mark.parametrize("value, expected", [
    ("70000", "up to 65535"),
    ("-1", "zero or more"),
    ("http", "expected a whole number"),
])
def test_a_bad_port_exits_2(script: Path, capsys: pytest.CaptureFixture[str], value: str,
                            expected: str) -> None:
    code, err = _run(capsys, "-f", str(script), "--metrics-port", value)
    assert code == 2 and expected in err


def test_a_worker_is_told_the_master_serves_metrics(script: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "--worker", "--metrics-port", "9089")
    assert code == 2
    assert "--metrics-port goes on the master (or a local run)" in err


def test_a_busy_metrics_port_ends_a_headless_run_before_it_starts(
        script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # Port 9 on loopback: nothing listens there, and no user is started anyway.
        code, err = _run(capsys, "-f", str(script), "-H", "http://127.0.0.1:9", "--headless",
                         "-u", "1", "-t", "1s", "--metrics-port", str(port))
    assert code == 2
    assert f"the metrics server cannot listen on 127.0.0.1:{port}" in err
