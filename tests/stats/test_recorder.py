"""RequestStats: recording, deltas, errors and exception grouping."""

from __future__ import annotations

import numpy as np

from horde.stats import RecordFn, RequestStats
from horde.stats.histogram import bucket_index


def test_record_matches_recordfn_type() -> None:
    rs = RequestStats()
    fn: RecordFn = rs.record
    fn("GET", "/", 10, 1, None, 5)
    assert rs.pending_requests == 1


def test_delta_carries_exact_figures_then_forgets() -> None:
    rs = RequestStats()
    lat = [100, 250, 250, 90_000, 7]
    for i, v in enumerate(lat):
        rs.record("GET", "/a", v, 10 + i, None if i else "HTTP 500", v // 2)
    rs.record("POST", "/b", 3, 0, "ConnectError: refused", 0)
    d = rs.take_delta()
    assert [(e.method, e.name) for e in d.endpoints] == [("GET", "/a"), ("POST", "/b")]
    a, b = d.endpoints
    assert (a.requests, a.failures, a.bytes) == (5, 1, 60)
    assert (a.min_us, a.max_us, a.sum_us) == (7, 90_000, sum(lat))
    want = np.bincount(bucket_index(lat))
    assert a.hist_idx.tolist() == np.flatnonzero(want).tolist()
    assert a.hist_cnt.tolist() == want[want > 0].tolist()
    assert a.hist_idx.dtype == np.int64 and a.hist_cnt.dtype == np.int64
    assert a.ttfb_sum_us == sum(v // 2 for v in lat) and int(a.ttfb_cnt.sum()) == 5
    # ttfb 0 means "no byte came" and is left out of the TTFB figures
    assert b.ttfb_sum_us == 0 and b.ttfb_cnt.size == 0 and b.failures == 1
    assert [(e.method, e.name, e.error, e.count) for e in d.errors] == [
        ("GET", "/a", "HTTP 500", 1),
        ("POST", "/b", "ConnectError: refused", 1),
    ]
    assert rs.take_delta().empty
    assert rs.pending_requests == 0


def test_errors_grouped_per_endpoint_and_string() -> None:
    rs = RequestStats()
    for _ in range(3):
        rs.record("GET", "/a", 1, 0, "HTTP 502", 0)
    rs.record("GET", "/b", 1, 0, "HTTP 502", 0)
    rs.record("GET", "/a", 1, 0, "HTTP 404", 0)
    rs.record("GET", "/a", 1, 0, "x" * 5000, 0)
    got = {(e.name, e.error[:10]): e.count for e in rs.take_delta().errors}
    assert got == {("/a", "HTTP 502"): 3, ("/b", "HTTP 502"): 1, ("/a", "HTTP 404"): 1,
                   ("/a", "x" * 10): 1}  # fmt: skip


def _raise(msg: str) -> None:
    raise KeyError(msg)


def test_exceptions_grouped_with_first_traceback() -> None:
    rs = RequestStats()
    for msg in ("a", "a", "b"):
        try:
            _raise(msg)
        except KeyError as exc:
            rs.record_exception("MyUser.browse", exc)
    rs.record_exception("MyUser.browse", RuntimeError())
    ex = {(e.where, e.error): e for e in rs.take_delta().exceptions}
    assert set(ex) == {
        ("MyUser.browse", "KeyError: 'a'"),
        ("MyUser.browse", "KeyError: 'b'"),
        ("MyUser.browse", "RuntimeError"),
    }
    first = ex[("MyUser.browse", "KeyError: 'a'")]
    assert first.count == 2
    assert "Traceback" in first.traceback and "_raise" in first.traceback
    assert rs.take_delta().exceptions == ()
