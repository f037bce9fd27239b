"""Source addresses (`--local-ips`, horde/http/source.py): the policy, and what a server sees.

The server here records each connection's peer address, so the tests check
what actually went over loopback, not what the client meant to do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections import Counter
from collections.abc import Iterator

import pytest
from http_helpers import Recorder, run

from horde.http import HttpSession
from horde.http.source import (
    AUTO_LOOPBACK_COUNT,
    LocalAddresses,
    check_local,
    parse_local_ips,
)
from tests.support.peer_server import PeerServer

# TEST-NET-1 (RFC 5737): documentation only, never an address of this machine.
NOT_LOCAL = "192.0.2.1"


@pytest.fixture
def peer_server() -> Iterator[PeerServer]:
    with PeerServer() as server:
        yield server


def _users(url: str, recorder: Recorder, n: int, policy: LocalAddresses | None) -> None:
    async def one() -> None:
        session = HttpSession(url, recorder, local_addresses=policy)
        await session.get("/")
        await session.get("/")  # kept alive: the same connection, the same source
        await session.aclose()

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(n)))

    run(main())


# --- what a server sees ------------------------------------------------------------


def test_a_loopback_target_gets_connections_from_several_loopback_sources(
    peer_server: PeerServer, recorder: Recorder
) -> None:
    _users(peer_server.url, recorder, 64, None)
    assert recorder.failures == []
    assert len(recorder.records) == peer_server.requests == 128
    assert len(peer_server.peers) == 64  # one connection per user, kept alive
    sources = Counter(peer_server.peers)
    allowed = {f"127.0.0.{i}" for i in range(1, AUTO_LOOPBACK_COUNT + 1)}
    assert set(sources) <= allowed
    # 64 users over 16 sources, each user starting at a random one: many are used.
    assert len(sources) >= 8, sources


def test_an_explicit_list_is_all_the_server_sees(
    peer_server: PeerServer, recorder: Recorder
) -> None:
    policy = LocalAddresses.from_spec("127.0.0.5, 127.0.0.9-127.0.0.10")
    _users(peer_server.url, recorder, 30, policy)
    assert recorder.failures == []
    assert peer_server.requests == 60
    assert set(peer_server.peers) == {"127.0.0.5", "127.0.0.9", "127.0.0.10"}


def test_a_list_of_the_other_family_leaves_the_choice_to_the_kernel(
    peer_server: PeerServer, recorder: Recorder
) -> None:
    _users(peer_server.url, recorder, 4, LocalAddresses.from_spec("::1"))
    assert recorder.failures == []
    assert set(peer_server.peers) == {"127.0.0.1"}


def test_a_refused_connection_from_a_bound_source_is_a_clean_failure(
    recorder: Recorder
) -> None:
    server = PeerServer()
    url = server.url
    server.close()  # nobody listens there any more
    _users(url, recorder, 3, LocalAddresses.from_spec("127.0.0.3"))
    unbound = Recorder()
    _users(url, unbound, 1, LocalAddresses.from_spec("::1"))  # the kernel's choice
    assert len(recorder.failures) == 6
    # The same error, worded the same, as a connection without a chosen source.
    assert {r.error for r in recorder.failures} == {r.error for r in unbound.failures}
    assert all((r.error or "").startswith("ConnectError") for r in recorder.failures)


# --- the policy --------------------------------------------------------------------


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", AUTO_LOOPBACK_COUNT),
    ("127.1.2.3", AUTO_LOOPBACK_COUNT),
    ("::1", 0),  # one loopback address only
    ("localhost", 0),  # a name: unknown family until resolved
    ("10.0.0.1", 0),
    ("example.test", 0),
])
def test_auto_spreads_only_ipv4_loopback_targets(host: str, expected: int) -> None:
    assert len(LocalAddresses().for_host(host)) == expected


def test_an_explicit_list_applies_by_family() -> None:
    policy = LocalAddresses.from_spec("10.0.0.1,fd00::1,10.0.0.2")
    assert policy.for_host("10.9.9.9") == ("10.0.0.1", "10.0.0.2")
    assert policy.for_host("fd00::9") == ("fd00::1",)
    assert policy.for_host("example.test") == ("10.0.0.1", "10.0.0.2")
    assert LocalAddresses.from_spec("auto") == LocalAddresses()
    assert LocalAddresses.from_spec(None) == LocalAddresses()


def test_ranges_and_networks_expand_in_order_once_each() -> None:
    got = [str(a) for a in parse_local_ips("10.0.0.1-10.0.0.3, 10.0.1.0/30, 10.0.0.2, 10.0.2.7/32")]
    assert got == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.1", "10.0.1.2", "10.0.2.7"]
    assert parse_local_ips("fd00::1-fd00::2") == [ipaddress.ip_address("fd00::1"),
                                                  ipaddress.ip_address("fd00::2")]


@pytest.mark.parametrize(("spec", "words"), [
    ("bogus", "'bogus' is not an IP address"),
    ("10.0.0.9-10.0.0.1", "from a lower to a higher address"),
    ("10.0.0.1-fd00::1", "of one family"),
    ("10.0.0.0/33", "is not a network"),
    ("10.0.0.0/8", "at most 65,536 are used"),
    (" , ", "no address given"),
])
def test_a_bad_list_says_what_is_wrong(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_local_ips(spec)


def test_an_address_of_another_machine_is_named_before_the_run() -> None:
    assert check_local(LocalAddresses.from_spec("127.0.0.1-127.0.0.4")) is None
    problem = check_local(LocalAddresses.from_spec(f"127.0.0.1,{NOT_LOCAL}"))
    assert problem is not None and NOT_LOCAL in problem and "cannot send from" in problem


def test_bound_connections_leave_no_open_file_behind(
    peer_server: PeerServer, recorder: Recorder
) -> None:
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    _users(peer_server.url, recorder, 5, None)  # warm up: loop, caches
    before = open_files()
    _users(peer_server.url, recorder, 200, None)
    assert recorder.failures == []
    assert len(peer_server.peers) == 205
    assert open_files() == before  # each connection's socket closed with its session
