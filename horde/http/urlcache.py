"""Resolved URLs, shared by every session of a process that has the same base URL.

`HttpSession` turns each URL a script passes into (Origin, request target,
statistics name) once and then finds it in a dict (the hot path is one
`dict.get`). That cache used to belong to each session, i.e. to each user,
with up to 256 entries: 5,000 users requesting unique query strings grew a
process from 141 to 283 MB in 8 minutes (issue 8). What a URL resolves to
depends only on the base URL, so the cache belongs to the base URL and is
bounded per process: `for_base(base_url)` hands every session with that base
the same `UrlCache`, and the sessions also share its Origin objects (one
prebuilt header block per origin per process instead of one per user).

Invariants:

* an entry is a pure function of (base URL, URL), so sharing it between
  sessions changes no result;
* `urls` holds at most `MAX_URLS` entries and `origins` at most `MAX_ORIGINS`
  (each emptied when full: scripts with unbounded URL variety stay flat);
  the base URL's own Origin is always in `origins`, so an absolute URL to the
  base origin resolves to that very object (its statistics name stays the
  bare path);
* at most `MAX_BASES` caches are kept (`functools.lru_cache`); a session keeps
  a reference to its own, so an evicted cache only stops being shared.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from .origin import Origin, resolve

__all__ = ["MAX_BASES", "MAX_ORIGINS", "MAX_URLS", "UrlCache", "for_base"]

MAX_URLS = 4096
MAX_ORIGINS = 256
MAX_BASES = 64

Resolved = tuple[Origin, str, str]


class UrlCache:
    """What the URLs of one base URL resolve to; see the module docstring."""

    __slots__ = ("base", "origins", "urls")

    def __init__(self, base_url: str | None) -> None:
        self.origins: dict[str, Origin] = {}
        self.urls: dict[str, Resolved] = {}
        self.base: tuple[Origin, str] | None = None
        if base_url:
            origin, _, _ = resolve(base_url, None, self.origins)  # ValueError if invalid
            self.base = (origin, urlsplit(base_url).path.rstrip("/"))

    def resolve(self, url: str) -> Resolved:
        """(origin, target, default name) of `url`; ValueError if it cannot be requested."""
        hit = self.urls.get(url)
        if hit is None:
            if len(self.origins) >= MAX_ORIGINS:
                self.forget_origins()
            hit = resolve(url, self.base, self.origins)
            if len(self.urls) >= MAX_URLS:
                self.urls.clear()
            self.urls[url] = hit
        return hit

    def forget_origins(self) -> None:
        """Empty `origins` but for the base URL's own Origin."""
        self.origins.clear()
        if self.base is not None:
            self.origins[self.base[0].key] = self.base[0]


@functools.lru_cache(maxsize=MAX_BASES)
def for_base(base_url: str | None) -> UrlCache:
    """The process's `UrlCache` for `base_url` (ValueError, uncached, if it is invalid)."""
    return UrlCache(base_url)
