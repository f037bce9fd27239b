"""Class names on the command line: after -T/-E, and the words of an unknown one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.cli.main import prepare_scripts, run

SHOP = """
from horde import HttpUser, tag, task

class Shop(HttpUser):
    host = "http://127.0.0.1:9"

    @tag("browse")
    @task
    def items(self):
        self.client.get("/items")

    @tag("buy")
    @task
    def cart(self):
        self.client.get("/cart")

class Blog(HttpUser):
    host = "http://127.0.0.1:9"

    @tag("browse", "Blog")
    @task
    def posts(self):
        self.client.get("/posts")
"""


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("HORDE_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "hordefile.py"
    path.write_text(SHOP)
    return path


def _prepare(script: Path, *argv: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None,
                                               list[str]]:
    config, scripts = prepare_scripts(load_config(["-f", str(script), *argv], environ={},
                                                  cwd=script.parent))
    return config.tags, config.exclude_tags, [c.__name__ for c in scripts.user_classes]


def test_a_class_name_after_tags_is_a_class(script: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert _prepare(script, "-T", "browse", "Shop") == (("browse",), None, ["Shop"])
    assert "Shop read as user class name, not as tag" in capsys.readouterr().err
    assert _prepare(script, "-E", "buy", "Shop") == (None, ("buy",), ["Shop"])
    assert _prepare(script, "-T", "browse", "buy", "Shop", "-E", "x") == \
        (("browse", "buy"), ("x",), ["Shop"])


def test_what_stays_a_tag(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "Blog" is also a task's tag: a tag it stays.
    assert _prepare(script, "-T", "browse", "Blog") == (("browse", "Blog"), None,
                                                         ["Shop", "Blog"])
    # Before -T, or after --, a class name was never in doubt.
    assert _prepare(script, "Shop", "-T", "browse") == (("browse",), None, ["Shop"])
    assert _prepare(script, "-T", "browse", "--", "Shop") == (("browse",), None, ["Shop"])
    assert "read as user class" not in capsys.readouterr().err


def test_the_only_word_of_tags_stays_a_tag(script: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["-f", str(script), "--headless", "-t", "1s", "-T", "Shop"])
    err = capsys.readouterr().err
    assert code == 2 and "no user class has a task to run with these tags" in err


def test_an_unknown_class_is_no_broken_script(script: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["-f", str(script), "--headless", "-t", "1s", "Nope"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "horde: unknown user class Nope; the script defines Blog, Shop"


def test_a_missing_script_is_no_broken_script(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["-f", str(tmp_path / "nope.py"), "--headless", "-t", "1s"])
    err = capsys.readouterr().err
    assert code == 2 and "broken test script" not in err and "no such file" in err
