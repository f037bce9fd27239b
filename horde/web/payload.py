"""What the browser receives: the live state and the history, as compact JSON-ready dicts.

Pure functions of a `Controller`'s readings (a snapshot, the run info, the
counts, the health, the workers); no I/O, no clock.

Invariants:

* tables are columnar -- one list per field, all of the same length -- so that
  500 endpoints cost 500 numbers per field, not 500 copies of every key;
* figures are rounded to what a person can read (3 decimals for
  milliseconds and rates), which also keeps the payload small;
* `history_tail` carries the last `TAIL_ROWS` history rows with
  `history_len` and `history_t0`, so a client that missed nothing appends
  the tail and one that did (or saw a reset) refetches `/api/history`;
* history rows carry the plan's target beside what ran (`plan_columns`):
  `target_users` (closed models) or `target_rate` and `iterations` (the open
  model), from the run's `PlanTrace`; null where the plan said nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from horde.report.html_report import history_columns
from horde.report.model import RunInfo, WorkerSummary, with_checks
from horde.runtime.control import Controller
from horde.runtime.health import HealthSample
from horde.runtime.plantrace import LoadModel, PlanTrace, plan_columns
from horde.stats import EndpointSummary, StatsSnapshot
from horde.stats.checks import CheckWatch

__all__ = [
    "TAIL_ROWS",
    "MAX_ERROR_ROWS",
    "state_payload",
    "history_payload",
    "endpoint_columns",
    "worker_rows",
    "history_columns",
    "plan_columns",
]

TAIL_ROWS = 5
MAX_ERROR_ROWS = 1000
"""Distinct failure rows pushed live; the CSV download has them all."""

Json = dict[str, Any]


def _r(value: float, digits: int = 3) -> float | None:
    # NaN/inf are not JSON; a figure that is not a number is shown as empty.
    if not math.isfinite(value):
        return None
    return round(value, digits)


def endpoint_columns(endpoints: Sequence[EndpointSummary]) -> Json:
    """The per-endpoint table, one list per column."""
    return {
        "method": [e.method for e in endpoints],
        "name": [e.name for e in endpoints],
        "requests": [e.requests for e in endpoints],
        "failures": [e.failures for e in endpoints],
        "p50": [_r(e.percentiles_ms["50"]) for e in endpoints],
        "p95": [_r(e.percentiles_ms["95"]) for e in endpoints],
        "p99": [_r(e.percentiles_ms["99"]) for e in endpoints],
        "max": [_r(e.max_ms) for e in endpoints],
        "mean": [_r(e.mean_ms) for e in endpoints],
        "avg_size": [_r(e.avg_size_bytes, 1) for e in endpoints],
        "rps": [_r(e.rps) for e in endpoints],
        "current_rps": [_r(e.current_rps) for e in endpoints],
    }


def _total(total: EndpointSummary) -> Json:
    fail_pct = 100.0 * total.failures / total.requests if total.requests else 0.0
    return {
        "requests": total.requests,
        "failures": total.failures,
        "fail_pct": _r(fail_pct, 2),
        "rps": _r(total.rps),
        "current_rps": _r(total.current_rps),
        "current_fail_per_s": _r(total.current_fail_per_s),
        "p50": _r(total.percentiles_ms["50"]),
        "p95": _r(total.percentiles_ms["95"]),
        "p99": _r(total.percentiles_ms["99"]),
        "max": _r(total.max_ms),
        "mean": _r(total.mean_ms),
        "avg_size": _r(total.avg_size_bytes, 1),
    }


def _history(rows: Sequence[Any], trace: PlanTrace | None, model: LoadModel | None) -> Json:
    out = history_columns(rows)
    out.update(plan_columns(out["t"], trace, model))
    return out


def history_payload(snapshot: StatsSnapshot, trace: PlanTrace | None = None,
                    model: LoadModel | None = None) -> Json:
    """The whole per-second history (for the charts on page load and in the report)."""
    return _history(snapshot.history, trace, model)


def _plain(obj: object) -> Any:
    """A dataclass or msgspec Struct as builtins, whatever fields it has."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    fields = getattr(obj, "__struct_fields__", None)
    if fields is not None:
        return {name: _plain(getattr(obj, name)) for name in fields}
    return obj


