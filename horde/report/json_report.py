"""The JSON result file: one document per run, schema documented in docs/results.md.

`result_dict` builds plain Python data (str, int, float, list, dict) from a
snapshot and run facts; `write_json` writes it through
`horde.report.output.write_output` (atomically for a file, so a reader never
sees half a file; in place for a device or FIFO). Times are milliseconds (`_ms`),
durations seconds (`_s`), sizes bytes; floats are rounded to 3 decimals.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

from horde.report.model import RunInfo
from horde.report.output import write_output
from horde.stats.snapshot import ArrivalSummary, EndpointSummary, StatsSnapshot

__all__ = ["result_dict", "write_json", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1


def _r(x: float) -> float:
    return round(float(x), 3)


def _pct(p: dict[str, float]) -> dict[str, float]:
    return {k: _r(v) for k, v in p.items()}


def _total(t: EndpointSummary) -> dict[str, Any]:
    return {
        "requests": t.requests,
        "failures": t.failures,
        "rps": _r(t.rps),
        "fail_per_s": _r(t.fail_per_s),
        "min_ms": _r(t.min_ms),
        "max_ms": _r(t.max_ms),
        "mean_ms": _r(t.mean_ms),
        "avg_size_bytes": _r(t.avg_size_bytes),
        "ttfb_mean_ms": _r(t.ttfb_mean_ms),
        "percentiles_ms": _pct(t.percentiles_ms),
        # The closed model's latencies are service times already; the open model's
        # percentiles_ms count from the intended start (docs/load-models.md).
        "service_percentiles_ms": _pct(t.service_percentiles_ms
                                       if t.service_percentiles_ms is not None
                                       else t.percentiles_ms),
        "dropped_iterations": t.dropped_iterations,
    }


def _arrival(a: ArrivalSummary | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "target_rate": _r(a.target_rate),
        "achieved_rate": _r(a.achieved_rate),
        "iterations": a.iterations,
        "dropped_iterations": a.dropped_iterations,
        "max_lateness_s": _r(a.max_lateness_s),
    }


def _endpoint(e: EndpointSummary) -> dict[str, Any]:
    return {"method": e.method, "name": e.name, **_total(e)}


def result_dict(snapshot: StatsSnapshot, info: RunInfo) -> dict[str, Any]:
    """The whole result as JSON-ready data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "horde_version": info.horde_version,
        "started_at": info.started_at,
        "duration_s": _r(info.duration_s or snapshot.duration_s),
        "users": info.users,
        "host": info.host,
        "checks": [
            {"expr": c.expr, "ok": c.ok, "value": c.value, "unit": c.unit, "aborted": c.aborted}
            for c in info.checks
        ],
        "arrival": _arrival(snapshot.arrival),
        "total": _total(snapshot.total),
        "endpoints": [_endpoint(e) for e in snapshot.endpoints],
        "errors": [
            {"method": e.method, "name": e.name, "error": e.error, "occurrences": e.occurrences}
            for e in snapshot.errors
        ],
        "exceptions": [
            {
                "where": x.where,
                "error": x.error,
                "traceback": x.traceback,
                "occurrences": x.occurrences,
            }
            for x in snapshot.exceptions
        ],  # fmt: skip
        "history": [
            {
                "t_s": h.t_s,
                "users": h.users,
                "rps": _r(h.rps),
                "fail_per_s": _r(h.fail_per_s),
                "p50_ms": _r(h.p50_ms),
                "p95_ms": _r(h.p95_ms),
                "p99_ms": _r(h.p99_ms),
                "total_requests": h.total_requests,
            }
            for h in snapshot.history
        ],  # fmt: skip
        "generator": asdict(info.generator),
        "workers": [asdict(w) for w in info.workers],
        "unplaced_users": info.unplaced_users,
    }


def write_json(path: str | os.PathLike[str], snapshot: StatsSnapshot, info: RunInfo) -> None:
    """Write the result to `path` ("-" is not special here).

    Raises UsageError ("PATH: reason") when it cannot be written.
    """
    text = json.dumps(result_dict(snapshot, info), indent=2, ensure_ascii=False) + "\n"
    write_output(path, text)
