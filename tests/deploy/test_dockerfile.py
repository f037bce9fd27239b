"""The Dockerfile's structure (it cannot be built here: no base image is reachable).

Parsed with the `dockerfile` package (Docker's own Go parser). Checked: an
official slim Python base, horde installed from this repository, a non-root
user from then on, `horde` as the entrypoint, the ports horde uses exposed,
and a .dockerignore that lets in exactly what the build copies.
"""

from __future__ import annotations

import re
from pathlib import Path

import dockerfile
import pytest

from horde.cli.config import Config

REPO = Path(__file__).resolve().parents[2]
COMMANDS = dockerfile.parse_file(str(REPO / "Dockerfile"))


def _all(cmd: str) -> list[dockerfile.Command]:
    return [c for c in COMMANDS if c.cmd == cmd]


# --- .dockerignore, as Docker reads it ----------------------------------------------------


def _pattern(p: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(p):
        if p.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif p.startswith("**", i):
            out, i = out + ".*", i + 2
        elif p[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif p[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(p[i]), i + 1
    return re.compile(out + r"\Z")


def _rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        rules.append((negate, _pattern(line.lstrip("!").strip("/"))))
    return rules


def in_context(path: str) -> bool:
    """Whether Docker sends `path` (relative, with /) in the build context.

    The last pattern that matches the path or one of its parent directories
    decides (moby's patternmatcher); "!" lets the path back in.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negate, rx in _rules():
        if any(rx.match(p) for p in prefixes):
            included = negate
    return included


# --- the Dockerfile ----------------------------------------------------------------------


def test_one_official_slim_python_base() -> None:
    [base] = _all("FROM")
    image = base.value[0]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-[a-z]+)?", image), image


def test_horde_is_installed_from_the_repository() -> None:
    copied = [src for c in _all("COPY") for src in c.value[:-1]]
    assert {"pyproject.toml", "horde"} <= set(copied)
    for src in copied:
        assert (REPO / src).exists(), src
    assert any(re.search(r"\bpip install \.(\s|$)", c.value[0]) for c in _all("RUN"))


def test_everything_the_build_copies_is_in_the_context() -> None:
    needed = ["pyproject.toml", "README.md", "horde/__init__.py", "horde/cli/main.py",
              "horde/py.typed", "horde/demo/hordefile.py"]
    needed += [str(p.relative_to(REPO)) for p in (REPO / "horde/web/static").rglob("*")
               if p.is_file()]
    missing = [p for p in needed if not in_context(p)]
    assert not missing


@pytest.mark.parametrize("path", [".git/config", ".venv/bin/python", "tests/test_layers.py",
                                  "bench/compare.py", "docs/index.md", "deploy/x.yaml",
                                  "horde/__pycache__/x.pyc", "horde/web/__pycache__/a.pyc",
                                  "Dockerfile", "some-new-file.txt"])
def test_the_rest_stays_out_of_the_context(path: str) -> None:
    assert not in_context(path)


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = _all("USER")
    assert users, "no USER: the image would run as root"
    last = users[-1]
    uid = last.value[0].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    # Nothing runs as root after the switch, and the switch comes after every RUN.
    assert all(c.start_line < last.start_line for c in _all("RUN"))
    # The user exists: created with that very uid.
    assert any(f"--uid {uid}" in c.value[0] for c in _all("RUN"))


def test_entrypoint_is_horde_in_exec_form() -> None:
    [entry] = _all("ENTRYPOINT")
    assert entry.json and entry.value == ("horde",)


def test_the_ports_horde_listens_on_are_exposed() -> None:
    ports = {int(p) for c in _all("EXPOSE") for p in c.value}
    defaults = Config()
    assert {defaults.web_port, defaults.master_bind_port, 9089} <= ports
