"""Every test in tests/user runs twice: through the greenlet task loop and the driver loop.

All-sync users normally run their whole life inside their greenlet
(`horde.user.syncloop`); users mixing `def` and `async def` use the async
driver (`horde.user.loop`). The two loops must behave identically, so the
`loop_path` fixture (autouse) runs each test once as shipped and once with the
greenlet loop switched off, which sends all-sync users through the driver too.
A test about the greenlet loop itself reads `loop_path` and skips the other run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, params=["greenlet-loop", "driver-loop"])
def loop_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "driver-loop":
        import horde.user.loop
        import horde.user.user

        def never(*_args: object) -> bool:
            return False

        monkeypatch.setattr(horde.user.user, "sync_only", never)
        monkeypatch.setattr(horde.user.loop, "sync_only", never)
    yield str(request.param)
