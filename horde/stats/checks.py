"""Thresholds: `--check EXPR` parsed into a `Check`, judged on a `StatsSnapshot`.

    check = parse_check("GET /cart: p95 < 300ms")
    [result] = evaluate([check], snapshot)   # CheckResult(expr, ok, value, unit)

The grammar (k6's threshold syntax is the anchor; docs/thresholds.md):

    [METHOD NAME ":"] METRIC OP NUMBER [UNIT]

* METRIC: ``p50`` ... ``p99.99`` (any key of `PERCENTILE_KEYS`; k6's ``p(95)``
  too), ``med`` (= p50), ``avg``, ``min``, ``max`` -- times, with a unit
  ``us``, ``ms`` or ``s``; ``fail_ratio`` -- a percentage, with ``%``;
  ``rps`` -- requests per second over the run, a bare number.
* OP: ``<``, ``<=``, ``>`` or ``>=``. Equality is refused: it is never met by
  a measured figure.
* The prefix names one endpoint as the statistics do (method, then name,
  e.g. ``GET /cart``); without it the check reads the Aggregated total.

Invariants:

* parsing is pure and raises only `UsageError`, with one sentence naming the
  expression;
* a `Check` keeps the text as written (`expr`), so results, JSON and
  metrics show what the user typed;
* a figure that does not exist without requests (a percentile, avg, min, max,
  fail_ratio of an endpoint that saw none) is *not met*, with value None: a
  typo in an endpoint name must fail a CI job, not pass it silently. ``rps``
  of nothing is 0 and is judged as such.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from horde.errors import UsageError
from horde.stats.snapshot import PERCENTILE_KEYS, EndpointSummary, StatsSnapshot

__all__ = [
    "Check",
    "CheckResult",
    "parse_check",
    "parse_checks",
    "evaluate",
    "evaluate_one",
    "abort_min_requests",
    "should_abort",
    "CheckWatch",
]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_TIME_UNITS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
_TIME_METRICS = ("avg", "min", "max")
_KNOWN = ("pN (N one of " + ", ".join(PERCENTILE_KEYS)
          + "), med, avg, min, max, fail_ratio or rps")

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_EXPR_RE = re.compile(
    rf"""^\s*(?P<metric>[A-Za-z_]+\s*(?:\(\s*[^)]*\)|[\d.]+)?)
         \s*(?P<op>[<>=!]=?=?)
         \s*(?P<number>{_NUMBER})
         \s*(?P<unit>[A-Za-zµ%/]*)\s*$""",
    re.VERBOSE,
)
_PCT_RE = re.compile(r"^p\s*(?:\(\s*(?P<a>[\d.]+)\s*\)|(?P<b>[\d.]+))$")
_METHOD_RE = re.compile(r"^[A-Za-z]+$")

MIN_ABORT_REQUESTS = 100
"""Requests an endpoint (or the total) needs before --check-abort may act on it."""
ABOVE_PERCENTILE = 5
"""...and, for a percentile pN, enough that this many requests lie above it."""


@dataclass(frozen=True, slots=True)
class Check:
    """One parsed threshold. `threshold` is in the metric's unit (`unit`)."""

    expr: str
    metric: str
    """"p95" (a `PERCENTILE_KEYS` key after the p), "avg", "min", "max", "fail_ratio", "rps"."""
    op: str
    threshold: float
    endpoint: tuple[str, str] | None = None
    """(method, name), or None for the Aggregated total."""

    @property
    def unit(self) -> str:
        """"ms", "%" or "req/s": what `threshold` and a result's `value` are in."""
        return {"fail_ratio": "%", "rps": "req/s"}.get(self.metric, "ms")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """How one check came out. `value` is None when there was nothing to measure."""

    expr: str
    ok: bool
    value: float | None
    unit: str
    aborted: bool = False
    """True for the check that stopped the run early (--check-abort)."""

    def verdict_text(self) -> str:
        """"passed", "FAILED" or "FAILED (stopped the run)"."""
        if self.ok:
            return "passed"
        return "FAILED (stopped the run)" if self.aborted else "FAILED"

    def value_text(self) -> str:
        """The value for people: "52.1 ms", "0.50%", "812.3 req/s", or "no requests"."""
        if self.value is None:
            return "no requests"
        if self.unit == "%":
            return f"{self.value:.2f}%"
        if self.unit == "req/s":
            return f"{self.value:.1f} req/s"
        digits = 3 if self.value < 1 else 2 if self.value < 10 else 1 if self.value < 100 else 0
        return f"{self.value:.{digits}f} ms"


