"""Read each load generator's own result output into one shape (`Measured`).

What it does: horde's `--json` file, Locust's `--json-file`, k6's
`--summary-export` and wrk's text output each become requests, failures, the
tool's own measured duration and its reported p50/p99 latency. Nothing here is
recomputed from another source: every number is what that tool reported
(percentiles of Locust are computed from its own response-time histogram,
whose keys are milliseconds rounded to integers below 100 ms).

Invariant: `rps` is always requests / duration_s, both as the tool counted them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Measured", "ParseError", "parse_horde", "parse_k6", "parse_locust", "parse_wrk"]


class ParseError(ValueError):
    """A tool's output did not contain the numbers we need."""


@dataclass(frozen=True)
class Measured:
    requests: int
    failures: int
    duration_s: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ParseError(f"cannot read {path}: {exc}") from exc


def parse_horde(path: Path) -> Measured:
    """horde's `--json` result (docs/results.md)."""
    doc = _load(path)
    total = doc["total"]
    pct = total["percentiles_ms"]
    return Measured(int(total["requests"]), int(total["failures"]), float(doc["duration_s"]),
                    float(pct["50"]), float(pct["99"]))


def _histogram_percentile(counts: dict[float, int], q: float) -> float:
    """Smallest value v with at least ceil(q * n) samples <= v."""
    n = sum(counts.values())
    if n == 0:
        return math.nan
    rank = max(1, math.ceil(q * n))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)


def parse_locust(path: Path) -> Measured:
    """Locust's `--json-file` output: a list of per-endpoint stats entries."""
    entries = _load(path)
    if not isinstance(entries, list) or not entries:
        raise ParseError(f"{path}: no request statistics (did Locust send anything?)")
    requests = sum(int(e["num_requests"]) for e in entries)
    failures = sum(int(e["num_failures"]) for e in entries)
    start = min(float(e["start_time"]) for e in entries)
    last = max(float(e["last_request_timestamp"]) for e in entries)
    merged: dict[float, int] = {}
    for entry in entries:
        for key, count in entry["response_times"].items():
            merged[float(key)] = merged.get(float(key), 0) + int(count)
    return Measured(requests, failures, last - start,
                    _histogram_percentile(merged, 0.50), _histogram_percentile(merged, 0.99))


def parse_k6(path: Path) -> Measured:
    """k6's `--summary-export` JSON (needs p(99) in summaryTrendStats)."""
    metrics = _load(path)["metrics"]
    reqs = metrics["http_reqs"]
    count, rate = int(reqs["count"]), float(reqs["rate"])
    failed = metrics.get("http_req_failed", {})
    # A Rate metric exports "passes" = samples that were true, i.e. failed requests.
    failures = int(failed.get("passes", 0))
    duration = metrics["http_req_duration"]
    return Measured(count, failures, count / rate if rate else 0.0,
                    float(duration["med"]), float(duration["p(99)"]))


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ParseError(f"wrk latency {text!r} not understood")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(stdout: str) -> Measured:
    """wrk's text output, run with --latency."""
    total = re.search(r"^\s*(\d+) requests in ", stdout, re.M)
    rate = re.search(r"^Requests/sec:\s*([\d.]+)", stdout, re.M)
    p50 = re.search(r"^\s*50%\s+(\S+)", stdout, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", stdout, re.M)
    if not (total and rate and p50 and p99):
        raise ParseError("wrk output lacks the request count, rate or latency distribution")
    requests, rps = int(total.group(1)), float(rate.group(1))
    failures = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", stdout)
    if non2xx:
        failures += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     stdout)
    if sock:
        failures += sum(int(x) for x in sock.groups())
    # Requests/sec is requests / wrk's own runtime; invert it for the duration.
    return Measured(requests, failures, requests / rps if rps else 0.0,
                    _wrk_ms(p50.group(1)), _wrk_ms(p99.group(1)))
