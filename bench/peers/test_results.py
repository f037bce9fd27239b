"""Tests of the benchmark's output readers and steady-window arithmetic (no network).

    .venv/bin/python -m pytest bench/peers -q
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from .harness import Run, Sample
from .results import ParseError, parse_horde, parse_k6, parse_locust, parse_wrk

WRK_OUT = """Running 5s test @ http://127.0.0.1:18081/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.27ms    2.08ms  16.72ms   88.20%
    Req/Sec    75.02k    37.68k  129.88k    56.00%
  Latency Distribution
     50%  429.00us
     75%  782.00us
     90%    3.88ms
     99%   10.38ms
  373570 requests in 5.02s, 57.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  74427.42
Transfer/sec:     11.36MB
"""


def test_wrk() -> None:
    m = parse_wrk(WRK_OUT)
    assert m.requests == 373570
    assert m.failures == 7
    assert m.p50_ms == pytest.approx(0.429)
    assert m.p99_ms == pytest.approx(10.38)
    assert m.rps == pytest.approx(74427.42)
    assert m.duration_s == pytest.approx(373570 / 74427.42)


def test_wrk_without_latency_is_an_error() -> None:
    with pytest.raises(ParseError):
        parse_wrk("373570 requests in 5.02s\nRequests/sec: 74427.42\n")


def test_horde(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    pct = {"50": 0.345, "99": 12.5}
    path.write_text(json.dumps({"duration_s": 5.0, "total": {
        "requests": 1000, "failures": 3, "percentiles_ms": pct}}))
    m = parse_horde(path)
    assert (m.requests, m.failures, m.rps, m.p50_ms, m.p99_ms) == (1000, 3, 200.0, 0.345, 12.5)


def test_locust_merges_entries_and_computes_percentiles(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    entries = [
        {"num_requests": 90, "num_failures": 1, "start_time": 100.0,
         "last_request_timestamp": 104.0, "response_times": {"1": 90}},
        {"num_requests": 10, "num_failures": 0, "start_time": 101.0,
         "last_request_timestamp": 105.0, "response_times": {"7": 9, "30": 1}},
    ]
    path.write_text(json.dumps(entries))
    m = parse_locust(path)
    assert (m.requests, m.failures) == (100, 1)
    assert m.duration_s == 5.0
    assert m.p50_ms == 1.0
    assert m.p99_ms == 7.0  # 99th of 100 samples: the 99th smallest


def test_locust_empty_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_text("[]")
    with pytest.raises(ParseError):
        parse_locust(path)


def test_k6(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"metrics": {
        "http_reqs": {"count": 47603, "rate": 9513.4},
        "http_req_failed": {"passes": 2, "fails": 47601, "value": 0.00004},
        "http_req_duration": {"med": 3.98, "p(99)": 23.7},
    }}))
    m = parse_k6(path)
    assert (m.requests, m.failures, m.p50_ms, m.p99_ms) == (47603, 2, 3.98, 23.7)
    assert m.rps == pytest.approx(9513.4)


def _run(samples: list[tuple[float, float, int]]) -> Run:
    return Run(0, 10.0, 1.0, "", "", False, tuple(Sample(*s) for s in samples))


def test_steady_window_cuts_start_up_and_stop() -> None:
    # Start-up until t=1 (nothing served), load from t=1 to t=6, then the stop.
    samples = [(0.0, 0.0, 0), (0.5, 0.4, 0), (1.0, 0.8, 0)]
    samples += [(1.0 + 0.5 * i, 0.8 + 0.25 * i, 1000 * i) for i in range(1, 11)]
    samples += [(6.5, 3.4, 10000), (7.0, 3.4, 10000)]
    steady = _run(samples).steady(settle_s=1.0)
    assert steady is not None
    # From the first sample >= 1 s after load began (t=2.0) to the one before the last rise.
    assert steady.seconds == pytest.approx(3.5)
    assert steady.served == 7000
    assert steady.rps == pytest.approx(2000.0)
    assert steady.cpu_share == pytest.approx(0.5)
    assert steady.per_cpu_s == pytest.approx(4000.0)


def test_steady_none_without_load() -> None:
    assert _run([(0.0, 0.0, 0), (1.0, 0.5, 0), (2.0, 1.0, 0)]).steady() is None
    assert _run([]).steady() is None
    assert math.isclose(_run([]).cpu_s, 1.0)


def test_missing_program_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from . import harness

    monkeypatch.setattr(harness.shutil, "which", lambda *a, **k: None)
    with pytest.raises(harness.SetupError, match="apt-get install nginx"):
        harness.require_program("nginx")
