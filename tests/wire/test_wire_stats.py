"""StatsDelta <-> StatsReport: exact round trips through real frames, and merges."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.errors import ProtocolError
from horde.stats import N_BUCKETS, EndpointDelta, RequestStats, StatsAggregate, StatsDelta
from horde.stats.columns import COUNTER_FIELDS
from horde.wire import (
    MAGIC,
    PROTOCOL_VERSION,
    EndpointCounters,
    StatsReport,
    decode_from_worker,
    delta_from_wire,
    delta_to_wire,
    encode,
    merge_report,
)
from horde.wire.messages import N_COUNTERS


def _through_the_wire(delta: StatsDelta) -> StatsDelta:
    report = delta_to_wire(delta, test_id="t1", seq=4)
    back = decode_from_worker(encode(report))
    assert isinstance(back, StatsReport) and back.seq == 4 and back.test_id == "t1"
    return delta_from_wire(back)


def _same(a: StatsDelta, b: StatsDelta) -> None:
    assert [e.as_tuple() for e in a.endpoints] == [e.as_tuple() for e in b.endpoints]
    assert a.errors == b.errors
    assert a.exceptions == b.exceptions


samples = st.lists(
    st.tuples(
        st.sampled_from(["GET", "POST"]),
        st.sampled_from(["/", "/a", "/b?", "/ünï"]),
        st.integers(0, 5_000_000),
        st.integers(0, 10_000),
        st.sampled_from([None, None, "HTTP 500", "ConnectError: refused"]),
        st.integers(0, 100_000),
    ),
    max_size=60,
)


@settings(max_examples=60)
@given(samples)
def test_recorded_delta_round_trips_exactly(
    recs: list[tuple[str, str, int, int, str | None, int]],
) -> None:
    stats = RequestStats()
    for r in recs:
        stats.record(*r)
    if recs:
        try:
            raise KeyError("x")
        except KeyError as exc:
            stats.record_exception("U.task", exc)
    delta = stats.take_delta()
    _same(_through_the_wire(delta), delta)


def test_master_totals_equal_sum_of_workers() -> None:
    """Three workers' deltas merged through the wire == one process recording everything."""
    rng = np.random.default_rng(7)
    local = StatsAggregate()
    merged = StatsAggregate()
    everything = RequestStats()
    for w in range(3):
        stats = RequestStats()
        for i in range(500):
            lat = int(rng.integers(50, 2_000_000))
            name = f"/e{i % 7}"
            err = "HTTP 503" if i % 11 == 0 else None
            stats.record("GET", name, lat, 10 + w, err, lat // 2)
            everything.record("GET", name, lat, 10 + w, err, lat // 2)
        merged.apply(_through_the_wire(stats.take_delta()), 1)
    local.apply(everything.take_delta(), 1)
    a, b = local.snapshot(2.0), merged.snapshot(2.0)
    assert a.total.requests == b.total.requests == 1500
    assert a.total.failures == b.total.failures
    assert a.total.percentiles_ms == b.total.percentiles_ms
    assert [(e.name, e.requests, e.percentiles_ms) for e in a.endpoints] == [
        (e.name, e.requests, e.percentiles_ms) for e in b.endpoints
    ]


def test_empty_delta() -> None:
    _same(_through_the_wire(StatsDelta()), StatsDelta())


def _report(idx: list[int], cnt: list[int]) -> StatsReport:
    return StatsReport(
        "t", 1,
        [EndpointCounters("GET", "/", abs(sum(cnt)), 0, 0, 1, 1, 1, 0, len(idx), 0)],
        hist_idx=np.array(idx, dtype="<u2").tobytes(),
        hist_cnt=np.array(cnt, dtype="<i8").tobytes(),
    )  # fmt: skip


def test_out_of_layout_bucket_is_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="bucket index"):
        delta_from_wire(_report([N_BUCKETS], [1]))
    with pytest.raises(ProtocolError, match="negative"):
        delta_from_wire(_report([3], [-1]))


def test_to_wire_refuses_impossible_index() -> None:
    ep = EndpointDelta(
        "GET",
        "/",
        1,
        0,
        0,
        1,
        1,
        1,
        np.array([N_BUCKETS + 5], dtype=np.int64),
        np.array([1], dtype=np.int64),
    )
    with pytest.raises(ValueError):
        delta_to_wire(StatsDelta(endpoints=(ep,)), test_id="t", seq=0)


# --- merge_report: the master's fast path ----------------------------------------


def _frames_of_workers(seed: int, workers: int, seconds: int) -> list[list[bytes]]:
    """Real frames: per second, one encoded report per worker (some endpoints shared)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(seconds):
        frames = []
        for w in range(workers):
            stats = RequestStats()
            for _ in range(int(rng.integers(0, 200))):
                lat = int(rng.lognormal(8, 1.6))
                err = "HTTP 503" if rng.random() < 0.05 else None
                name = f"/e{int(rng.integers(0, 15))}"
                stats.record("GET", name, lat, w, err, lat // 2 if rng.random() < 0.9 else 0)
            if rng.random() < 0.3:
                stats.record_exception("U.t", ValueError(f"v{w % 2}"))
            frames.append(encode(delta_to_wire(stats.take_delta(), test_id="t", seq=w)))
        out.append(frames)
    return out


def test_merge_report_equals_apply_of_delta_from_wire() -> None:
    fast, slow = StatsAggregate(window_s=2), StatsAggregate(window_s=2)
    for t, frames in enumerate(_frames_of_workers(5, workers=6, seconds=7)):
        for frame in frames:
            msg = decode_from_worker(frame)
            assert isinstance(msg, StatsReport)
            merge_report(fast, msg, t)
            slow.apply(delta_from_wire(msg), t)
        assert fast.close_second(t, 6) == slow.close_second(t, 6)
        assert fast.snapshot(t + 0.5) == slow.snapshot(t + 0.5)


def test_merge_report_equals_one_process_recording_everything() -> None:
    rng = np.random.default_rng(9)
    everything = RequestStats()
    local, merged = StatsAggregate(), StatsAggregate()
    for w in range(4):
        stats = RequestStats()
        for i in range(700):
            lat = int(rng.integers(20, 3_000_000))
            rec = ("POST" if i % 5 else "GET", f"/e{i % 9}", lat, w, None if i % 13 else "x", lat)
            stats.record(*rec)
            everything.record(*rec)
        msg = decode_from_worker(encode(delta_to_wire(stats.take_delta(), test_id="t", seq=0)))
        assert isinstance(msg, StatsReport)
        merge_report(merged, msg, 1)
    local.apply(everything.take_delta(), 1)
    assert local.close_second(1, 4) == merged.close_second(1, 4)
    a, b = local.snapshot(2.0), merged.snapshot(2.0)
    assert a.total == b.total and a.endpoints == b.endpoints and a.errors == b.errors
    assert a.total.requests == 2800


def _columns_report(counters: list[list[int]], idx: list[int], cnt: list[int]) -> StatsReport:
    return StatsReport(
        "t", 2,
        methods=["GET"] * len(counters),
        names=[f"/{i}" for i in range(len(counters))],
        counters=np.array(counters, dtype="<i8").reshape(-1, 9).tobytes(),
        hist_idx=np.array(idx, dtype="<u2").tobytes(),
        hist_cnt=np.array(cnt, dtype="<i8").tobytes(),
    )  # fmt: skip


def _bad_reports() -> list[StatsReport]:
    good = StatsReport(
        "t", 1,
        [EndpointCounters("GET", "/", 3, 0, 0, 1, 1, 1, 0, 2, 0)],
        hist_idx=np.array([3, 4], dtype="<u2").tobytes(),
        hist_cnt=np.array([1, 2], dtype="<i8").tobytes(),
    )  # fmt: skip
    huge = EndpointCounters("GET", "/", 3, 0, 2**64 - 1, 1, 1, 1, 0, 2, 0)
    row = [3, 0, 0, 1, 1, 1, 0, 2, 0]
    return [
        _report([N_BUCKETS], [1]),
        _report([3], [-1]),
        _report([3], [1 << 60]),
        msgspec.structs.replace(good, endpoints=[huge]),
        _columns_report([row], [3, N_BUCKETS], [1, 1]),
        _columns_report([[3, 0, -5, 1, 1, 1, 0, 2, 0]], [3, 4], [1, 1]),  # negative bytes
        _columns_report([[3, 4, 0, 1, 1, 1, 0, 2, 0]], [3, 4], [1, 1]),  # failures > requests
        _columns_report([row, row], [3, 4], [1, 1]),  # claims 4 pairs, carries 2
        _columns_report([[3, 0, 0, 1, 1, 1, 0, 5000, 0]], [3, 4], [1, 1]),
    ]


@pytest.mark.parametrize("report", _bad_reports(), ids=range(9))
def test_merge_report_rejects_bad_reports_without_change(report: StatsReport) -> None:
    agg = StatsAggregate()
    merge_report(agg, _report([7], [2]), 0)
    before = agg.snapshot(1.0)
    with pytest.raises(ProtocolError):
        merge_report(agg, report, 0)
    assert agg.snapshot(1.0) == before
    with pytest.raises(ProtocolError):  # a decoded frame says the same
        delta_from_wire(decode_from_worker(encode(report)))  # type: ignore[arg-type]


def test_counter_columns_are_endpoint_counters_fields() -> None:
    assert EndpointCounters.__struct_fields__[2:] == COUNTER_FIELDS
    assert N_COUNTERS == len(COUNTER_FIELDS)


def test_row_form_and_column_form_merge_alike() -> None:
    stats = RequestStats()
    for i in range(300):
        stats.record("GET", f"/r{i % 4}", 100 + 37 * i, 5, None if i % 9 else "HTTP 500", 50 + i)
    columns = delta_to_wire(stats.take_delta(), test_id="t", seq=1)
    assert not columns.endpoints and len(columns.names) == 4
    c = np.frombuffer(columns.counters, dtype="<i8").reshape(-1, N_COUNTERS)
    rows = msgspec.structs.replace(
        columns,
        methods=[],
        names=[],
        counters=b"",
        endpoints=[
            EndpointCounters(m, n, *map(int, line))
            for m, n, line in zip(columns.methods, columns.names, c, strict=True)
        ],
    )
    a, b = StatsAggregate(), StatsAggregate()
    assert merge_report(a, decode_from_worker(encode(columns)), 0) == 300  # type: ignore[arg-type]
    assert merge_report(b, decode_from_worker(encode(rows)), 0) == 300  # type: ignore[arg-type]
    assert a.snapshot(1.0) == b.snapshot(1.0)
    _same(delta_from_wire(columns), delta_from_wire(rows))


@pytest.mark.parametrize(
    "fields",
    [
        {"methods": ["GET"], "names": ["/"], "counters": b"\0" * 71},  # short counters
        {"methods": [], "names": ["/"], "counters": b"\0" * 72},  # methods missing
        {
            "methods": ["GET"],
            "names": ["/"],
            "counters": b"\0" * 72,  # both forms
            "endpoints": [EndpointCounters("GET", "/", 0, 0, 0, 0, 0, 0, 0, 0, 0)],
        },
        {"hist_idx": b"\0\0", "hist_cnt": b"\0" * 7},  # not whole items
    ],
)
def test_malformed_column_form_is_refused_on_decode(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StatsReport("t", 0, **fields)  # type: ignore[arg-type]
    frame = (
        MAGIC
        + bytes([PROTOCOL_VERSION])
        + msgspec.msgpack.encode({"t": "stats", "test_id": "t", "seq": 0, **fields})
    )
    with pytest.raises(ProtocolError):
        decode_from_worker(frame)


_int64s = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 4).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.lists(st.one_of(st.integers(0, 6), _int64s), min_size=9, max_size=9),
                min_size=n,
                max_size=n,
            ),
            st.lists(st.one_of(st.integers(0, N_BUCKETS + 2), st.integers(0, 65535)), max_size=12),
            st.lists(st.one_of(st.integers(-2, 9), _int64s), max_size=12),
        )
    ),
    st.integers(0, 30),
    st.booleans(),
)
def test_any_column_report_merges_or_is_protocol_error(
    case: tuple[int, list[list[int]], list[int], list[int]], t_s: int, plausible: bool
) -> None:
    n, counters, idx, cnt = case
    k = min(len(idx), len(cnt))
    if plausible and n:  # mostly valid counters, so that merges succeed too
        counters = [[abs(v) % 1000 for v in row] for row in counters]
        for i, row in enumerate(counters):
            row[1] = min(row[1], row[0])
            row[7], row[8] = (k if i == 0 else 0), 0
        idx, cnt = [i % N_BUCKETS for i in idx], [abs(c) % 100 for c in cnt]
    report = StatsReport(
        "t", 0, methods=["GET"] * n, names=[f"/{i}" for i in range(n)],
        counters=np.array(counters, dtype="<i8").reshape(n, 9).tobytes(),
        hist_idx=np.array(idx[:k], dtype="<u2").tobytes(),
        hist_cnt=np.array(cnt[:k], dtype="<i8").tobytes(),
    )  # fmt: skip
    agg = StatsAggregate(window_s=2)
    merge_report(agg, _report([7], [2]), 0)
    before = agg.snapshot(1.0)
    try:
        requests = merge_report(agg, report, t_s)
    except ProtocolError:
        assert agg.snapshot(1.0) == before
        return
    after = agg.snapshot(1.0)
    assert requests == sum(row[0] for row in counters)
    assert after.total.requests == before.total.requests + requests
    agg.close_second(t_s, 1)
