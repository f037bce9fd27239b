"""Which requests the web UI answers: its own pages, reached by names it knows.

A load generator sends traffic wherever it is told, so a web page that could
steer it (a link in a mail, an advert, a page on another port of the same
machine) could point it at anyone. The browser sends requests to the UI on
that page's behalf; `guard_middleware` answers only the UI's own pages:

1. **Host allow-list** (every request, the WebSocket, downloads and any later
   route such as /metrics included). A DNS-rebinding page reaches the UI under
   the attacker's own name (``Host: evil.example:8089``), which is not on the
   list: refused with 403. On the list: ``localhost``, ``127.0.0.1``, ``::1``,
   the bind address, and every ``--web-allowed-host``. With a wildcard bind
   (``0.0.0.0``, ``::``) also this machine's host name and any IP address:
   rebinding needs a name the attacker controls, so an address typed as
   digits cannot be one, and Prometheus or a person reaching the UI by the
   machine's address just works. A request with no Host at all cannot come
   from a browser and is let through.
2. **State-changing requests** (every method but GET, HEAD and OPTIONS) must
   carry an ``Origin`` -- or, when a browser left it out, a ``Referer`` --
   whose host and port are the ones the request was sent to (the Host
   header, which check 1 vouched for). A page on another site or another
   port, or a sandboxed one (``Origin: null``), is refused with 403, and so
   is a request that names no origin at all (browsers always send one on a
   POST; a script adds ``-H 'Origin: http://HOST:PORT'``).
3. ...and must say ``Content-Type: application/json`` (else 415). A
   cross-origin page can only send that type after a CORS preflight, which
   the UI never grants; so even without check 2 no page could send one.
4. **The WebSocket** handshake (a GET with ``Upgrade: websocket``): browsers
   always send an ``Origin`` there; when present it must be the UI's own
   (check 2's rule), so no other page can read the live state.

GET requests without an Origin (curl, Prometheus, the downloads) pass checks
2 to 4 untouched: reading is harmless, and a browser never lets another
page read the answer (there are no CORS headers).

Invariants: the checks run before authentication and before any handler, so
a refused request has no effect at all; the refusal is a JSON
``{"error": "..."}`` that says which rule refused it and how to pass. Each
distinct refusal is also logged once (at most `MAX_LOGGED` of them per
server), so the person behind a misconfigured proxy learns the fix from the
terminal and a flood of hostile requests cannot flood the log.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from horde.errors import UsageError

__all__ = ["AllowedHosts", "guard_middleware", "normalise_host", "parse_allowed_host",
           "display_host", "SAFE_METHODS", "WILDCARD_BINDS", "MAX_LOGGED"]

log = logging.getLogger(__name__)

MAX_LOGGED = 20

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "*"})
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_host(name: str) -> str:
    """One spelling per host: lower case, no brackets or trailing dot, IPs compressed."""
    name = name.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name


def display_host(host: str) -> str:
    """The host part of a URL a person can open for a bind address: wildcards become loopback."""
    if host in ("", "0.0.0.0", "*"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    if _is_address(host) and ipaddress.ip_address(host).version == 6:
        return f"[{host}]"
    return host


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def parse_allowed_host(text: str) -> str:
    """A `--web-allowed-host` value: a host name or an IP address, no scheme, no port."""
    value = text.strip()
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    if _is_address(bare):
        return normalise_host(bare)
    host = _split_host(value)
    if host is None or host[1] is not None or not host[0] or "*" in value:
        raise UsageError(f"expected a host name or IP address such as horde.example.com "
                         f"(no scheme, no port), got {text!r}")
    return host[0]


def _split_host(value: str) -> tuple[str, int | None] | None:
    """(name, port) of a Host header (`127.0.0.1:8089`, `[::1]`); None if garbled."""
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.path or parts.query or parts.fragment or parts.username:
        return None
    return normalise_host(parts.hostname), port


def _split_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an Origin or Referer; None for "null" or anything garbled."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, normalise_host(parts.hostname), port or _DEFAULT_PORTS[scheme]


@dataclass(frozen=True)
class AllowedHosts:
    """The host names the UI answers to; see the module docstring, rule 1."""

    names: frozenset[str]
    any_address: bool = False
    """A wildcard bind: any IP address is fine too (it cannot be rebound)."""

    @classmethod
    def for_bind(cls, bind_host: str, extra: Iterable[str] = ()) -> AllowedHosts:
        names = {normalise_host(n) for n in (*_LOOPBACK_NAMES, *extra)}
        wildcard = bind_host.strip() in WILDCARD_BINDS
        if wildcard:
            # The name people type to reach this machine; a syscall, no DNS lookup.
            names.add(normalise_host(socket.gethostname()))
        else:
            names.add(normalise_host(bind_host))
        return cls(frozenset(names), any_address=wildcard)

    def allows(self, name: str) -> bool:
        name = normalise_host(name)
        return name in self.names or (self.any_address and _is_address(name))


class _LogOnce:
    """Log each distinct refusal once, and at most MAX_LOGGED of them in all."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._seen: set[str] = set()

    def __call__(self, request: web.Request, message: str) -> None:
        line = f"{self._what} refused {request.method} {request.path}: {message}"
        if line in self._seen or len(self._seen) >= MAX_LOGGED:
            return
        self._seen.add(line)
        log.warning("%s", line)


