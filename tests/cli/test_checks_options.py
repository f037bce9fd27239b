"""--check and --check-abort as options: every source, and bad input refused at start (exit 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.cli.main import run
from horde.errors import UsageError


def _exprs(config: object) -> list[str]:
    return [c.expr for c in config.checks]  # type: ignore[attr-defined]


def test_check_is_repeatable_and_keeps_the_text(tmp_path: Path) -> None:
    config = load_config(["--check", "p95 < 300ms", "--check", "GET /a, b: fail_ratio < 1%",
                          "Shop"], environ={}, cwd=tmp_path)
    assert _exprs(config) == ["p95 < 300ms", "GET /a, b: fail_ratio < 1%"]
    assert config.checks[1].endpoint == ("GET", "/a, b")
    assert config.user_classes == ("Shop",)  # one value per --check: the class stays a class
    assert not config.check_abort


def test_checks_from_file_and_environment(tmp_path: Path) -> None:
    (tmp_path / "horde.toml").write_text('checks = ["p95 < 1s", "rps > 10"]\ncheck-abort = true\n')
    from_file = load_config([], environ={}, cwd=tmp_path)
    assert _exprs(from_file) == ["p95 < 1s", "rps > 10"] and from_file.check_abort
    env = {"HORDE_CHECKS": "p99 < 2s; fail_ratio < 1%", "HORDE_CHECK_ABORT": "false"}
    from_env = load_config([], environ=env, cwd=tmp_path)
    assert _exprs(from_env) == ["p99 < 2s", "fail_ratio < 1%"] and not from_env.check_abort
    from_cli = load_config(["--check", "max < 3s"], environ=env, cwd=tmp_path)
    assert _exprs(from_cli) == ["max < 3s"]


@pytest.mark.parametrize("source", ["cli", "env", "file"])
def test_a_bad_check_names_its_source(tmp_path: Path, source: str) -> None:
    argv = ["--check", "p95 < 300"] if source == "cli" else []
    env = {"HORDE_CHECKS": "p95 < 300"} if source == "env" else {}
    if source == "file":
        (tmp_path / "horde.toml").write_text('checks = ["p95 < 300"]\n')
    with pytest.raises(UsageError) as info:
        load_config(argv, environ=env, cwd=tmp_path)
    where = {"cli": "--check", "env": "HORDE_CHECKS", "file": "horde.toml: checks"}[source]
    assert str(info.value).startswith(where) or f"{where}:" in str(info.value)
    assert "'p95 < 300': a time needs a unit of us, ms or s" in str(info.value)


def test_checks_must_be_text(tmp_path: Path) -> None:
    (tmp_path / "horde.toml").write_text("checks = [1, 2]\n")
    with pytest.raises(UsageError, match="expected a list of checks"):
        load_config([], environ={}, cwd=tmp_path)


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("HORDE_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "hordefile.py"
    path.write_text("from horde import HttpUser, task\n\nclass U(HttpUser):\n"
                    "    @task\n    def t(self):\n        self.client.get('/')\n")
    return path


@pytest.mark.parametrize("argv, words", [
    (["--check", "p97 < 1s"], "--check: 'p97 < 1s': horde keeps no percentile p97"),
    (["--check", "latency<1s"], "--check: 'latency<1s': unknown metric 'latency'"),
    (["--check-abort"], "--check-abort needs at least one --check EXPR"),
])
def test_bad_checks_stop_before_the_run_with_exit_2(script: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    argv: list[str], words: str) -> None:
    # The host is unreachable on purpose: the run must be refused before any request.
    code = run(["-f", str(script), "-H", "http://127.0.0.1:9", "--headless", "-t", "1s", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
