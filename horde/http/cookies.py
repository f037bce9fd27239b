"""A per-session cookie jar: RFC 6265 storage and matching, small and fast when empty.

Each `HttpSession` owns one `CookieJar` (one per simulated user, so users never
share a login). Responses feed it their Set-Cookie values (`extract`);
requests ask it for a Cookie header (`header`), which costs one truth test
when the jar is empty.

Invariants:

* cookies are keyed by (domain, path, name); a new Set-Cookie with the same
  key replaces the old one, one with Max-Age <= 0 or an Expires in the past
  removes it;
* a cookie without a Domain attribute is host-only (sent to exactly that host);
  a Domain attribute that the setting host does not domain-match is ignored
  (the cookie is rejected), as is one set on an IP address for another host;
* expiry is wall-clock time (`time.time()`), as cookie dates are;
* `line()` caches the ready-made "Cookie: ...\r\n" bytes per (host, target,
  secure); the cache is emptied by every change to the jar and is trusted only
  until the earliest stored expiry (`_next_expiry`), so a cached line never
  carries a cookie that was replaced, deleted or has expired. That cache is
  what lets a logged-in user stay on the client's fast path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from email.utils import parsedate_to_datetime

from .request import header_block

__all__ = ["Cookie", "CookieJar", "parse_set_cookie"]

_NEVER = float("inf")
_LINE_CACHE_SIZE = 32  # per user (cookies differ per user): kept small


class Cookie:
    """One stored cookie."""

    __slots__ = ("name", "value", "domain", "host_only", "path", "expires", "secure")

    def __init__(
        self,
        name: str,
        value: str,
        domain: str,
        host_only: bool = True,
        path: str = "/",
        expires: float | None = None,
        secure: bool = False,
    ) -> None:
        self.name = name
        self.value = value
        self.domain = domain
        self.host_only = host_only
        self.path = path
        self.expires = expires
        self.secure = secure

    def matches(self, host: str, path: str, secure: bool) -> bool:
        if self.secure and not secure:
            return False
        if self.host_only:
            if host != self.domain:
                return False
        elif host != self.domain and not host.endswith("." + self.domain):
            return False
        return _path_matches(path, self.path)

    def __repr__(self) -> str:
        return f"Cookie({self.name}={self.value!r} for {self.domain}{self.path})"


def _path_matches(request_path: str, cookie_path: str) -> bool:
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False


def _default_path(request_path: str) -> str:
    # RFC 6265 5.1.4: the "directory" of the request path.
    if not request_path.startswith("/"):
        return "/"
    cut = request_path.rfind("/")
    return request_path[:cut] if cut > 0 else "/"


def _is_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


def parse_set_cookie(raw: bytes | str) -> tuple[str, str, dict[str, str]] | None:
    """(name, value, attributes with lowercased keys) of one Set-Cookie value, or None."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    first, *attrs = text.split(";")
    name, eq, value = first.partition("=")
    name = name.strip()
    if not eq or not name:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    attributes: dict[str, str] = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        if key:
            attributes[key] = val.strip()
    return name, value, attributes


def _expiry(attributes: dict[str, str], now: float) -> float | None:
    max_age = attributes.get("max-age")
    if max_age is not None:
        try:
            return now + int(max_age)
        except ValueError:
            pass
    expires = attributes.get("expires")
    if expires:
        try:
            return parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return None


