"""Sans-IO request building: bytes out for method, target, headers and bodies."""

from __future__ import annotations

import io
import json

import pytest

from horde.http.origin import Origin, resolve
from horde.http.request import (
    add_params,
    basic_auth,
    build_request,
    encode_body,
    header_block,
    merge_headers,
)


def test_origin_header_block_and_default_port() -> None:
    origin = Origin("http", "example.test", 80)
    assert origin.key == "http://example.test"
    assert origin.fixed.startswith(b"Host: example.test\r\nUser-Agent: horde/")
    assert Origin("https", "::1", 8443).host_header == "[::1]:8443"


def test_get_request_bytes() -> None:
    origin = Origin("http", "h", 8080)
    data = build_request("GET", "/a?b=1", origin.fixed, None)
    assert data.startswith(b"GET /a?b=1 HTTP/1.1\r\nHost: h:8080\r\n")
    assert data.endswith(b"Accept: */*\r\n\r\n")
    assert b"Content-Length" not in data


def test_body_gets_content_length_and_post_without_body_gets_zero() -> None:
    data = build_request("POST", "/", b"Host: h\r\n", b"hello")
    assert data == b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    assert build_request("POST", "/", b"", None).endswith(b"Content-Length: 0\r\n\r\n")


def test_merge_headers_overrides_case_insensitively_and_removes() -> None:
    merged = merge_headers(
        [("User-Agent", "a"), ("Accept", "*/*")], {"user-agent": "b", "Accept": None}
    )
    assert merged == [("user-agent", "b")]


def test_header_injection_refused() -> None:
    with pytest.raises(ValueError):
        header_block([("X", "a\r\nEvil: 1")])


def test_params_encoding() -> None:
    assert add_params("/p", {"a": 1, "b": [2, 3], "c": None}) == "/p?a=1&b=2&b=3"
    assert add_params("/p?x=0", [("y", "a b")]) == "/p?x=0&y=a+b"
    assert add_params("/p", "raw=1") == "/p?raw=1"


def test_form_json_and_raw_bodies() -> None:
    assert encode_body(data={"a": "1", "b": "x y"}) == (
        b"a=1&b=x+y",
        "application/x-www-form-urlencoded",
    )
    body, ctype = encode_body(json={"k": [1, 2]})
    assert json.loads(body or b"") == {"k": [1, 2]} and ctype == "application/json"
    assert encode_body(data="é") == ("é".encode(), None)
    assert encode_body(data=b"\x00") == (b"\x00", None)
    assert encode_body(data=io.BytesIO(b"stream")) == (b"stream", None)


def test_multipart_layout() -> None:
    body, ctype = encode_body(
        data={"field": "v"}, files={"up": ("a.txt", b"content", "text/plain"), "raw": b"xyz"}
    )
    assert body is not None and ctype is not None
    boundary = ctype.split("boundary=")[1].encode()
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"--" + boundary + b"--\r\n")
    assert b'Content-Disposition: form-data; name="field"\r\n\r\nv\r\n' in body
    assert b'name="up"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\ncontent\r\n' in body
    assert b'name="raw"\r\n\r\nxyz\r\n' in body


def test_basic_auth() -> None:
    assert basic_auth(("alice", "wonderland")) == "Basic YWxpY2U6d29uZGVybGFuZA=="


def test_resolve_relative_absolute_and_names() -> None:
    origins: dict[str, Origin] = {}
    base_origin, _, _ = resolve("http://h:81/api", None, origins)
    base = (base_origin, "/api")
    origin, target, name = resolve("/items?id=3#frag", base, origins)
    assert (origin, target, name) == (base_origin, "/api/items?id=3", "/items")
    origin, target, name = resolve("http://h:81/x?q", base, origins)
    assert origin is base_origin and (target, name) == ("/x?q", "/x")
    other, target, name = resolve("https://other.test/y?z=1", base, origins)
    assert other.key == "https://other.test" and name == "https://other.test/y"
    assert resolve("/a b", base, origins)[1] == "/api/a%20b"
    with pytest.raises(ValueError):
        resolve("/x", None, origins)
    with pytest.raises(ValueError):
        resolve("ftp://h/x", base, origins)


@pytest.mark.parametrize("params, expected", [
    ("q=日本", "/s?q=%E6%97%A5%E6%9C%AC"),
    (b"q=\xc3\xa9", "/s?q=%C3%A9"),
    ({"q": "日本 x"}, "/s?q=%E6%97%A5%E6%9C%AC+x"),
    ("a=%20b", "/s?a=%20b"),
])
def test_params_with_non_ascii_text_are_percent_encoded(params: object, expected: str) -> None:
    from horde.http.request import add_params

    assert add_params("/s", params) == expected
