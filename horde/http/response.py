"""Sans-IO HTTP/1.1 response parser: bytes in, state out. No sockets here.

`ResponseParser` wraps one `httptools.HttpResponseParser` (llhttp) and is reused
for every response on one connection. The connection calls `start(head)` before
sending a request, then `feed(data)` with whatever arrives; `feed` returns True
once the response is complete. At end of stream it calls `feed_eof()`, which
either completes a close-delimited body or raises.

State table (one response):

    IDLE --start()--> WAITING --first byte--> HEAD --headers--> BODY --end--> DONE
                                                  \\--HEAD/204/304/1xx-skip--/

Invariants:

* after `feed` returned True (DONE) the fields below describe exactly one final
  (non-1xx) response and do not change until the next `start()`;
* `feed` raises only `ResponseParseError` (malformed bytes, bad gzip) and
  `feed_eof` raises only `ConnectionClosed` (stream ended too early); after
  either, `reusable` is False and the connection must be dropped;
* bytes arriving after DONE and before the next `start()` mean the peer broke
  framing: the parser remembers it and `reusable` turns False;
* llhttp cannot be told "this answers a HEAD request, skip the body", so for a
  HEAD the response ends at its header block and the llhttp parser is replaced
  by a fresh one at the next `start()` (HEAD is rare; the common path reuses it).
"""

from __future__ import annotations

import zlib

import httptools

from ..errors import ConnectionClosed, ResponseParseError

__all__ = ["ResponseParser", "decode_body"]

# Response header names the parser itself must look at, lowercased.
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
_CONTENT_ENCODING = b"content-encoding"
_CONNECTION = b"connection"
_SET_COOKIE = b"set-cookie"
# First bytes of those names: a cheap filter before lowercasing a name.
_FIRST = frozenset(b"cCtTsS")


def decode_body(body: bytes, encoding: bytes) -> bytes:
    """Undo a Content-Encoding (gzip, deflate, or a comma list of them).

    Unknown codings (br, zstd, identity) leave the bytes as they are, as
    requests does when it lacks the codec. Raises ResponseParseError on corrupt data.
    """
    codings = [c.strip() for c in encoding.lower().split(b",")]
    try:
        for coding in reversed(codings):
            if coding in (b"gzip", b"x-gzip"):
                # 16 + MAX_WBITS: expect a gzip header and trailer.
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif coding == b"deflate":
                # "deflate" is zlib-wrapped by the RFC, but some servers send raw deflate.
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        name = encoding.decode("latin-1")
        raise ResponseParseError(f"ResponseParseError: bad {name} body ({exc})") from None
    return body


class ResponseParser:
    """Parses the responses of one connection, one at a time (see module docstring)."""

    __slots__ = (
        "_parser",
        "_head",
        "_fresh_needed",
        "_info",
        "_framed",
        "_conn_close",
        "_extra",
        "started",
        "done",
        "status_code",
        "reason",
        "headers",
        "chunks",
        "body",
        "keep_alive",
        "encoding",
        "set_cookies",
        "version",
    )

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._fresh_needed = False
        self._head = False
        self._extra = False
        self.done = True  # nothing expected before the first start()
        self._reset_fields()

    def _reset_fields(self) -> None:
        self._info = False
        self._framed = False
        self._conn_close = False
        self.started = False
        self.status_code = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.body = b""
        self.keep_alive = False
        self.encoding: bytes | None = None
        self.set_cookies: list[bytes] | None = None
        self.version = "1.1"

    # --- driven by the connection ------------------------------------------

    def start(self, head: bool = False) -> None:
        """Expect the response to a new request (`head`: it was a HEAD request)."""
        if self._fresh_needed:
            self._parser = httptools.HttpResponseParser(self)
            self._fresh_needed = False
        self._head = head
        self.done = False
        self._reset_fields()

    @property
    def reusable(self) -> bool:
        """True when the connection may carry another request after this response."""
        return self.done and self.keep_alive and not self._extra

    def feed(self, data: bytes) -> bool:
        """Feed received bytes; True once the response is complete."""
        if self.done:
            # Bytes nobody asked for: framing is broken, never reuse this connection.
            self._extra = True
            return False
        self.started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fresh_needed = True
            if self.done:
                # The response completed and garbage followed it in the same
                # read: the response stands, the connection is not reusable.
                self._extra = True
            else:
                raise ResponseParseError(f"ResponseParseError: {exc}") from None
        if self.done:
            self._finish()
            return True
        return False

    def feed_eof(self) -> bool:
        """The peer ended the stream. True if that completed a close-delimited body.

        Raises ConnectionClosed when the response is incomplete.
        """
        if self.done:
            return False
        self._fresh_needed = True
        if not self.started:
            raise ConnectionClosed(
                "ConnectionClosed: server closed the connection without answering"
            )
        if self.status_code == 0 or self._info:
            raise ConnectionClosed("ConnectionClosed: connection closed inside the response head")
        if self._framed:
            raise ConnectionClosed("ConnectionClosed: body shorter than announced")
        # No Content-Length and not chunked: the body is everything until EOF.
        self.done = True
        self.keep_alive = False
        self._finish()
        return True

    def _finish(self) -> None:
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if self.encoding is not None and body:
            try:
                body = decode_body(body, self.encoding)
            except ResponseParseError:
                self.keep_alive = False
                raise
        self.body = body

    # --- llhttp callbacks ----------------------------------------------------

    def on_status(self, status: bytes) -> None:
        if self.done:
            self._extra = True
        else:
            self.reason += status  # may arrive in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.done:
            self._extra = True
            return
        self.headers.append((name, value))
        if name[0] in _FIRST:
            lower = name.lower()
            if lower == _CONTENT_LENGTH:
                self._framed = True
            elif lower == _TRANSFER_ENCODING:
                self._framed = True
            elif lower == _CONTENT_ENCODING:
                self.encoding = value
            elif lower == _SET_COOKIE:
                if self.set_cookies is None:
                    self.set_cookies = [value]
                else:
                    self.set_cookies.append(value)
            elif lower == _CONNECTION and b"close" in value.lower():
                self._conn_close = True

    def on_headers_complete(self) -> None:
        if self.done:
            return
        parser = self._parser
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # Interim response (100 Continue, 103 Early Hints): skip it entirely.
            self._info = True
            self.reason = b""
            self.headers = []
            self.encoding = None
            self.set_cookies = None
            self._conn_close = False
            self._framed = False
            return
        self.status_code = status
        self.version = parser.get_http_version()
        if self._head:
            # llhttp would wait for Content-Length bytes; a HEAD answer has none.
            self.keep_alive = not self._conn_close and self.version == "1.1"
            self.done = True
            self._fresh_needed = True
        elif status == 101:
            self.keep_alive = False
            self.done = True
            self._fresh_needed = True
        else:
            self.keep_alive = parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self.done:
            self._extra = True
        else:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.done:
            return
        if self._info:
            self._info = False
            return
        self.done = True