def worker_rows(workers: Sequence[WorkerSummary]) -> list[Json]:
    """Workers as plain dicts; `saturated` is the master's verdict (sustained, not one spike)."""
    out = []
    for worker in workers:
        row = _plain(worker)
        if isinstance(row, dict):
            out.append(row)
    return out


def _errors(snapshot: StatsSnapshot) -> Json:
    errors = snapshot.errors[:MAX_ERROR_ROWS]
    return {
        "method": [e.method for e in errors],
        "name": [e.name for e in errors],
        "error": [e.error for e in errors],
        "occurrences": [e.occurrences for e in errors],
        "truncated": len(snapshot.errors) - len(errors),
    }


def _exceptions(snapshot: StatsSnapshot) -> Json:
    excs = snapshot.exceptions[:MAX_ERROR_ROWS]
    return {
        "where": [e.where for e in excs],
        "error": [e.error for e in excs],
        "traceback": [e.traceback for e in excs],
        "occurrences": [e.occurrences for e in excs],
        "truncated": len(snapshot.exceptions) - len(excs),
    }


def _health(sample: HealthSample, info: RunInfo) -> Json:
    return {
        "cpu_percent": _r(sample.cpu_percent, 1),
        "loop_lag_p99_ms": _r(sample.loop_lag_p99_ms, 2),
        # Users that fit on no worker are part of "what to add", shown with the rest.
        "warnings": sample.warnings() + ([info.unplaced_advice] if info.unplaced_users else []),
        "unplaced_users": info.unplaced_users,
        "run_cpu_percent_max": _r(info.generator.cpu_percent_max, 1),
        "run_loop_lag_p99_ms": _r(info.generator.loop_lag_p99_ms, 2),
        "run_warnings": list(info.generator.warnings),
    }


def _arrival(snapshot: StatsSnapshot) -> Json | None:
    """The open model's figures (None in the closed model): the page's "iterations/s" box."""
    a = snapshot.arrival
    if a is None:
        return None
    return {"target_rate": _r(a.target_rate), "achieved_rate": _r(a.achieved_rate),
            "current_rate": _r(a.current_rate), "iterations": a.iterations,
            "dropped_iterations": a.dropped_iterations, "max_lateness_s": _r(a.max_lateness_s)}


def _build(
    state: str,
    target_users: int,
    spawn_rate: float,
    counts: Mapping[str, int],
    snapshot: StatsSnapshot,
    info: RunInfo,
    health: HealthSample,
    workers: Sequence[WorkerSummary],
    model: LoadModel | None = None,
    trace: PlanTrace | None = None,
) -> Json:
    history = snapshot.history
    return {
        "state": state,
        # The load model the next (or current) test follows; `shape`: the script's
        # LoadTestShape, which then drives every test; `target_unit`: users or rate.
        "model": model.name if model is not None else "users",
        "shape": model.shape if model is not None else None,
        "target_unit": model.unit if model is not None else "users",
        "users": sum(counts.values()),
        "counts": dict(counts),
        "target_users": target_users,
        "spawn_rate": _r(spawn_rate),
        "host": info.host,
        "started_at": info.started_at,
        "duration_s": _r(snapshot.duration_s, 1),
        "total": _total(snapshot.total),
        "arrival": _arrival(snapshot),
        "endpoints": endpoint_columns(snapshot.endpoints),
        "errors": _errors(snapshot),
        "exceptions": _exceptions(snapshot),
        "workers": worker_rows(workers),
        "health": _health(health, info),
        "checks": [
            {"expr": c.expr, "ok": c.ok, "value": c.value, "unit": c.unit, "aborted": c.aborted,
             "text": c.value_text()}
            for c in info.checks
        ],
        "history_tail": _history(history[-TAIL_ROWS:], trace, model),
        "history_len": len(history),
        "history_t0": history[0].t_s if history else None,
    }


def state_payload(controller: Controller, checks: CheckWatch | None = None) -> Json:
    """Everything the page shows, read from the controller once; `checks` are judged
    on the live figures (so far in the run)."""
    snapshot = controller.snapshot()
    return _build(
        controller.state,
        controller.target_users,
        controller.spawn_rate,
        controller.counts(),
        snapshot,
        with_checks(controller.info(), snapshot, checks),
        controller.current_health(),
        controller.workers(),
        controller.load_model,
        controller.trace,
    )
