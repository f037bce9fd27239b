"""HttpUser and FastHttpUser against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from user_fakes import FakeEnv, run

from horde.errors import StopUser
from horde.user import FastHttpUser, HttpUser, task

pytestmark = pytest.mark.timeout(30)


async def serve(body: Callable[[str, FakeEnv], Awaitable[Any]], env: FakeEnv | None = None) -> Any:
    """Start a small app on a free loopback port, run `body(base_url, env)`, stop the app."""
    hits: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        hits.append(f"GET {request.path}")
        return web.Response(text="hello")

    async def echo(request: web.Request) -> web.Response:
        hits.append(f"POST {request.path}")
        return web.json_response({"got": await request.json()})

    async def fail(request: web.Request) -> web.Response:
        hits.append(f"GET {request.path}")
        return web.Response(status=503, text="busy")

    app = web.Application()
    app.add_routes([web.get("/hello", hello), web.post("/echo", echo), web.get("/fail", fail)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        result = await body(f"http://127.0.0.1:{port}", env or FakeEnv())
    finally:
        await runner.cleanup()
    return result, hits


def test_sync_and_async_tasks_make_recorded_requests() -> None:
    results: list[tuple[str, Any]] = []

    class Web(HttpUser):
        @task
        def page(self) -> None:
            r = self.client.get("/hello")
            results.append(("sync", (r.status_code, r.text)))

        @task
        async def api(self) -> None:
            r = await self.client.post("/echo", json={"n": 1})
            results.append(("async", (r.status_code, r.json())))

    async def body(base: str, env: FakeEnv) -> None:
        env.host = base
        user = Web(env)
        user.rng.seed(5)
        await user.run()

    env = FakeEnv(stop_after=20)
    _, hits = run(serve(body, env))
    assert len(results) == 20 == len(hits) == len(env.requests)
    kinds = {kind for kind, _ in results}
    assert kinds == {"sync", "async"}
    for kind, outcome in results:
        assert outcome == ((200, "hello") if kind == "sync" else (200, {"got": {"n": 1}}))
    recorded = {(m, n, e) for m, n, _, _, e, _ in env.requests}
    assert recorded == {("GET", "/hello", None), ("POST", "/echo", None)}
    assert env.exceptions == []


def test_class_host_is_used_unless_the_environment_sets_one() -> None:
    async def body(base: str, env: FakeEnv) -> list[int]:
        class Api(FastHttpUser):
            host = base

            @task
            def t(self) -> None:
                self.client.get("/hello")

        await Api(env).run()
        return [r[2] for r in env.requests]

    env = FakeEnv(stop_after=3)
    latencies, hits = run(serve(body, env))
    assert hits == ["GET /hello"] * 3
    assert len(latencies) == 3 and all(us > 0 for us in latencies)


def test_catch_response_and_failures_in_both_styles() -> None:
    class Checks(HttpUser):
        @task
        def sync_check(self) -> None:
            with self.client.get("/fail", catch_response=True) as r:
                if r.status_code == 503:
                    r.success()

        @task
        async def async_plain(self) -> None:
            await self.client.get("/fail", name="failing")

    async def body(base: str, env: FakeEnv) -> None:
        env.host = base
        user = Checks(env)
        user.rng.seed(3)
        await user.run()

    env = FakeEnv(stop_after=12)
    run(serve(body, env))
    errors = {(n, e) for _, n, _, _, e, _ in env.requests}
    assert errors == {("/fail", None), ("failing", "HTTP 503")}


def test_closed_gate_stops_the_user_and_on_stop_requests_are_refused() -> None:
    log: list[str] = []

    class Gated(HttpUser):
        @task
        def t(self) -> None:
            self.client.get("/hello")
            log.append("sent")
            if len(log) == 3:
                self.environment.gate.close()

        def on_stop(self) -> None:
            log.append("on_stop")
            self.client.get("/hello")  # refused: the gate is closed
            log.append("not reached")

    async def body(base: str, env: FakeEnv) -> None:
        env.host = base
        await Gated(env).run()

    env = FakeEnv(stop_after=100)
    _, hits = run(serve(body, env))
    assert log == ["sent", "sent", "sent", "on_stop"]
    assert len(hits) == 3 == len(env.requests)
    assert env.exceptions == []


def test_client_is_closed_when_the_user_ends() -> None:
    # Observed through the pool, not by replacing `aclose` on the instance: the
    # compiled HttpSession (docs/dev/compiled.md) has no per-instance attributes.
    idle_in_task: list[int] = []
    idle_after: list[int] = []

    class Closing(HttpUser):
        @task
        async def t(self) -> None:
            await self.client.get("/hello")
            idle_in_task.append(self.client._pool.idle_count())

    async def body(base: str, env: FakeEnv) -> None:
        env.host = base
        user = Closing(env)
        await user.run()
        idle_after.append(user.client._pool.idle_count())

    run(serve(body, FakeEnv(stop_after=2)))
    assert idle_in_task == [1, 1]  # the keep-alive connection waits in the pool...
    assert idle_after == [0]  # ...until the user ends and its client is closed


def test_stop_user_from_the_client_is_not_an_error() -> None:
    class U(HttpUser):
        host = "http://127.0.0.1:9"

        @task
        async def t(self) -> None:
            await self.client.get("/")

    env = FakeEnv(stop_after=5)
    env.gate.close()

    async def go() -> None:
        await U(env).run()

    run(go())
    assert env.requests == [] and env.exceptions == []
    with pytest.raises(StopUser):
        run(U(env).client.get("/"))