def _fail(expr: str, why: str) -> UsageError:
    return UsageError(f"{expr!r}: {why}")


def _metric(expr: str, raw: str) -> str:
    text = raw.replace(" ", "").lower()
    if text in ("avg", "min", "max", "fail_ratio", "rps"):
        return text
    if text == "med":
        return "p50"
    match = _PCT_RE.match(text)
    if match is not None:
        digits = match.group("a") or match.group("b")
        try:
            wanted = float(digits)
        except ValueError:
            wanted = math.nan
        for key in PERCENTILE_KEYS:
            if float(key) == wanted:
                return "p" + key
        raise _fail(expr, f"horde keeps no percentile {raw.strip()}; use one of "
                          + ", ".join(f"p{k}" for k in PERCENTILE_KEYS))
    raise _fail(expr, f"unknown metric {raw.strip()!r}; use {_KNOWN}")


def _threshold(expr: str, metric: str, number: float, unit: str) -> float:
    unit = unit.strip()
    if metric == "fail_ratio":
        if unit != "%":
            raise _fail(expr, "write fail_ratio as a percentage, e.g. fail_ratio < 1%")
        return number
    if metric == "rps":
        if unit not in ("", "/s"):
            raise _fail(expr, f"rps takes a bare number of requests per second, not {unit!r}")
        return number
    factor = _TIME_UNITS.get(unit if unit == "µs" else unit.lower())
    if factor is None:
        example = f"e.g. {metric} < {number:g}ms" + (f" or {number:g}s" if unit else "")
        raise _fail(expr, f"a time needs a unit of us, ms or s ({example})" if not unit
                    else f"unknown time unit {unit!r}; use us, ms or s ({example})")
    return number * factor


def _endpoint(expr: str, prefix: str) -> tuple[str, str]:
    method, _, name = prefix.strip().partition(" ")
    name = name.strip()
    if not name or not _METHOD_RE.match(method):
        raise _fail(expr, "name the endpoint by method and name, as the statistics show it "
                          "(e.g. 'GET /cart: p95 < 300ms')")
    return method.upper(), name


def parse_check(text: str) -> Check:
    """One expression -> a `Check`; raises `UsageError` saying what is wrong."""
    if not isinstance(text, str):
        raise UsageError(f"a check must be text such as 'p95 < 300ms', not {text!r}")
    expr = text.strip()
    if not expr:
        raise UsageError("a check is empty; write one such as 'p95 < 300ms'")
    # The metric part never holds a colon; an endpoint's name may (a full URL).
    prefix, colon, body = expr.rpartition(":")
    endpoint = _endpoint(expr, prefix) if colon else None
    match = _EXPR_RE.match(body)
    if match is None:
        raise _fail(expr, "expected METRIC OP NUMBER[UNIT], e.g. 'p95 < 300ms', "
                          "'fail_ratio < 1%' or 'rps > 100'")
    op = match.group("op")
    if op not in _OPS:
        raise _fail(expr, f"use <, <=, > or >=, not {op!r} (a measured figure is never "
                          "exactly equal to a threshold)")
    metric = _metric(expr, match.group("metric"))
    number = float(match.group("number"))
    if number < 0:
        raise _fail(expr, "a threshold cannot be negative")
    threshold = _threshold(expr, metric, number, match.group("unit"))
    return Check(expr=expr, metric=metric, op=op, threshold=threshold, endpoint=endpoint)


def parse_checks(texts: Iterable[str]) -> tuple[Check, ...]:
    return tuple(parse_check(t) for t in texts)


# --- judging --------------------------------------------------------------------------------


def _summary(check: Check, snapshot: StatsSnapshot) -> EndpointSummary | None:
    if check.endpoint is None:
        return snapshot.total
    method, name = check.endpoint
    for entry in snapshot.endpoints:
        if entry.method == method and entry.name == name:
            return entry
    return None


