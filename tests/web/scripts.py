"""User classes the web tests run against the plain target (tests/support)."""

from __future__ import annotations

from horde.user import HttpUser, constant, task

__all__ = ["PlainVisitor"]


class PlainVisitor(HttpUser):
    # 10 requests/s per user at most: a few users make a light, bounded load.
    wait_time = constant(0.1)

    @task(3)
    def fast(self) -> None:
        self.client.get("/fast")

    @task(1)
    def fail(self) -> None:
        self.client.get("/fail")

    @task(1)
    def sized(self) -> None:
        self.client.get("/bytes/100")
