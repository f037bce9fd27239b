"""Locust users for bench/compare.py (run with bench/.peers-venv's locust).

FastUser (FastHttpUser) and PlainUser (HttpUser) loop with no wait; PacedFastUser
runs at most 100 tasks per second (10 users -> 1,000 requests/s). One GET of "/";
StallClosedUser GETs $BENCH_PATH at 10/s (bench/co_demo.py).
"""

import os

from locust import FastHttpUser, HttpUser, constant, constant_throughput, task


class FastUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")


class PlainUser(HttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")


class PacedFastUser(FastHttpUser):
    wait_time = constant_throughput(100)

    @task
    def index(self) -> None:
        self.client.get("/")


class StallClosedUser(FastHttpUser):
    """Locust's closed model at 10 requests/s per user, on BENCH_PATH (the stalling route)."""

    wait_time = constant_throughput(10)

    @task
    def index(self):
        self.client.get(os.environ.get("BENCH_PATH", "/"), name="bench")