def _value(check: Check, entry: EndpointSummary | None) -> float | None:
    if check.metric == "rps":
        return entry.rps if entry is not None else 0.0
    if entry is None or entry.requests == 0:
        return None
    if check.metric == "fail_ratio":
        return 100.0 * entry.failures / entry.requests
    if check.metric == "avg":
        return entry.mean_ms
    if check.metric == "min":
        return entry.min_ms
    if check.metric == "max":
        return entry.max_ms
    return entry.percentiles_ms[check.metric[1:]]


def evaluate_one(check: Check, snapshot: StatsSnapshot) -> CheckResult:
    value = _value(check, _summary(check, snapshot))
    ok = value is not None and _OPS[check.op](value, check.threshold)
    shown = None if value is None else round(value, 3)
    return CheckResult(expr=check.expr, ok=ok, value=shown, unit=check.unit)


def evaluate(checks: Sequence[Check], snapshot: StatsSnapshot) -> list[CheckResult]:
    """Every check on `snapshot` (the end of the run, or live), in the given order."""
    return [evaluate_one(c, snapshot) for c in checks]


def abort_min_requests(check: Check) -> int | None:
    """Requests needed before --check-abort may stop the run on `check`; None: never.

    * ``rps`` is judged at the end only: during a ramp the run's rate is still
      climbing, and a stop would make it final.
    * ``max <`` / ``max <=`` are final as soon as they fail (a maximum only
      grows): one request is enough.
    * a percentile pN waits for `MIN_ABORT_REQUESTS` and for `ABOVE_PERCENTILE`
      requests above it (p99: 500, p99.9: 5,000), so a single slow first
      request cannot end a run; avg, min, fail_ratio wait for
      `MIN_ABORT_REQUESTS`.
    """
    if check.metric == "rps":
        return None
    if check.metric == "max" and check.op in ("<", "<="):
        return 1
    if check.metric.startswith("p"):
        tail = 1.0 - float(check.metric[1:]) / 100.0
        if tail <= 0:
            return MIN_ABORT_REQUESTS  # p100 is the maximum, which can only grow
        return max(MIN_ABORT_REQUESTS, math.ceil(round(ABOVE_PERCENTILE / tail, 6)))
    return MIN_ABORT_REQUESTS


def should_abort(check: Check, snapshot: StatsSnapshot) -> CheckResult | None:
    """The failing result when --check-abort should stop the run on `check` now, else None."""
    needed = abort_min_requests(check)
    if needed is None:
        return None
    entry = _summary(check, snapshot)
    if entry is None or entry.requests < needed:
        return None
    result = evaluate_one(check, snapshot)
    return None if result.ok else result


class CheckWatch:
    """The checks of a run, and which one (if any) stopped it early.

    Invariants: `tick` records at most one abort per run (`run` is any key
    that changes when a new test starts, e.g. its start time); once recorded,
    `results` reports that check as failed with the value that failed it,
    whatever the figures do afterwards (k6's abortOnFail marks the threshold
    failed the same way), until a different `run` is seen.
    """

    def __init__(self, checks: Sequence[Check], abort: bool = False) -> None:
        self.checks = tuple(checks)
        self.abort = abort
        self._aborted: tuple[str, int, CheckResult] | None = None

    def __bool__(self) -> bool:
        return bool(self.checks)

    def aborted(self, run: str) -> CheckResult | None:
        """The check that stopped `run`, if one did."""
        if self._aborted is not None and self._aborted[0] == run:
            return self._aborted[2]
        return None

    def tick(self, snapshot: StatsSnapshot, run: str) -> CheckResult | None:
        """Once a second while `run` goes on: the check that should stop it now (once)."""
        if not self.abort or self.aborted(run) is not None:
            return None
        for index, check in enumerate(self.checks):
            failed = should_abort(check, snapshot)
            if failed is not None:
                failed = CheckResult(failed.expr, False, failed.value, failed.unit, aborted=True)
                self._aborted = (run, index, failed)
                return failed
        return None

    def results(self, snapshot: StatsSnapshot, run: str) -> list[CheckResult]:
        found = evaluate(self.checks, snapshot)
        if self._aborted is not None and self._aborted[0] == run:
            found[self._aborted[1]] = self._aborted[2]
        return found
