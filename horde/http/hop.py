"""One request/response exchange (`Hop`) and what becomes of it: a Response and one record.

Pure functions over the outcome of the connection layer, split from
`session` to keep each module to one job: `Hop` copies what a finished
`Connection` produced (so the connection can go back to the pool at once),
`response_of` builds the script's Response, `finish` builds it and records
the request exactly once (or arms a catch_response context manager to record
it when its block ends).

Invariant: `finish` calls `record` at most once, and not at all for
catch_response (the context manager does, at the end of its block).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import RequestError
from ..stats import RecordFn
from .catch import ResponseContextManager
from .connection import Connection
from .models import Response
from .request import HeadersArg
from .response import header_values

__all__ = ["Hop", "finish", "finish_invalid", "header_items", "location", "response_of"]


class Hop:
    """The outcome of one request/response exchange (one redirect hop)."""

    __slots__ = ("status", "raw_head", "body", "set_cookies", "t_start", "t_first", "t_done",
                 "error")

    def __init__(self, conn: Connection | None, error: RequestError | None, t0: int = 0) -> None:
        if conn is None:
            self.status = 0
            self.raw_head = b""
            self.body = b""
            self.set_cookies: list[bytes] | None = None
            self.t_start = self.t_done = t0
            self.t_first = 0
        else:
            parser = conn.parser
            self.t_start = conn.t_start
            self.t_first = conn.t_first
            self.t_done = conn.t_done
            if error is None:
                self.status = parser.status_code
                self.raw_head = parser.raw_head
                self.body = parser.body
                self.set_cookies = parser.set_cookies
            else:
                self.status = 0
                self.raw_head = b""
                self.body = b""
                self.set_cookies = None
        self.error = error


def response_of(
    method: str,
    url: str,
    hop: Hop,
    sent_headers: list[tuple[str, str]] | None,
    body: bytes | None,
    cls: type[Response] = Response,
) -> Response:
    return cls(
        hop.status, hop.raw_head, hop.body, url,
        (hop.t_done - hop.t_start) // 1000,
        (hop.t_first - hop.t_start) // 1000 if hop.t_first else 0,
        hop.error, method, hop.set_cookies, sent_headers, body,
    )

def finish(
    record: RecordFn,
    method: str,
    name: str,
    url: str,
    first: Hop,
    last: Hop,
    catch: bool,
    sent_headers: list[tuple[str, str]] | None,
    body: bytes | None,
    history: list[Response],
    last_method: str | None = None,
) -> Response:
    latency_us = (last.t_done - first.t_start) // 1000
    ttfb_us = (first.t_first - first.t_start) // 1000 if first.t_first else 0
    size = len(last.body)
    if catch:
        caught = response_of(last_method or method, url, last, sent_headers, body,
                                ResponseContextManager)
        assert isinstance(caught, ResponseContextManager)
        caught.history = history
        caught._arm(record, method, name, latency_us, size, ttfb_us)
        return caught
    response = response_of(last_method or method, url, last, sent_headers, body)
    if history:
        response.history = history
    error = last.error
    status = last.status
    record(
        method, name, latency_us, size,
        None if error is None and status < 400 else
        (str(error) if error is not None else f"HTTP {status}"),
        ttfb_us,
    )
    return response



def finish_invalid(
    record: RecordFn, method: str, url: str, name: str | None, exc: ValueError, catch: bool
) -> Response:
    """Record a URL that cannot be requested; its query stays out of the name,
    so generated URLs do not make a statistics line each."""
    hop = Hop(None, RequestError(f"InvalidURL: {exc}"))
    default_name = url.partition("?")[0].partition("#")[0]
    return finish(record, method, name or default_name, url, hop, hop, catch, None, None, [])


def header_items(headers: HeadersArg) -> list[tuple[str, str | None]]:
    return list(headers.items() if isinstance(headers, Mapping) else headers)


def location(raw_head: bytes) -> str | None:
    values = header_values(raw_head, b"location")
    return values[0].decode("latin-1") if values else None
