"""Stress: thousands of sync users switching through (compiled) client frames.

Run as its own process by tests/test_compiled_stress.py, so that a crash (a
segmentation fault is what round 1 saw) fails that one test with its signal
instead of taking the whole suite down. It runs whatever build HORDE_BUILD
selects; under `make test` that is the compiled one first, then pure Python.

Each user is a plain `def` HttpUser: its tasks run inside its greenlet and
call the compiled HttpSession, which switches to the event loop at every I/O
wait, so every switch leaves compiled C frames on the greenlet's stack. The
target (an asyncio server on 127.0.0.1 in this process) answers /ok and /err,
never answers /slow (the client's timeout fires) and drops /close.

Phase 1, exceptions and timeouts: users stop cleanly after a fixed number of
tasks; every count must equal what the target served or received.
Phase 2, cancellation: users blocked in /slow are cancelled mid-request (a
CancelledError thrown into each greenlet through the compiled frames).
Phase 3, timeouts from outside: `asyncio.wait_for` cancels a population that
would never stop by itself. Then one more user must still work.

Prints one JSON line with the counts; exits non-zero when a check fails.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

import horde
from horde.cli.process import new_loop
from horde.errors import StopUser
from horde.events import Events
from horde.gate import Gate
from horde.runtime.limits import raise_open_files_limit
from horde.user import HttpUser, constant, task

__all__ = ["main"]


class Target(asyncio.Protocol):
    """HTTP/1.1 keep-alive target: one request at a time per connection."""

    served: Counter[str] = Counter()  # replaced per server in serve()

    def __init__(self, served: Counter[str]) -> None:
        self.served = served
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer and self.transport is not None:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            name = path.strip("/")
            self.served[f"received {name}"] += 1
            if name == "slow":
                return  # never answered: the client's timeout ends it
            if name == "close":
                self.transport.close()
                return
            status, body = (b"200 OK", b"ok") if name == "ok" else (b"500 Oops", b"oops")
            self.transport.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
            self.served[f"answered {name}"] += 1


class Env:
    """A UserEnvironment whose waits never sleep; it stops users after `limit` waits."""

    def __init__(self, host: str, limit: int | None, timeout: float) -> None:
        self.host: str | None = host
        self.gate = Gate()
        self.events = Events()
        self.tags: frozenset[str] | None = None
        self.exclude_tags: frozenset[str] | None = None
        self.request_timeout = timeout
        self.limit = limit
        self.waits = 0
        self.requests: Counter[tuple[str, bool]] = Counter()
        self.exceptions: Counter[str] = Counter()

    def record(self, method: str, name: str, latency_us: int, size: int, error: str | None,
               ttfb_us: int) -> None:
        self.requests[(name, error is None)] += 1

    async def wait(self, seconds: float) -> None:
        self.waits += 1
        if self.limit is not None and self.waits > self.limit:
            raise StopUser()
        await asyncio.sleep(0)

    def record_exception(self, where: str, exc: BaseException) -> None:
        self.exceptions[type(exc).__name__] += 1

    def clock(self) -> float:
        return asyncio.get_running_loop().time()


RUN: Counter[str] = Counter()  # tasks started, per kind (this process runs one stress)
# /slow ends by this client timeout; everything else has minutes, so that a loaded
# machine cannot turn an answered request into a timeout and the counts stay exact.
SLOW_TIMEOUT_S = 0.3
TIMEOUT_S = 300.0


class Mixed(HttpUser):
    wait_time = constant(0)

    @task(6)
    def ok(self) -> None:
        RUN["ok"] += 1
        self.client.get("/ok")

    @task(2)
    def err(self) -> None:
        RUN["err"] += 1
        self.client.get("/err")

    @task
    def fails_after_a_request(self) -> None:
        RUN["raise"] += 1
        self.client.get("/ok")
        raise ValueError("a task failed after its request")

    @task
    def times_out(self) -> None:
        RUN["slow"] += 1
        self.client.get("/slow", timeout=SLOW_TIMEOUT_S)

    @task
    def dropped(self) -> None:
        RUN["close"] += 1
        self.client.get("/close")

    @task
    def caught(self) -> None:
        RUN["catch"] += 1
        with self.client.get("/err", catch_response=True) as response:
            response.success()


class Blocked(HttpUser):
    wait_time = constant(0)

    @task
    def slow(self) -> None:
        self.client.get("/slow")

    @task
    def ok(self) -> None:
        self.client.get("/ok")


def check(failures: list[str], what: str, got: object, want: object) -> None:
    if got != want:
        failures.append(f"{what}: {got!r} != {want!r}")


async def population(env: Env, cls: type[HttpUser], users: int) -> list[asyncio.Task[None]]:
    return [asyncio.ensure_future(cls(env).run()) for _ in range(users)]


async def stress(users: int, tasks: int) -> dict[str, Any]:
    served: Counter[str] = Counter()
    server = await asyncio.get_running_loop().create_server(
        lambda: Target(served), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    host = f"http://127.0.0.1:{port}"
    failures: list[str] = []
    try:
        # Phase 1: exceptions, failed responses, dropped connections, client timeouts.
        env = Env(host, limit=tasks, timeout=TIMEOUT_S)
        done = await asyncio.wait_for(
            asyncio.gather(*await population(env, Mixed, users), return_exceptions=True), 120)
        check(failures, "phase 1 user outcomes", [r for r in done if r is not None], [])
        req = env.requests
        check(failures, "/ok answered", served["answered ok"], RUN["ok"] + RUN["raise"])
        check(failures, "/ok recorded", req[("/ok", True)], served["answered ok"])
        check(failures, "/err answered", served["answered err"], RUN["err"] + RUN["catch"])
        check(failures, "/err recorded as failures", req[("/err", False)], RUN["err"])
        check(failures, "/err caught as successes", req[("/err", True)], RUN["catch"])
        # Every /slow and /close task is recorded once, as a failure. The target may see
        # one more of each per task: the client retries once on a fresh connection when
        # a reused keep-alive one ends without an answer (HttpSession._simple).
        check(failures, "/slow recorded as failures", req[("/slow", False)], RUN["slow"])
        check(failures, "/slow received at most twice per task",
              served["received slow"] <= 2 * RUN["slow"], True)
        check(failures, "/close recorded as failures", req[("/close", False)], RUN["close"])
        check(failures, "/close received once or twice per task",
              RUN["close"] <= served["received close"] <= 2 * RUN["close"], True)
        check(failures, "ValueErrors recorded", dict(env.exceptions), {"ValueError": RUN["raise"]}
              if RUN["raise"] else {})
        check(failures, "a wait after every task", sum(RUN.values()), env.waits)
        phase1 = dict(RUN)

        # Phase 2: cancel users while many of them wait inside a request.
        env2 = Env(host, limit=None, timeout=TIMEOUT_S)
        before = served["received slow"]
        running = await population(env2, Blocked, users)
        for _ in range(6000):  # until a quarter of the users sit in /slow (bounded: 60 s)
            if served["received slow"] - before >= users // 4:
                break
            await asyncio.sleep(0.01)
        blocked = served["received slow"] - before
        for t in running:
            t.cancel()
        finished, pending = await asyncio.wait(running, timeout=60)
        check(failures, "phase 2 users left running", len(pending), 0)
        check(failures, "phase 2 users cancelled", sum(t.cancelled() for t in finished), users)
        if blocked < users // 4:
            failures.append(f"phase 2: only {blocked} users reached /slow")

        # Phase 3: a timeout from outside cancels users that never stop on their own.
        env3 = Env(host, limit=None, timeout=TIMEOUT_S)
        running = await population(env3, Blocked, users // 2)
        try:
            await asyncio.wait_for(asyncio.gather(*running), 0.5)
            failures.append("phase 3: users that never stop stopped")
        except TimeoutError:
            pass
        check(failures, "phase 3 users cancelled", sum(t.cancelled() for t in running),
              len(running))

        # Afterwards the process is sound: one more user does its requests.
        env4 = Env(host, limit=20, timeout=TIMEOUT_S)
        await Mixed(env4).run()
        check(failures, "last user's requests", sum(env4.requests.values()) > 0, True)
        return {"build": horde.BUILD.describe(), "users": users, "tasks": phase1,
                "served": dict(served), "phase2_blocked_in_slow": blocked,
                "failures": failures}
    finally:
        server.close()


def main(argv: list[str]) -> int:
    users = int(argv[0]) if argv else 2000
    tasks = int(argv[1]) if len(argv) > 1 else 6 * users
    raise_open_files_limit()
    with asyncio.Runner(loop_factory=new_loop) as runner:
        result = runner.run(stress(users, tasks))
    print(json.dumps(result, sort_keys=True))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
