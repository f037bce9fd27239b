"""docs/options.md lists every option horde has."""

from __future__ import annotations

from pathlib import Path

from horde.cli.options import OPTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "options.md"


def test_every_flag_and_variable_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [f for o in OPTIONS for f in (*o.flags, o.env_name) if f"`{f}`" not in text]
    assert not missing, f"document these in {DOC}: {missing}"
