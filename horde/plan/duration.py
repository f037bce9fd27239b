"""Durations as people type them on the command line: ``30``, ``90s``, ``5m``, ``1h30m``.

`parse_duration` turns such a string into float seconds; `format_duration`
turns seconds back into the same compact form. Pure functions, no clock.

Invariants:

* a bare number means seconds (``"30"`` == ``"30s"``);
* units are ``h``, ``m``, ``s`` and ``ms``, each at most once, in that order,
  optionally separated by spaces (``"1h 30m 10s"``); every amount may have a
  decimal part (``"1.5h"``);
* the result is finite and >= 0; anything else raises `horde.errors.UsageError`
  naming the offending text, never ``ValueError``;
* for whole milliseconds, ``parse_duration(format_duration(x)) == x``.
"""

from __future__ import annotations

import math
import re

from horde.errors import UsageError

__all__ = ["parse_duration", "format_duration"]

# One regex, anchored: the units must come in decreasing order and at most once,
# so "5m1h" or "1h1h" are rejected rather than silently summed.
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_DURATION_RE = re.compile(
    rf"""
    ^\s*
    (?:(?P<h>{_NUMBER})\s*h\s*)?
    (?:(?P<m>{_NUMBER})\s*m(?!s)\s*)?
    (?:(?P<s>{_NUMBER})\s*s\s*)?
    (?:(?P<ms>{_NUMBER})\s*ms\s*)?
    $""",
    re.VERBOSE | re.IGNORECASE,
)
_BARE_RE = re.compile(rf"^\s*(?:{_NUMBER})\s*$")

_EXAMPLES = "e.g. 30, 30s, 5m, 1h30m, '1h 30m 10s' or 1.5h"


def parse_duration(text: str | float | int) -> float:
    """Return the number of seconds that ``text`` describes.

    Numbers (int/float) are accepted as seconds, so a value already parsed or
    given in a config file passes through unchanged (after validation).
    """
    if isinstance(text, bool):  # bool is an int; "True seconds" is a bug upstream
        raise UsageError(f"invalid duration {text!r} ({_EXAMPLES})")
    if isinstance(text, (int, float)):
        seconds = float(text)
    elif isinstance(text, str):
        seconds = _parse_text(text)
    else:
        raise UsageError(f"invalid duration {text!r} ({_EXAMPLES})")
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"invalid duration {text!r}: must be a finite number >= 0")
    return seconds


def _parse_text(text: str) -> float:
    if _BARE_RE.match(text):
        return float(text)
    match = _DURATION_RE.match(text)
    # The regex also matches the empty string (every group optional).
    if match is None or not any(match.groupdict().values()):
        raise UsageError(f"invalid duration {text!r} ({_EXAMPLES})")
    parts = match.groupdict()
    total = 0.0
    for unit, factor in (("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001)):
        amount = parts[unit]
        if amount is not None:
            total += float(amount) * factor
    return total


def format_duration(seconds: float) -> str:
    """Format seconds compactly: ``5400`` -> ``"1h30m"``, ``0.25`` -> ``"250ms"``.

    Whole milliseconds are kept exactly; finer fractions are rounded to the
    millisecond (a load test has no use for less).
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"cannot format duration {seconds!r}: must be finite and >= 0")
    # Work in integer milliseconds so the parts add up exactly.
    total_ms = round(seconds * 1000)
    if total_ms == 0:
        return "0s"
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    out = []
    if hours:
        out.append(f"{hours}h")
    if minutes:
        out.append(f"{minutes}m")
    if secs and millis:
        # "1.5s" reads better than "1s500ms"
        out.append(f"{secs}.{millis:03d}".rstrip("0") + "s")
    elif secs:
        out.append(f"{secs}s")
    elif millis:
        out.append(f"{millis}ms")
    return "".join(out)
