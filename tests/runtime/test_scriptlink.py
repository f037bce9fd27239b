"""The master's door for workers' script messages: a rate per worker, on a fake clock."""

from __future__ import annotations

from horde.runtime.scriptlink import MESSAGE_BURST, MESSAGE_RATE, ScriptInbox


class Link:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, str]] = []

    def message(self, kind: str, data: bytes, node_id: str) -> None:
        self.got.append((kind, data, node_id))


def test_each_worker_gets_a_burst_then_a_rate() -> None:
    now = [0.0]
    inbox = ScriptInbox(clock=lambda: now[0])
    link = Link()
    for _ in range(int(MESSAGE_BURST) + 10):
        inbox.received(link, "w1", "k", b"\xc0")  # type: ignore[arg-type]
    assert len(link.got) == MESSAGE_BURST and inbox.dropped == 10
    inbox.received(link, "w2", "k", b"\xc0")  # type: ignore[arg-type]
    assert link.got[-1] == ("k", b"\xc0", "w2")  # another worker has its own bucket
    now[0] += 1.0
    before = len(link.got)
    for _ in range(int(MESSAGE_RATE) * 2):
        inbox.received(link, "w1", "k", b"")  # type: ignore[arg-type]
    assert len(link.got) - before == MESSAGE_RATE


def test_without_a_link_messages_are_dropped_and_counted() -> None:
    inbox = ScriptInbox()
    inbox.received(None, "w1", "k", b"")
    assert inbox.dropped == 1


def test_a_worker_that_has_not_joined_is_not_heard() -> None:
    inbox = ScriptInbox()
    link = Link()
    inbox.received(link, "w1", "k", b"", joined=False)  # type: ignore[arg-type]
    assert link.got == [] and inbox.dropped == 1
