"""What scripts get back: `Response`, its case-insensitive `Headers`, and `Request`.

`Response` is built once per request on the hot path, so its constructor only
stores what the connection produced; everything derived (decoded headers,
text, cookies, elapsed, the Request record) is computed on first access.

Invariants: a failed request (nothing usable came back) has `status_code == 0`
and `error` set to the `RequestError`; a completed one has `error is None`
even for 4xx/5xx (those are statuses, not transport errors) and
`raise_for_status()` turns them into `HTTPStatusError`.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from ..errors import HTTPStatusError, RequestError
from .cookies import parse_set_cookie
from .request import DEFAULT_HEADERS
from .response import split_head

__all__ = ["Headers", "Request", "Response"]


class Headers(Mapping[str, str]):
    """Case-insensitive, read-mostly header mapping; repeated fields join with ", "."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: list[tuple[str, str]] | Mapping[str, str] | None = None) -> None:
        if items is None:
            items = []
        elif isinstance(items, Mapping):
            items = list(items.items())
        self._items = items
        index: dict[str, tuple[str, str]] = {}
        for name, value in items:
            key = name.lower()
            old = index.get(key)
            index[key] = (name, value) if old is None else (old[0], f"{old[1]}, {value}")
        self._index = index

    @classmethod
    def from_raw(cls, raw: list[tuple[bytes, bytes]]) -> Headers:
        return cls([(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw])

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._index.values())

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeated field (e.g. Set-Cookie), in order."""
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def raw(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class Request:
    """The request a Response answers (the last hop, after redirects)."""

    __slots__ = ("method", "url", "headers", "body")

    def __init__(
        self, method: str, url: str, headers: Headers | None = None, body: bytes | None = None
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers if headers is not None else Headers()
        self.body = body

    def __repr__(self) -> str:
        return f"<Request [{self.method} {self.url}]>"


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


class Response:
    """One HTTP response (or, with status 0, the failure that stood in for it)."""

    __slots__ = (
        "status_code",
        "_raw_head",
        "_headers",
        "content",
        "url",
        "history",
        "latency_us",
        "ttfb_us",
        "error",
        "_method",
        "_request_headers",
        "_request_body",
        "_set_cookies",
        "_encoding",
    )

    def __init__(
        self,
        status_code: int,
        raw_head: bytes,
        content: bytes,
        url: str,
        latency_us: int,
        ttfb_us: int,
        error: RequestError | None,
        method: str,
        set_cookies: list[bytes] | None = None,
        request_headers: list[tuple[str, str]] | None = None,
        request_body: bytes | None = None,
    ) -> None:
        self.status_code = status_code
        self._raw_head = raw_head  # status line + header lines, split on first use
        self._headers: Headers | None = None
        self.content = content
        self.url = url
        self.history: list[Response] = []
        self.latency_us = latency_us
        self.ttfb_us = ttfb_us
        self.error = error
        self._method = method
        self._set_cookies = set_cookies
        self._request_headers = request_headers
        self._request_body = request_body
        self._encoding: str | None = None

    # --- derived, on first use -------------------------------------------------

    @property
    def reason(self) -> str:
        return split_head(self._raw_head)[0].decode("latin-1") if self._raw_head else ""

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            fields = split_head(self._raw_head)[1] if self._raw_head else []
            headers = self._headers = Headers.from_raw(fields)
        return headers

    @property
    def ok(self) -> bool:
        """True for a completed response with a status below 400."""
        return self.error is None and 0 < self.status_code < 400

    def __bool__(self) -> bool:
        return self.ok

    @property
    def elapsed(self) -> timedelta:
        """Time from the first request byte written to the last body byte received."""
        return timedelta(microseconds=self.latency_us)

    @property
    def ttfb(self) -> timedelta:
        """Time from the first request byte written to the first response byte."""
        return timedelta(microseconds=self.ttfb_us)

    @property
    def encoding(self) -> str:
        """Charset used by `text`: the Content-Type charset, else UTF-8. Assignable."""
        if self._encoding is None:
            self._encoding = _charset(self.headers.get("content-type")) or "utf-8"
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:  # an unknown charset name from the server
            return self.content.decode("utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (raises json.JSONDecodeError, a ValueError)."""
        return jsonlib.loads(self.content, **kwargs)

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this response set (name -> value)."""
        found: dict[str, str] = {}
        for raw in self._set_cookies or ():
            parsed = parse_set_cookie(raw)
            if parsed is not None:
                found[parsed[0]] = parsed[1]
        return found

    @property
    def request(self) -> Request:
        # A plain request (the fast path) keeps no header list: it sent the defaults.
        sent = self._request_headers
        headers = Headers(sent if sent is not None else list(DEFAULT_HEADERS))
        return Request(self._method, self.url, headers, self._request_body)

    def raise_for_status(self) -> None:
        """Raise the transport error, or HTTPStatusError for a 4xx/5xx status."""
        if self.error is not None:
            raise self.error
        if self.status_code >= 400:
            raise HTTPStatusError(f"HTTP {self.status_code}")

    def __repr__(self) -> str:
        if self.error is not None:
            return f"<Response [0 {self.error}]>"
        return f"<Response [{self.status_code}]>"
