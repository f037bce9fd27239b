"""`horde demo`'s closing line says whether horde's total matches the target's count."""

from __future__ import annotations

from pathlib import Path

from horde.cli.demo import _compare, _horde_total


def test_the_comparison_says_match_or_differ_explicitly() -> None:
    assert _compare(72, 72).endswith("horde counted 72: they match.")
    assert _compare(72, 70).endswith("horde counted 70: they differ by 2.")
    assert "could not compare" in _compare(None, 70)


def test_horde_total_reads_the_json_result(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    assert _horde_total(path) is None
    path.write_text('{"total": {"requests": 12}}')
    assert _horde_total(path) == 12
