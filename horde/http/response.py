"""Sans-IO HTTP/1.1 response parser: bytes in, state out. No sockets here.

`ResponseParser` wraps one `httptools.HttpResponseParser` (llhttp) and is reused
for every response on one connection. The connection calls `start(head)` before
sending a request, then `feed(data)` with whatever arrives; `feed` returns True
once the response is complete. At end of stream it calls `feed_eof()`, which
either completes a close-delimited body or raises.

State table (one response):

    IDLE --start()--> WAITING --first byte--> HEAD --headers--> BODY --end--> DONE
                                                  \\--HEAD/204/304/101: no body--/
    (a 1xx interim response goes back from HEAD to HEAD)

Speed: llhttp validates the head, but Python callbacks cost ~0.25 µs each, so
only four are registered (message begin, headers complete, body, message complete). The head
bytes are kept as they arrived (`raw_head`) and split into header fields only
when someone asks (`headers`), which a load test rarely does. The two fields the
client itself needs on every response (Content-Encoding, Set-Cookie) are found
with one lowercase copy and two substring tests.

Invariants:

* after `feed` returned True (DONE) the fields describe exactly one final
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

__all__ = ["ResponseParser", "decode_body", "split_head", "header_values"]


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


def split_head(raw_head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(reason phrase, header fields) of a head that llhttp already validated."""
    lines = raw_head.split(b"\r\n")
    reason = lines[0].split(b" ", 2)[2].strip() if lines[0].count(b" ") >= 2 else b""
    fields = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields.append((name.strip(), value.strip()))
    return reason, fields


def header_values(raw_head: bytes, lower_name: bytes) -> list[bytes]:
    """Every value of one header field (name given in lowercase) in a raw head."""
    return [v for n, v in split_head(raw_head)[1] if n.lower() == lower_name]


class ResponseParser:
    """Parses the responses of one connection, one at a time (see module docstring)."""

    __slots__ = (
        "_parser",
        "_head",
        "_fresh_needed",
        "_extra",
        "_parts",
        "_in_body",
        "started",
        "done",
        "status_code",
        "raw_head",
        "chunks",
        "body",
        "keep_alive",
        "encoding",
        "set_cookies",
    )

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._fresh_needed = False
        self._head = False
        self._extra = False
        self.done = True  # nothing expected before the first start()
        self._reset_fields()

    def _reset_fields(self) -> None:
        self._parts: list[bytes] = []
        self._in_body = False
        self.started = False
        self.status_code = 0
        self.raw_head = b""
        self.chunks: list[bytes] = []
        self.body = b""
        self.keep_alive = False
        self.encoding: bytes | None = None
        self.set_cookies: list[bytes] | None = None

    # --- derived on demand --------------------------------------------------------

    @property
    def reason(self) -> bytes:
        return split_head(self.raw_head)[0]

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return split_head(self.raw_head)[1]

    @property
    def reusable(self) -> bool:
        """True when the connection may carry another request after this response."""
        return self.done and self.keep_alive and not self._extra

    # --- driven by the connection ------------------------------------------

    def start(self, head: bool = False) -> None:
        """Expect the response to a new request (`head`: it was a HEAD request)."""
        if self._fresh_needed:
            self._parser = httptools.HttpResponseParser(self)
            self._fresh_needed = False
        self._head = head
        self.done = False
        self._reset_fields()

    def feed(self, data: bytes) -> bool:
        """Feed received bytes; True once the response is complete."""
        if self.done:
            # Bytes nobody asked for: framing is broken, never reuse this connection.
            self._extra = True
            return False
        self.started = True
        if not self._in_body:
            self._parts.append(data)  # the head is cut out of these at headers-complete
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
        if not self._in_body:
            raise ConnectionClosed("ConnectionClosed: connection closed inside the response head")
        lower = self.raw_head.lower()
        if b"\ncontent-length:" in lower or b"\ntransfer-encoding:" in lower:
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

    # --- llhttp callbacks (only these four are registered, see docstring) ---------

    def on_message_begin(self) -> None:
        if self.done:
            self._extra = True  # a second response in the same read: framing is broken

    def on_headers_complete(self) -> None:
        if self.done:
            self._extra = True
            return
        parts = self._parts
        buffered = parts[0] if len(parts) == 1 else b"".join(parts)
        end = buffered.find(b"\r\n\r\n")
        raw = buffered[:end]
        parser = self._parser
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # Interim response (100 Continue, 103 Early Hints): skip it; the
            # final response's head starts right after it.
            self._parts = [buffered[end + 4 :]]
            return
        self._parts = []
        self._in_body = True
        self.raw_head = raw
        self.status_code = status
        lower = raw.lower()
        if b"\ncontent-encoding:" in lower:
            values = header_values(raw, b"content-encoding")
            self.encoding = b", ".join(values) if values else None
        if b"\nset-cookie:" in lower:
            self.set_cookies = header_values(raw, b"set-cookie")
        if self._head:
            # llhttp would wait for Content-Length bytes; a HEAD answer has none.
            closing = any(b"close" in v.lower() for v in header_values(raw, b"connection"))
            self.keep_alive = not closing and parser.get_http_version() == "1.1"
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
        if self.done or not self._in_body:
            return  # after HEAD/101 (already done), or the end of a 1xx interim response
        self.done = True
