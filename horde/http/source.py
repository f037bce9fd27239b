"""Which local (source) address each new connection binds to (`--local-ips`).

Why: Linux gives a connection its ephemeral port by scanning the port range
for one whose (source, port, destination, port) tuple is free, trying ports of
one parity first. Once about half the range is taken towards one destination,
every connect() scans that whole half before it finds a port: measured on this
project's 2-core machine, 3 processes opening 16,600 connections each from
127.0.0.1 to one nginx port (range 1024-65000), connect() took 40 µs each up
to ~32,000 connections and 7 ms each beyond, all of it kernel time in the
generator. That was the 50,000-user collapse (issue 8; BENCHMARKS.md). Each
source address has a tuple space of its own, so connections spread over a few
of them never reach the slow part.

Policy (`LocalAddresses`):

* an explicit list (``--local-ips 10.0.0.5,10.0.0.6-10.0.0.9,10.1.0.0/28``,
  k6's flag of the same name) is used for every connection whose target has
  the same address family, round-robin;
* by default (``auto``), a target that is an IPv4 loopback address (any of
  127.0.0.0/8, the whole of which is local on Linux) gets connections from
  `AUTO_LOOPBACK_COUNT` loopback sources, 127.0.0.1 first, where this
  machine has them all (not macOS); any other target gets no binding at
  all, so the kernel picks as it always does;
* the socket is bound with ``IP_BIND_ADDRESS_NO_PORT``: the port is still
  chosen at connect() against the full four-tuple, not reserved by bind().

Invariants: a `LocalAddresses` is immutable and shared by all sessions of a
process; the round-robin position belongs to each session (no shared mutable
state), starting at a position drawn per session so that users spread evenly.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass

__all__ = [
    "AUTO_LOOPBACK_COUNT",
    "MAX_LOCAL_ADDRESSES",
    "LocalAddresses",
    "bound_socket",
    "check_local",
    "parse_local_ips",
]

AUTO_LOOPBACK_COUNT = 16
"""Loopback sources for a loopback target: with the default port range (28,232
ports) each holds ~14,000 connections before the slow scan, so 16 hold ~225,000,
more than one machine's open-file limits allow."""

MAX_LOCAL_ADDRESSES = 65_536

# Linux's value; the socket module names it only from Python 3.12 on some builds.
_IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)

_AUTO_LOOPBACK = tuple(f"127.0.0.{i}" for i in range(1, AUTO_LOOPBACK_COUNT + 1))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LocalAddresses:
    """The source-address policy of one process; see the module docstring."""

    v4: tuple[str, ...] = ()
    v6: tuple[str, ...] = ()
    auto: bool = True
    """True when no list was given: loopback targets get `_AUTO_LOOPBACK`."""

    @classmethod
    def from_spec(cls, spec: str | None) -> LocalAddresses:
        """``None``/``"auto"``: the default; otherwise `parse_local_ips`."""
        if spec is None or spec.strip().lower() == "auto":
            return cls()
        addresses = parse_local_ips(spec)
        return cls(v4=tuple(str(a) for a in addresses if a.version == 4),
                   v6=tuple(str(a) for a in addresses if a.version == 6), auto=False)

    def for_host(self, host: str) -> tuple[str, ...]:
        """The sources for connections to `host` (a name or an address literal); () for none."""
        kind = _kind_of(host)
        if self.auto:
            return _AUTO_LOOPBACK if kind == _LOOPBACK4 and _loopback_spreads() else ()
        if kind == _NAME:
            # A name is resolved by connect() in the socket's family: IPv4
            # first, as getaddrinfo orders most hosts.
            return self.v4 or self.v6
        return self.v6 if kind == _V6 else self.v4


_NAME, _V4, _LOOPBACK4, _V6 = range(4)


@functools.lru_cache(maxsize=1)
def _loopback_spreads() -> bool:
    """Whether this machine can send from all of `_AUTO_LOOPBACK` (checked once per process).

    Linux routes all of 127.0.0.0/8 to the loopback interface; other systems
    (macOS) configure 127.0.0.1 only, and there the default stays the
    kernel's choice instead of every connection failing.
    """
    return check_local(LocalAddresses(v4=_AUTO_LOOPBACK, auto=False)) is None


@functools.lru_cache(maxsize=256)
def _kind_of(host: str) -> int:
    """What `host` is, parsed once per host and process (it is asked at every connect)."""
    try:
        target = ipaddress.ip_address(host)
    except ValueError:
        return _NAME  # its family is known only once resolved
    if target.version == 6:
        return _V6
    return _LOOPBACK4 if target.is_loopback else _V4


def parse_local_ips(spec: str) -> list[Address]:
    """Addresses from ``"IP, IP-IP, CIDR, ..."``; ValueError with a sentence when invalid."""
    out: list[Address] = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        if "/" in part:
            try:
                net = ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not a network (like 10.0.0.0/28)") from None
            if net.num_addresses > MAX_LOCAL_ADDRESSES:
                raise ValueError(f"{part!r} has {net.num_addresses:,} addresses; "
                                 f"at most {MAX_LOCAL_ADDRESSES:,} are used")
            # Network and broadcast addresses cannot be a source, except in /31 and /32.
            out.extend(net.hosts() if net.num_addresses > 2 else net)
        elif "-" in part:
            first_s, _, last_s = part.partition("-")
            try:
                first, last = ipaddress.ip_address(first_s.strip()), ipaddress.ip_address(
                    last_s.strip())
            except ValueError:
                raise ValueError(f"{part!r} is not a range (like 10.0.0.5-10.0.0.9)") from None
            if first.version != last.version or int(last) < int(first):
                raise ValueError(f"{part!r} is not a range from a lower to a higher address "
                                 "of one family")
            if int(last) - int(first) + 1 > MAX_LOCAL_ADDRESSES:
                raise ValueError(f"{part!r} has more than {MAX_LOCAL_ADDRESSES:,} addresses")
            out.extend(ipaddress.ip_address(n) for n in range(int(first), int(last) + 1))
        else:
            try:
                out.append(ipaddress.ip_address(part))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address") from None
        if len(out) > MAX_LOCAL_ADDRESSES:
            raise ValueError(f"more than {MAX_LOCAL_ADDRESSES:,} addresses")
    if not out:
        raise ValueError("no address given (say 'auto' for the default)")
    return list(dict.fromkeys(out))  # in order, once each


def bound_socket(local: str) -> socket.socket:
    """A non-blocking TCP socket bound to `local` with the port left to connect()."""
    family = socket.AF_INET6 if ":" in local else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
        except OSError:
            pass  # not Linux: bind() reserves a port; still correct, only less spare
        sock.bind((local, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def check_local(policy: LocalAddresses) -> str | None:
    """A sentence naming the first address of `policy` this machine cannot send from, or None.

    Checked before a run starts, so a typo is a usage error rather than every
    request failing. Binding with ``IP_BIND_ADDRESS_NO_PORT`` takes no port.
    """
    for local in (*policy.v4, *policy.v6):
        try:
            bound_socket(local).close()
        except OSError as exc:
            return (f"--local-ips: cannot send from {local} on this machine "
                    f"({exc.strerror or exc})")
    return None
