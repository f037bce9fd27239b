"""A real Prometheus scrapes a headless `--processes 2` run every second.

Debian's `prometheus` binary, started by the test with its own configuration
and temporary storage on a free loopback port (never the system service),
scrapes `--metrics-port`; the test then asks its HTTP API. Each user makes
exactly `PER_USER` requests and then idles, so the totals settle early in the
run and the last scrapes see them: Prometheus's figures must equal the run's
JSON result and what the target served, not merely come close.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.test_grafana import dashboard_queries
from tests.integration.horde_process import finish, start_horde, write_script
from tests.support.target import Target

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(150),
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="needs Debian's prometheus binary (apt-get install prometheus)"),
]

USERS = 6
PER_USER = 25

SCRIPT = f"""
from horde import HttpUser, constant, task


class Counted(HttpUser):
    wait_time = constant(0.02)

    def on_start(self):
        self.done = 0

    @task
    def fetch(self):
        # Exactly {PER_USER} requests per user, then idle until the run ends.
        if self.done < {PER_USER}:
            self.done += 1
            self.client.get("/fast")
"""

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """One prometheus process of this test; ended by its PID."""

    def __init__(self, directory: Path, scrape_port: int) -> None:
        self.port = _free_port()
        config = directory / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: horde\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{scrape_port}']\n")
        self.log = directory / "prometheus.log"
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={directory / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            cwd=directory, stdin=subprocess.DEVNULL, stdout=self.log.open("w"),
            stderr=subprocess.STDOUT)

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with _OPENER.open(url, timeout=5) as resp:
            return json.loads(resp.read()) if path.startswith("/api/") else resp.read()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{self.log.read_text()}")
            try:
                self.get("/-/ready")
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout} s:\n{self.log.read_text()}")

    def scalar(self, query: str) -> float | None:
        """The single value of an instant query, or None when it has no result."""
        answer = self.get("/api/v1/query", query=query)
        assert answer["status"] == "success", answer
        result = answer["data"]["result"]
        if not result:
            return None
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[tuple[Prometheus, int]]:
    metrics_port = _free_port()
    prom = Prometheus(tmp_path, metrics_port)
    try:
        prom.wait_ready()
        yield prom, metrics_port
    finally:
        prom.close()


def _poll(read: Any, ok: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not ok(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(0.5)
        value = read()
    return value


def test_prometheus_sees_the_runs_totals_and_users(
        tmp_path: Path, plain_target: Target, prometheus_for: tuple[Prometheus, int]) -> None:
    prom, metrics_port = prometheus_for
    script = write_script(tmp_path, SCRIPT)
    result_path = tmp_path / "result.json"
    proc = start_horde(["-f", str(script), "-H", plain_target.url, "--headless", "-u",
                        str(USERS), "-r", str(USERS), "-t", "12s", "--processes", "2",
                        "--only-summary", "--metrics-port", str(metrics_port),
                        "--json", str(result_path)], tmp_path)
    # Prometheus reaches the run while it lasts (the target is up, every second).
    _poll(lambda: prom.scalar("max_over_time(up[1m])"), lambda v: v == 1.0, 60,
          "a successful scrape")
    run = finish(proc, result_path, timeout=90)
    assert run.returncode == 0, run.stderr
    assert run.result is not None
    total = run.result["total"]["requests"]
    assert total == USERS * PER_USER == plain_target.counts().route("GET", "/fast")

    # Series end when the run does: read the highest value each had.
    requests = _poll(lambda: prom.scalar("sum(max_over_time(horde_requests_total[5m]))"),
                     lambda v: v == total, 20, f"sum(horde_requests_total) == {total}")
    assert requests == total
    assert prom.scalar("sum(max_over_time(horde_failures_total[5m]))") == 0
    assert prom.scalar("sum(max_over_time(horde_response_time_seconds_count[5m]))") == total
    assert prom.scalar("max(max_over_time(horde_users[5m]))") == USERS
    assert prom.scalar("max(max_over_time(horde_target_users[5m]))") == USERS
    # Two workers, each with its own series, holding the users between them.
    assert prom.scalar("count(max_over_time(horde_worker_users[5m]))") == 2
    assert prom.scalar("max(max_over_time(horde_workers{state=\"running\"}[5m]))") == 2

    # The histogram answers a quantile within one of its buckets of horde's own.
    p50 = prom.scalar("histogram_quantile(0.5, sum by (le) "
                      "(max_over_time(horde_response_time_seconds_bucket[5m])))")
    horde_p50_s = run.result["total"]["percentiles_ms"]["50"] / 1000
    assert p50 is not None and horde_p50_s / 1.5 <= p50 <= horde_p50_s * 1.5

    # Every query of the Grafana dashboard in deploy/ is one Prometheus accepts.
    for query in dashboard_queries():
        answer = prom.get("/api/v1/query", query=query.replace("$__rate_interval", "1m"))
        assert answer["status"] == "success", (query, answer)
