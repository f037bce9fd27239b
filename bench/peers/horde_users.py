"""horde users for bench/compare.py: pick one class by name on the command line.

SyncUser / AsyncUser loop with no wait (throughput run); PacedSyncUser /
PacedAsyncUser run at most 100 tasks per second each (latency-fidelity run:
10 users x 100/s = 1,000 requests/s). Every task is one GET of "/". OpenUser is
for --arrival-rate; OpenUser and StallClosedUser GET $BENCH_PATH (default "/"),
for the coordinated-omission demonstration (bench/co_demo.py).
"""

import os

from horde import HttpUser, constant, constant_throughput, task


class SyncUser(HttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")


class AsyncUser(HttpUser):
    wait_time = constant(0)

    @task
    async def index(self) -> None:
        await self.client.get("/")


class PacedSyncUser(HttpUser):
    wait_time = constant_throughput(100)

    @task
    def index(self) -> None:
        self.client.get("/")


class PacedAsyncUser(HttpUser):
    wait_time = constant_throughput(100)

    @task
    async def index(self) -> None:
        await self.client.get("/")


class SyncLoopUser(HttpUser):
    """Diagnostic: 100 requests per task call, so per-task costs (the task loop,
    the yield between tasks, entering the greenlet) are paid once per 100."""

    wait_time = constant(0)

    @task
    def index(self) -> None:
        for _ in range(100):
            self.client.get("/")


class AsyncLoopUser(HttpUser):
    """Diagnostic: as SyncLoopUser, with async def."""

    wait_time = constant(0)

    @task
    async def index(self) -> None:
        for _ in range(100):
            await self.client.get("/")


class OpenUser(HttpUser):
    """The open model (--arrival-rate): one GET per iteration; no wait time needed."""

    @task
    def index(self) -> None:
        self.client.get(os.environ.get("BENCH_PATH", "/"), name="bench")


class StallClosedUser(HttpUser):
    """The closed model at 10 requests/s per user, on BENCH_PATH (the stalling route)."""

    wait_time = constant_throughput(10)

    @task
    def index(self) -> None:
        self.client.get(os.environ.get("BENCH_PATH", "/"), name="bench")
