"""JSON result: every documented field present, values from known records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from horde.errors import UsageError
from horde.report import RunInfo, result_dict, write_json
from horde.stats import PERCENTILE_KEYS, StatsSnapshot


def test_schema_and_values(snapshot: StatsSnapshot, info: RunInfo, tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    write_json(path, snapshot, info)
    doc = json.loads(path.read_text())
    assert doc == json.loads(json.dumps(result_dict(snapshot, info)))
    assert set(doc) >= {
        "horde_version", "started_at", "duration_s", "users", "host", "total", "endpoints",
        "errors", "exceptions", "history", "generator", "workers",
    }  # fmt: skip
    assert doc["started_at"] == "2025-01-31T12:00:00+00:00"
    assert doc["duration_s"] == 2.0 and doc["users"] == 10

    total = doc["total"]
    assert total["requests"] == 12 and total["failures"] == 1
    assert total["rps"] == 6.0
    assert total["min_ms"] == 1.0 and total["max_ms"] == 20.0
    assert total["mean_ms"] == pytest.approx((55 + 40) / 12, abs=1e-3)
    assert list(total["percentiles_ms"]) == list(PERCENTILE_KEYS)
    assert total["percentiles_ms"]["100"] == 20.0

    home, login = doc["endpoints"]
    assert (home["method"], home["name"], login["name"]) == ("GET", "/home", "/login")
    assert home["requests"] == 10 and home["failures"] == 1 and home["rps"] == 5.0
    assert home["avg_size_bytes"] == 100.0 and home["ttfb_mean_ms"] == 0.5
    # percentiles of 1..10 ms: rank ceil(q*10), each within 1% of the exact value
    for key, exact in {"50": 5, "66": 7, "90": 9, "99": 10, "100": 10}.items():
        assert home["percentiles_ms"][key] == pytest.approx(exact, rel=0.01)
    assert set(home) >= {"min_ms", "max_ms", "mean_ms", "ttfb_mean_ms", "percentiles_ms"}
    assert login["ttfb_mean_ms"] == 0.0  # no first byte recorded

    assert doc["errors"] == [
        {"method": "GET", "name": "/home", "error": "HTTP 500", "occurrences": 1}
    ]
    (exc,) = doc["exceptions"]
    assert exc["where"] == "WebUser.login" and exc["error"] == "ValueError: bad token"
    assert "_boom" in exc["traceback"] and exc["occurrences"] == 1
    assert [h["t_s"] for h in doc["history"]] == [0, 1]
    assert doc["history"][1]["users"] == 10 and doc["history"][1]["rps"] == 6.0
    assert set(doc["history"][0]) >= {"t_s", "users", "rps", "fail_per_s", "p50_ms", "p95_ms",
                                      "p99_ms"}  # fmt: skip
    assert doc["generator"] == {
        "cpu_percent_max": 97.0, "loop_lag_p99_ms": 35.5, "warnings": ["generator CPU above 90%"],
    }  # fmt: skip
    assert [w["id"] for w in doc["workers"]] == ["w1", "w2"]
    assert doc["workers"][1]["warnings"] == ["loop lag high"]


def test_empty_run_is_valid(tmp_path: Path) -> None:
    doc = result_dict(StatsSnapshot(), RunInfo())
    assert doc["total"]["requests"] == 0 and doc["endpoints"] == [] and doc["workers"] == []
    json.dumps(doc, allow_nan=False)


def test_unwritable_path_is_a_usage_error(
    snapshot: StatsSnapshot, info: RunInfo, tmp_path: Path
) -> None:
    with pytest.raises(UsageError):
        write_json(tmp_path / "missing-dir" / "r.json", snapshot, info)