class CookieJar(Mapping[str, str]):
    """The cookies of one session. Reads like a dict of name -> value."""

    __slots__ = ("_cookies", "_lines", "_next_expiry")

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], Cookie] = {}
        self._lines: dict[tuple[str, str, bool], bytes] = {}
        self._next_expiry = _NEVER  # earliest `expires` among stored cookies

    def _changed(self) -> None:
        self._lines.clear()
        expiries = [c.expires for c in self._cookies.values() if c.expires is not None]
        self._next_expiry = min(expiries) if expiries else _NEVER

    # --- filled from responses -------------------------------------------------

    def extract(self, set_cookies: list[bytes], host: str, request_path: str) -> dict[str, str]:
        """Store the cookies of one response; returns the name -> value pairs it set."""
        now = time.time()
        host = host.lower()
        found: dict[str, str] = {}
        for raw in set_cookies:
            parsed = parse_set_cookie(raw)
            if parsed is None:
                continue
            name, value, attrs = parsed
            domain = attrs.get("domain", "").lstrip(".").lower()
            if domain:
                if host != domain and (_is_ip(host) or not host.endswith("." + domain)):
                    continue  # a host may not set cookies for a domain it is not in
                host_only = False
            else:
                domain, host_only = host, True
            path = attrs.get("path", "")
            if not path.startswith("/"):
                path = _default_path(request_path)
            key = (domain, path, name)
            expires = _expiry(attrs, now)
            if expires is not None and expires <= now:
                self._cookies.pop(key, None)
                found[name] = value
                continue
            self._cookies[key] = Cookie(
                name, value, domain, host_only, path, expires, "secure" in attrs
            )
            found[name] = value
        if found:
            self._changed()
        return found

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Add a cookie by hand; without a domain it is sent to every host."""
        self._cookies[(domain.lower(), path, name)] = Cookie(
            name, value, domain.lower(), False, path
        )
        self._changed()

    def clear(self) -> None:
        self._cookies.clear()
        self._changed()

    def line(self, host: str, target: str, secure: bool) -> bytes:
        """The "Cookie: ...\r\n" header line for a request (b"" if none), cached.

        `target` is the request target; its query string is ignored for matching.
        """
        path = target.partition("?")[0]
        key = (host, path, secure)  # by path: /item?id=N shares one entry
        hit = self._lines.get(key)
        if hit is not None and (self._next_expiry is _NEVER or time.time() < self._next_expiry):
            return hit
        if hit is not None:
            self._purge_expired()
        value = self.header(host, path, secure)
        built = header_block((("Cookie", value),)) if value is not None else b""
        lines = self._lines
        if len(lines) >= _LINE_CACHE_SIZE:
            lines.clear()  # unbounded target variety: keep memory flat
        lines[key] = built
        return built

    def _purge_expired(self) -> None:
        now = time.time()
        expired = [k for k, c in self._cookies.items()
                   if c.expires is not None and c.expires <= now]
        for k in expired:
            del self._cookies[k]
        self._changed()

    # --- read for requests ---------------------------------------------------

    def header(
        self, host: str, path: str, secure: bool, extra: Mapping[str, str] | None = None
    ) -> str | None:
        """The Cookie header value for a request, or None when nothing applies.

        `extra` are per-request cookies (the `cookies=` argument); they win over
        stored cookies of the same name and are not stored.
        """
        if not self._cookies and not extra:
            return None
        pairs: dict[str, str] = {}
        if self._cookies:
            now = 0.0
            matching = []
            for cookie in self._cookies.values():
                if cookie.domain == "" or cookie.matches(host, path, secure):
                    if cookie.expires is not None:
                        now = now or time.time()
                        if cookie.expires <= now:
                            continue
                    matching.append(cookie)
            # RFC 6265 5.4: longer paths first.
            matching.sort(key=lambda c: -len(c.path))
            for cookie in matching:
                pairs.setdefault(cookie.name, cookie.value)
        if extra:
            pairs.update(extra)
        if not pairs:
            return None
        return "; ".join(f"{name}={value}" for name, value in pairs.items())

    def cookies(self) -> list[Cookie]:
        return list(self._cookies.values())

    # --- Mapping: name -> value (the last stored wins for duplicate names) ---

    def __getitem__(self, name: str) -> str:
        for cookie in reversed(list(self._cookies.values())):
            if cookie.name == name:
                return cookie.value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter({cookie.name: None for cookie in self._cookies.values()})

    def __len__(self) -> int:
        return len({cookie.name for cookie in self._cookies.values()})

    def __bool__(self) -> bool:
        return bool(self._cookies)

    def __repr__(self) -> str:
        return f"CookieJar({list(self._cookies.values())!r})"
