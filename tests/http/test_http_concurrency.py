"""Many users at once: the server saw exactly what was recorded; the gate stops new requests."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from http_helpers import Recorder, run
from http_servers import BrokenServer, GoodServer

from horde.bridge import SyncRunner
from horde.errors import StopUser
from horde.gate import Gate
from horde.http import HttpSession


def test_fifty_users_server_saw_exactly_what_was_recorded(
    good: GoodServer, recorder: Recorder
) -> None:
    users, per_user = 50, 20
    start = len(good.seen)

    async def async_user(i: int) -> None:
        s = HttpSession(good.url, recorder)
        for j in range(per_user):
            path = "/echo" if j % 2 else f"/echo/u{i}"
            await s.get(path, name="/echo/[user]" if path != "/echo" else None)
        await s.aclose()

    async def sync_user(i: int) -> None:
        s = HttpSession(good.url, recorder)
        runner = SyncRunner()

        def task() -> None:
            for j in range(per_user):
                s.post("/echo", data={"i": str(i), "j": str(j)})

        try:
            await runner.call(task)
        finally:
            runner.close()
            await s.aclose()

    async def main() -> None:
        await asyncio.gather(
            *(async_user(i) for i in range(users // 2)),
            *(sync_user(i) for i in range(users // 2)),
        )

    run(main())
    seen = good.seen[start:]
    assert len(recorder.records) == users * per_user == len(seen)
    assert all(r.error is None for r in recorder.records)
    recorded = Counter(r.method for r in recorder.records)
    served = Counter(method for method, _ in seen)
    assert recorded == served == {"GET": 500, "POST": 500}


def test_concurrent_requests_in_one_async_user(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> int:
        s = HttpSession(good.url, recorder)
        responses = await asyncio.gather(*(s.get("/") for _ in range(10)))
        assert all(r.ok for r in responses)
        count = s._pool.idle_count()
        await s.aclose()
        return count

    assert run(main()) == 8  # ten connections opened, at most max_idle kept
    assert len(recorder.records) == 10


def test_closed_gate_raises_before_anything_is_sent(
    broken: BrokenServer, recorder: Recorder
) -> None:
    gate = Gate()
    before = broken.connections, dict(broken.requests)

    async def main() -> None:
        s = HttpSession(broken.url, recorder, gate=gate)
        assert (await s.get("/json")).ok
        gate.close()
        with pytest.raises(StopUser):
            await s.get("/json")
        with pytest.raises(StopUser):
            async with s.get("/json", catch_response=True):
                pass

        def task() -> None:
            s.get("/json")

        runner = SyncRunner()
        with pytest.raises(StopUser):
            await runner.call(task)
        runner.close()
        await s.aclose()

    run(main())
    assert broken.requests.get("/json", 0) - before[1].get("/json", 0) == 1
    assert broken.connections - before[0] == 1
    assert len(recorder.records) == 1


def test_request_in_flight_when_gate_closes_completes_and_is_recorded(
    broken: BrokenServer, recorder: Recorder
) -> None:
    gate = Gate()

    async def main() -> None:
        s = HttpSession(broken.url, recorder, gate=gate, timeout=0.3)
        pending = asyncio.ensure_future(s.get("/stall"))
        await asyncio.sleep(0.05)
        gate.close()
        r = await pending
        assert r.status_code == 0
        await s.aclose()

    run(main())
    assert recorder.errors == ["ReadTimeout: no response within 0.3 s"]