def _origin_problem(request: web.Request, origin: str, what: str) -> str | None:
    """Why `origin` (an Origin or Referer value) is not this UI's own; None when it is."""
    host_header = request.headers.get("Host")
    host = _split_host(host_header) if host_header else None
    seen = _split_origin(origin)
    if seen is None or host is None:
        return f"refused: the request comes from a page this UI cannot vouch for ({what} " \
               f"{origin!r}); the web UI takes actions only from its own pages"
    scheme, name, port = seen
    # A Host without a port means the default port of the scheme the browser used.
    host_port = host[1] if host[1] is not None else _DEFAULT_PORTS[scheme]
    if (name, port) != (host[0], host_port):
        return f"refused: the request comes from another origin's page ({what} " \
               f"{origin!r}); the web UI takes actions only from its own pages"
    return None


def guard_middleware(allowed: AllowedHosts, what: str = "web UI") -> Middleware:
    """The middleware enforcing rules 1 to 4 of the module docstring (`what` it guards
    is named in the refusals: the web UI, the metrics server)."""

    log_once = _LogOnce(what)

    def refuse(request: web.Request, status: int, message: str) -> web.Response:
        log_once(request, message)
        return web.json_response({"error": message}, status=status)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host_header = request.headers.get("Host")
        if host_header is not None:
            host = _split_host(host_header)
            if host is None or not allowed.allows(host[0]):
                shown = host[0] if host is not None else host_header
                return refuse(request, 403,
                              f"this {what} does not answer to the host name {shown!r} (a "
                              "guard against DNS rebinding); if the name is yours, start "
                              f"horde with --web-allowed-host {shown}")
        origin = request.headers.get("Origin")
        if request.method not in SAFE_METHODS:
            if origin is not None:
                problem = _origin_problem(request, origin, "Origin")
            elif request.headers.get("Referer"):
                problem = _origin_problem(request, request.headers["Referer"], "Referer")
            else:
                own = f"http://{host_header}" if host_header else "http://HOST:PORT"
                problem = ("refused: an action must name the page it comes from (an Origin "
                           f"header); browsers send it, a script adds -H 'Origin: {own}'")
            if problem is not None:
                return refuse(request, 403, problem)
            if request.content_type != "application/json":
                given = request.headers.get("Content-Type", "none")
                return refuse(request, 415, "the request body must be sent as Content-Type: "
                                            f"application/json (got {given})")
        elif origin is not None and request.headers.get("Upgrade", "").lower() == "websocket":
            problem = _origin_problem(request, origin, "Origin")
            if problem is not None:
                return refuse(request, 403, problem)
        return await handler(request)

    return guard
