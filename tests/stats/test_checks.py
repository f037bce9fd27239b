"""Thresholds: parsing `--check` expressions and judging them on a snapshot (no I/O)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from horde.errors import UsageError
from horde.stats.checks import (
    Check,
    CheckWatch,
    abort_min_requests,
    evaluate,
    parse_check,
    should_abort,
)
from horde.stats.snapshot import PERCENTILE_KEYS, EndpointSummary, StatsSnapshot


def _pct(base: float) -> dict[str, float]:
    # Rising percentiles: p50 = base, each further key a little more.
    return {k: base + i for i, k in enumerate(PERCENTILE_KEYS)}


def _entry(method: str, name: str, requests: int = 1000, failures: int = 0,
           p50: float = 50.0, rps: float = 100.0) -> EndpointSummary:
    return EndpointSummary(method, name, requests=requests, failures=failures, rps=rps,
                           min_ms=1.0, max_ms=500.0, mean_ms=60.0, percentiles_ms=_pct(p50))


def _snapshot(*endpoints: EndpointSummary, total: EndpointSummary | None = None) -> StatsSnapshot:
    if total is None and len(endpoints) == 1:
        total = replace(endpoints[0], method="", name="Aggregated")
    elif total is None:
        total = _entry("", "Aggregated", sum(e.requests for e in endpoints),
                       sum(e.failures for e in endpoints))
    return StatsSnapshot(endpoints=list(endpoints), total=total)


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, metric, op, threshold, endpoint", [
    ("p95<300ms", "p95", "<", 300.0, None),
    ("  p95 < 300 ms ", "p95", "<", 300.0, None),
    ("p99.9 <= 1.5s", "p99.9", "<=", 1500.0, None),
    ("p(95)<200ms", "p95", "<", 200.0, None),             # k6's spelling
    ("P50 < 250us", "p50", "<", 0.25, None),
    ("med < 2ms", "p50", "<", 2.0, None),
    ("avg<2ms", "avg", "<", 2.0, None),
    ("max < 1s", "max", "<", 1000.0, None),
    ("min > 0.5ms", "min", ">", 0.5, None),
    ("fail_ratio < 1%", "fail_ratio", "<", 1.0, None),
    ("fail_ratio<=0.5%", "fail_ratio", "<=", 0.5, None),
    ("rps > 100", "rps", ">", 100.0, None),
    ("rps >= 99.5", "rps", ">=", 99.5, None),
    ("GET /cart: p95 < 300ms", "p95", "<", 300.0, ("GET", "/cart")),
    ("post /login page: fail_ratio < 1%", "fail_ratio", "<", 1.0, ("POST", "/login page")),
    ("GET https://other:8443/x: max<2s", "max", "<", 2000.0, ("GET", "https://other:8443/x")),
])
def test_parse_accepts(text: str, metric: str, op: str, threshold: float,
                       endpoint: tuple[str, str] | None) -> None:
    check = parse_check(text)
    assert (check.metric, check.op, check.endpoint) == (metric, op, endpoint)
    assert check.threshold == pytest.approx(threshold)
    assert check.expr == text.strip()


@pytest.mark.parametrize("text, words", [
    ("", "is empty"),
    ("p95 < 300", "needs a unit of us, ms or s (e.g. p95 < 300ms)"),
    ("p95 < 3 sec", "unknown time unit 'sec'"),
    ("p97 < 1s", "no percentile p97"),
    ("latency < 1s", "unknown metric 'latency'"),
    ("p95 == 1s", "use <, <=, > or >=, not '=='"),
    ("p95 = 1s", "not '='"),
    ("p95 != 1s", "not '!='"),
    ("fail_ratio < 0.01", "as a percentage, e.g. fail_ratio < 1%"),
    ("rps > 5ms", "bare number"),
    ("p95 <", "expected METRIC OP NUMBER[UNIT]"),
    ("p95 < -1ms", "cannot be negative"),
    ("/cart: p95 < 1s", "by method and name"),
    ("GET: p95 < 1s", "by method and name"),
    ("p95 < 1s and p99 < 2s", "expected METRIC OP NUMBER"),
])
def test_parse_refuses_in_one_sentence(text: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_check(text)
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    if text:
        assert repr(text.strip()) in message  # names the expression


# --- judging ------------------------------------------------------------------------------


def test_evaluate_total_and_endpoint_values_and_units() -> None:
    snap = _snapshot(_entry("GET", "/cart", requests=200, failures=2, p50=80.0, rps=20.0),
                     _entry("GET", "/", requests=800, p50=10.0, rps=80.0))
    checks = [parse_check(t) for t in (
        "p50 < 100ms", "GET /cart: p50 < 50ms", "GET /cart: fail_ratio < 1%",
        "GET /: fail_ratio < 1%", "rps > 50", "GET /cart: rps > 50", "avg < 1s", "max <= 500ms",
        "min > 1ms",
    )]
    got = [(r.ok, r.value, r.unit) for r in evaluate(checks, snap)]
    assert got == [
        (True, 50.0, "ms"),          # total p50 (the _entry default)
        (False, 80.0, "ms"),
        (False, 1.0, "%"),           # 2 of 200 is 1%, not below 1%
        (True, 0.0, "%"),
        (True, 100.0, "req/s"),
        (False, 20.0, "req/s"),
        (True, 60.0, "ms"),
        (True, 500.0, "ms"),         # <= includes the threshold
        (False, 1.0, "ms"),          # > excludes it
    ]


def test_unknown_endpoint_fails_without_a_value_but_rps_is_zero() -> None:
    snap = _snapshot(_entry("GET", "/cart"))
    results = evaluate([parse_check("GET /typo: p95 < 10s"), parse_check("POST /cart: max < 1s"),
                        parse_check("GET /typo: rps < 5"), parse_check("GET /typo: rps > 5")],
                       snap)
    assert [(r.ok, r.value) for r in results] == [(False, None), (False, None), (True, 0.0),
                                                  (False, 0.0)]
    assert results[0].value_text() == "no requests"


def test_no_requests_at_all_fails_latency_and_fail_ratio() -> None:
    empty = StatsSnapshot()
    results = evaluate([parse_check("p95 < 1s"), parse_check("fail_ratio < 50%")], empty)
    assert [r.ok for r in results] == [False, False]


def test_value_text_per_unit() -> None:
    snap = _snapshot(_entry("GET", "/", requests=3, failures=1, p50=0.25, rps=12.345))
    texts = [r.value_text() for r in evaluate(
        [parse_check("p50<1s"), parse_check("fail_ratio<1%"), parse_check("rps>1"),
         parse_check("max<1s")], snap)]
    assert texts == ["0.250 ms", "33.33%", "12.3 req/s", "500 ms"]


# --- --check-abort ------------------------------------------------------------------------


@pytest.mark.parametrize("text, needed", [
    ("rps > 100", None),           # the run's rate climbs during a ramp: judged at the end only
    ("max < 1s", 1),               # a maximum only grows: final at once
    ("max > 1s", 100),
    ("p50 < 1s", 100),
    ("p95 < 1s", 100),
    ("p99 < 1s", 500),
    ("p99.9 < 1s", 5000),
    ("p99.99 < 1s", 50000),
    ("avg < 1s", 100),
    ("fail_ratio < 1%", 100),
])
def test_abort_minimum_sample(text: str, needed: int | None) -> None:
    assert abort_min_requests(parse_check(text)) == needed


def test_should_abort_waits_for_the_sample_of_its_endpoint() -> None:
    check = parse_check("GET /a: p99 < 1ms")
    few = _snapshot(_entry("GET", "/a", requests=499), _entry("GET", "/b", requests=10_000))
    enough = _snapshot(_entry("GET", "/a", requests=500))
    assert should_abort(check, few) is None
    failed = should_abort(check, enough)
    assert failed is not None and not failed.ok and failed.value == pytest.approx(57.0)
    assert should_abort(parse_check("GET /a: p99 < 1s"), enough) is None  # passing


def test_watch_records_one_abort_per_run_and_keeps_it_failed() -> None:
    watch = CheckWatch([parse_check("p50 < 100ms"), parse_check("p95 < 60ms")], abort=True)
    slow = _snapshot(_entry("GET", "/", p50=55.0))   # p95 = 60: not below 60
    fast = _snapshot(_entry("GET", "/", p50=1.0))
    first = watch.tick(slow, "run-1")
    assert first is not None and first.expr == "p95 < 60ms" and first.aborted
    assert watch.tick(slow, "run-1") is None        # said once
    # The figures improve afterwards: the check that stopped the run stays failed.
    results = watch.results(fast, "run-1")
    assert [(r.ok, r.aborted) for r in results] == [(True, False), (False, True)]
    assert results[1].value == pytest.approx(60.0)
    # A new test (another start) starts clean.
    assert [r.ok for r in watch.results(fast, "run-2")] == [True, True]
    assert watch.aborted("run-2") is None


def test_watch_without_abort_never_stops() -> None:
    watch = CheckWatch([parse_check("p50 < 1ms")])
    assert watch.tick(_snapshot(_entry("GET", "/")), "run") is None
    assert bool(watch) and not CheckWatch([])


def test_check_unit() -> None:
    assert [parse_check(t).unit for t in ("p95<1s", "fail_ratio<1%", "rps>1")] == \
        ["ms", "%", "req/s"]
    assert isinstance(parse_check("p95<1s"), Check)
