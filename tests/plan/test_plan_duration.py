"""parse_duration / format_duration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.errors import UsageError
from horde.plan import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("0", 0.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1h 30m 10s", 5410.0),
        ("1H30M", 5400.0),
        ("1.5h", 5400.0),
        ("2.5", 2.5),
        ("250ms", 0.25),
        ("1m500ms", 60.5),
        ("  10s ", 10.0),
        ("1h10s", 3610.0),
        (".5m", 30.0),
    ],
)
def test_parse_accepts(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", " ", "abc", "10x", "-5", "-5s", "5m1h", "1h1h", "1h-30m", "s", "h", "1e3", "nan",
     "inf", "10 20", "1.2.3s", "5 mins"],
)
def test_parse_rejects_with_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text)


def test_parse_numbers_pass_through() -> None:
    assert parse_duration(12) == 12.0
    assert parse_duration(0.5) == 0.5
    for bad in (-1, float("inf"), float("nan"), True):
        with pytest.raises(UsageError):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (300, "5m"), (5400, "1h30m"), (5410, "1h30m10s"),
     (0.25, "250ms"), (1.5, "1.5s"), (3600.5, "1h500ms"), (90061, "25h1m1s")],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**10))
def test_round_trip_whole_milliseconds(ms: int) -> None:
    seconds = ms / 1000
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-9)


def test_format_rejects_negative() -> None:
    with pytest.raises(UsageError):
        format_duration(-1)
