"""Sans-IO response parsing: bytes in, state out, for every framing case."""

from __future__ import annotations

import gzip
import zlib

import pytest

from horde.errors import ConnectionClosed, ResponseParseError
from horde.http.response import ResponseParser, decode_body

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: t\r\n\r\n"
)


def parse(data: bytes, head: bool = False) -> ResponseParser:
    parser = ResponseParser()
    parser.start(head)
    assert parser.feed(data) is True
    return parser


def test_content_length_response() -> None:
    p = parse(b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-Y: z\r\n\r\nabc")
    assert (p.status_code, p.reason, p.body) == (201, b"Created", b"abc")
    assert p.headers == [(b"Content-Length", b"3"), (b"X-Y", b"z")]
    assert p.keep_alive and p.reusable


def test_incomplete_until_last_byte() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    parser = ResponseParser()
    parser.start()
    for byte in data[:-1]:
        assert parser.feed(bytes([byte])) is False
    assert parser.feed(data[-1:]) is True
    assert parser.body == b"abc"


@pytest.mark.parametrize("split", range(1, len(CHUNKED)))
def test_chunked_split_at_every_boundary(split: int) -> None:
    parser = ResponseParser()
    parser.start()
    first = parser.feed(CHUNKED[:split])
    assert first is False
    assert parser.feed(CHUNKED[split:]) is True
    assert parser.body == b"hello world!"
    assert parser.status_code == 200 and parser.reusable


def test_chunked_byte_by_byte() -> None:
    parser = ResponseParser()
    parser.start()
    results = [parser.feed(bytes([b])) for b in CHUNKED]
    assert results[-1] is True and not any(results[:-1])
    assert parser.body == b"hello world!"


def test_connection_close_header_not_reusable() -> None:
    p = parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
    assert not p.keep_alive and not p.reusable


def test_http10_not_reusable() -> None:
    p = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx")
    assert not p.reusable


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status: int) -> None:
    p = parse(b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status)
    assert p.status_code == status and p.body == b"" and p.reusable


def test_head_response_ends_at_headers_and_parser_recovers() -> None:
    parser = ResponseParser()
    parser.start(head=True)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n") is True
    assert parser.body == b"" and parser.reusable
    parser.start()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") is True
    assert parser.body == b"ok"


def test_keep_alive_parser_reused_for_many_responses() -> None:
    parser = ResponseParser()
    for i in range(5):
        parser.start()
        body = b"%d" % i
        assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + body)
        assert parser.body == body


def test_close_delimited_body_completes_at_eof() -> None:
    parser = ResponseParser()
    parser.start()
    assert parser.feed(b"HTTP/1.1 200 OK\r\n\r\npart one, ") is False
    assert parser.feed(b"part two") is False
    assert parser.feed_eof() is True
    assert parser.body == b"part one, part two" and not parser.reusable


def test_short_body_at_eof_is_an_error() -> None:
    parser = ResponseParser()
    parser.start()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(ConnectionClosed, match="body shorter"):
        parser.feed_eof()


def test_eof_inside_chunked_body_is_an_error() -> None:
    parser = ResponseParser()
    parser.start()
    parser.feed(CHUNKED[:-10])
    with pytest.raises(ConnectionClosed):
        parser.feed_eof()


def test_eof_before_any_byte_and_inside_head() -> None:
    parser = ResponseParser()
    parser.start()
    with pytest.raises(ConnectionClosed, match="without answering"):
        parser.feed_eof()
    parser.start()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Le")
    with pytest.raises(ConnectionClosed, match="head"):
        parser.feed_eof()


@pytest.mark.parametrize(
    "data",
    [
        b"HTXP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    ],
)
def test_malformed_input_raises_parse_error(data: bytes) -> None:
    parser = ResponseParser()
    parser.start()
    with pytest.raises(ResponseParseError) as info:
        parser.feed(data)
    assert str(info.value).startswith("ResponseParseError: ")
    assert not parser.reusable


def test_gzip_and_deflate_decoded() -> None:
    body = b"compress me " * 50
    for encoding, data in [
        (b"gzip", gzip.compress(body)),
        (b"deflate", zlib.compress(body)),
        (b"deflate", zlib.compress(body)[2:-4]),  # raw deflate, as some servers send
    ]:
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n" % (
            encoding,
            len(data),
        )
        p = parse(head + data)
        assert p.body == body


def test_bad_gzip_is_parse_error() -> None:
    parser = ResponseParser()
    parser.start()
    with pytest.raises(ResponseParseError, match="bad gzip"):
        parser.feed(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc")


def test_unknown_encoding_left_alone() -> None:
    assert decode_body(b"raw", b"br") == b"raw"


def test_interim_100_continue_is_skipped() -> None:
    p = parse(
        b"HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    assert p.status_code == 200 and p.body == b"ok" and p.headers == [(b"Content-Length", b"2")]


def test_set_cookie_headers_collected() -> None:
    p = parse(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2; Path=/\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert p.set_cookies == [b"a=1", b"b=2; Path=/"]


def test_bytes_after_complete_response_spoil_reuse() -> None:
    parser = ResponseParser()
    parser.start()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK") is True
    assert parser.body == b"ok" and not parser.reusable


def test_unsolicited_bytes_while_idle_spoil_reuse() -> None:
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert parser.feed(b"HTTP/1.1 200 OK\r\n") is False
    assert not parser.reusable
