"""Sans-IO URL handling: origins, request targets and default statistics names.

An `Origin` is (scheme, host, port) plus what every request to it shares: the
prebuilt Host/User-Agent/Accept header block and the URL prefix. A session
keeps one Origin per distinct origin it talks to and one connection pool per
Origin key.

`resolve(url, base)` turns what a script passes (relative like "/item?id=3"
or absolute like "https://other:8443/x") into (Origin, target, default name).
Relative URLs are appended to the base URL's path, as Locust does
("http://h/api" + "/users" -> target "/api/users"); the default name is the
path the script wrote, without query string. For an absolute URL to another
origin than the base, the default name keeps the origin ("https://other/x")
so that two hosts never share one statistics line.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .request import DEFAULT_HEADERS, header_block, requote

__all__ = ["Origin", "resolve", "split_absolute"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin:
    """One scheme://host:port and the bytes shared by every request to it."""

    __slots__ = ("scheme", "host", "port", "tls", "key", "url_prefix", "host_header", "fixed")

    def __init__(self, scheme: str, host: str, port: int) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.tls = scheme == "https"
        bracketed = f"[{host}]" if ":" in host else host
        netloc = bracketed if port == _DEFAULT_PORTS[scheme] else f"{bracketed}:{port}"
        self.key = f"{scheme}://{netloc}"
        self.url_prefix = self.key
        self.host_header = netloc
        self.fixed = header_block((("Host", netloc), *DEFAULT_HEADERS))

    def __repr__(self) -> str:
        return f"Origin({self.key!r})"


def split_absolute(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, target, path) of an absolute http(s) URL; ValueError if invalid."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} in {url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in URL {url!r}")
    port = parts.port or _DEFAULT_PORTS[scheme]  # .port raises ValueError when malformed
    path = parts.path or "/"
    target = f"{path}?{parts.query}" if parts.query else path
    return scheme, host, port, requote(target), path


def resolve(
    url: str, base: tuple[Origin, str] | None, origins: dict[str, Origin]
) -> tuple[Origin, str, str]:
    """(origin, request target, default name) for `url`.

    `base` is (base origin, base path prefix without trailing slash) or None;
    `origins` is the session's cache of Origin objects by key, extended here.
    Raises ValueError for a URL that cannot be requested.
    """
    if url.startswith(("http://", "https://", "HTTP://", "HTTPS://")) or "://" in url[:10]:
        scheme, host, port, target, path = split_absolute(url)
        probe = Origin(scheme, host, port)
        origin = origins.setdefault(probe.key, probe)
        if base is not None and origin is base[0]:
            return origin, target, path
        return origin, target, f"{origin.key}{path}"
    if base is None:
        raise ValueError(f"relative URL {url!r} but the user has no host")
    origin, prefix = base
    if not url.startswith("/"):
        url = "/" + url
    url = url.partition("#")[0]
    name = url.partition("?")[0]
    return origin, requote(prefix + url), name
