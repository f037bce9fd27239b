"""Locust users for bench/compare.py (run with bench/.peers-venv's locust).

FastUser (FastHttpUser) and PlainUser (HttpUser) loop with no wait; PacedFastUser
runs at most 100 tasks per second (10 users -> 1,000 requests/s). One GET of "/".
"""

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
