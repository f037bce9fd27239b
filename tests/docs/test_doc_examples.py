"""Every script the documentation shows runs as written against the demo target.

Collected: each ```python block of README.md and docs/ that defines a user
class with a task, and every script in examples/. Each runs for a moment as a
real `horde` process against `python -m horde.demo.app` (the command the docs
give) and must load, send requests the shop answers, and raise nothing in a
task. A block that uses horde's names without importing them (the docs leave
the import out to stay short) gets `from horde import *` put before it;
nothing else is changed.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.horde_process import run_horde
from tests.support.target import REPO_ROOT, Target

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.py"))
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class Script:
    where: str
    source: str


def _doc_scripts() -> list[Script]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            code = match.group(1)
            if not re.search(r"^class \w+\(", code, re.M) or "@task" not in code:
                continue  # a fragment (a call, a signature), not a script
            if not re.search(r"^(from|import) ", code, re.M):
                code = "from horde import *  # noqa\n" + code
            line = text[: match.start()].count("\n") + 1
            found.append(Script(f"{path.relative_to(REPO_ROOT)}:{line}", code))
    return found


SCRIPTS = _doc_scripts() + [Script(str(p.relative_to(REPO_ROOT)), p.read_text())
                            for p in EXAMPLES]


def test_the_docs_have_scripts_to_run() -> None:
    # A regex that stopped matching would make every test below vanish silently.
    assert len([s for s in SCRIPTS if s.where.startswith("docs/")]) >= 8
    assert any(s.where.startswith("README.md:") for s in SCRIPTS)
    assert len(EXAMPLES) >= 7


def _private_ca(directory: Path) -> None:
    """A ca.pem for the private-CA example (docs/http-client.md), made by openssl."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    str(directory / "ca.key"), "-out", str(directory / "ca.pem"), "-days", "1",
                    "-subj", "/CN=docs test CA"], check=True, capture_output=True, timeout=30)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.where for s in SCRIPTS])
def test_script_runs_against_the_demo_target(script: Script, demo_target: Target,
                                             tmp_path: Path) -> None:
    path = tmp_path / "hordefile.py"
    path.write_text(script.source)
    if "ca.pem" in script.source:
        _private_ca(tmp_path)
    run = run_horde(["-f", str(path), "-H", demo_target.url, "--headless", "-u", "3",
                     "-r", "30", "-t", "2s", "--only-summary"], tmp_path,
                    json_path=tmp_path / "result.json", timeout=60)
    context = f"{script.where}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    # 1: the shop fails some checkouts on purpose (and a test of failure() fails).
    assert run.returncode in (0, 1), context
    assert run.result is not None, context
    assert run.result["exceptions"] == [], context
    # Everything it asked for exists on the shop: failures are the shop's deliberate
    # 502s or a script's own verdict (catch_response), never a wrong path or no answer.
    for error in run.result["errors"]:
        assert not error["error"].startswith(("HTTP 404", "HTTP 405", "ConnectError")), context
    answered = demo_target.counts().total
    assert answered == run.result["total"]["requests"], context
