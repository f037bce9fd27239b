"""Sans-IO request serialisation: method, target, headers and body to bytes.

Nothing here touches a socket. The common request (a GET with no extra
headers) costs one bytes join: the per-origin header block (Host, User-Agent,
Accept, Accept-Encoding) is built once by `Origin` and passed in as `fixed`.
Requests with their own headers go through `merge_headers`, where a header
given by the script replaces a default of the same name (case-insensitively)
and a value of None removes it, as in requests.

Invariants: every header line ends in CRLF; names and values are checked for
CR/LF so a script cannot split a request by accident; Content-Length is always
computed here, never taken from the script.
"""

from __future__ import annotations

import base64
import json as jsonlib
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from .._version import __version__

__all__ = [
    "USER_AGENT",
    "DEFAULT_HEADERS",
    "HeadersArg",
    "header_block",
    "merge_headers",
    "build_request",
    "encode_body",
    "encode_multipart",
    "add_params",
    "basic_auth",
    "requote",
]

USER_AGENT = f"horde/{__version__}"
DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("User-Agent", USER_AGENT),
    ("Accept-Encoding", "gzip, deflate"),
    ("Accept", "*/*"),
)
"""Sent with every request after Host, unless the script overrides them."""

HeadersArg = Mapping[str, str | None] | Iterable[tuple[str, str | None]]

# Methods that carry a body by convention get "Content-Length: 0" when empty,
# so servers that require a length (411) accept them, as requests does.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# Characters left as they are when a target needs quoting: the reserved set
# plus "%" so already-escaped targets survive (requests' requote_uri does the same).
_SAFE = "/%:@!$&'()*+,;=?~#[]-._"


def _check(text: str) -> str:
    if "\r" in text or "\n" in text:
        raise ValueError(f"invalid header text {text!r}: contains CR or LF")
    return text


def header_block(headers: Iterable[tuple[str, str]]) -> bytes:
    """Header lines as bytes, each ending in CRLF (no final empty line)."""
    return b"".join(
        f"{_check(name)}: {_check(value)}\r\n".encode("latin-1") for name, value in headers
    )


def merge_headers(
    base: Iterable[tuple[str, str]], extra: HeadersArg | None
) -> list[tuple[str, str]]:
    """`base` with `extra` applied: same name (any case) replaces, value None removes."""
    merged: dict[str, tuple[str, str]] = {name.lower(): (name, value) for name, value in base}
    if extra is not None:
        items = extra.items() if isinstance(extra, Mapping) else extra
        for name, value in items:
            key = name.lower()
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = (name, str(value))
    return list(merged.values())


def build_request(method: str, target: str, fixed: bytes, body: bytes | None) -> bytes:
    """The full request: request line, `fixed` header lines, Content-Length, body."""
    if body:
        return b"".join(
            (
                f"{method} {target} HTTP/1.1\r\n".encode("latin-1"),
                fixed,
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
    line = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
    if body is not None or method in _BODY_METHODS:
        return line + fixed + b"Content-Length: 0\r\n\r\n"
    return line + fixed + b"\r\n"


def requote(target: str) -> str:
    """Percent-encode what may not appear raw in a request target (spaces, non-ASCII)."""
    if target.isascii() and " " not in target and '"' not in target:
        return target
    return quote(target, safe=_SAFE)


def add_params(target: str, params: Any) -> str:
    """Append query parameters (mapping, pairs, str or bytes) to a target."""
    if params is None:
        return target
    if isinstance(params, bytes):
        # requests sends bytes as given: UTF-8 text, percent-encoded below.
        query = params.decode("utf-8", "replace")
    elif isinstance(params, str):
        query = params
    else:
        query = urlencode(_pairs(params), doseq=True)
    if not query:
        return target
    target = target.partition("#")[0]  # fragments are never sent
    if "?" not in target:
        return requote(f"{target}?{query}")
    # "/q?" (an empty query) takes the parameters as they are, without "&".
    joined = f"{target}{query}" if target.endswith(("?", "&")) else f"{target}&{query}"
    return requote(joined)  # a str query may hold spaces or non-ASCII text


def _pairs(fields: Any) -> list[tuple[Any, Any]]:
    if isinstance(fields, Mapping):
        # None values are dropped, as requests does.
        return [(k, v) for k, v in fields.items() if v is not None]
    return [(k, v) for k, v in fields if v is not None]


def basic_auth(auth: tuple[str, str] | list[str]) -> str:
    """The Authorization value for HTTP basic authentication."""
    user, password = auth
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def encode_body(
    data: Any = None, json: Any = None, files: Any = None
) -> tuple[bytes | None, str | None]:
    """(body, content type) for the given data/json/files arguments, as requests builds them.

    `files` wins (multipart, with `data` as extra fields); then `data`; `json` is
    used only when `data` is None. Content type None means "leave it to the script".
    """
    if files:
        return encode_multipart(data or {}, files)
    if data is not None:
        if isinstance(data, bytes):
            return data, None
        if isinstance(data, bytearray | memoryview):
            return bytes(data), None
        if isinstance(data, str):
            return data.encode("utf-8"), None
        if hasattr(data, "read"):
            raw = data.read()
            if isinstance(raw, str):
                return raw.encode("utf-8"), None
            if isinstance(raw, bytes | bytearray | memoryview):
                return bytes(raw), None
            raise TypeError(f"data=: read() of the file object returned {type(raw).__name__}, "
                            "not bytes or str")
        return urlencode(_form_pairs(data), doseq=True).encode("ascii"), (
            "application/x-www-form-urlencoded"
        )
    if json is not None:
        try:
            text = jsonlib.dumps(json)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"json=: {exc}") from None
        return text.encode("utf-8"), "application/json"
    return None, None


def _form_pairs(data: Any) -> list[tuple[Any, Any]]:
    """Form fields of a dict or a list/tuple of (key, value) pairs; TypeError for the rest.

    Anything else (a generator, a list of bytes chunks, a number) is refused
    rather than guessed at: urlencode would silently turn a list of bytes into
    nonsense fields, and a streamed body is not supported (bodies are sent in
    one write, with a Content-Length).
    """
    if isinstance(data, Mapping):
        return _pairs(data)
    if isinstance(data, list | tuple) and all(
        isinstance(item, tuple | list) and len(item) == 2 for item in data
    ):
        return _pairs(data)
    raise TypeError(
        "data= must be bytes, str, a dict, a list of (key, value) pairs or a file object, "
        f"not {type(data).__name__}"
    )


def _quote_param(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _file_part(spec: Any) -> tuple[str | None, bytes, str | None, HeadersArg | None]:
    """Normalise one `files` value: object, or (filename, content[, type[, headers]])."""
    filename: str | None
    content_type: str | None = None
    headers: HeadersArg | None = None
    if isinstance(spec, tuple | list):
        filename, content = spec[0], spec[1]
        if len(spec) > 2:
            content_type = spec[2]
        if len(spec) > 3:
            headers = spec[3]
    else:
        content = spec
        name = getattr(spec, "name", None)
        filename = os.path.basename(name) if isinstance(name, str) else None
        if filename is None and not isinstance(spec, bytes | str):
            filename = "file"
    if hasattr(content, "read"):
        content = content.read()
    if isinstance(content, str):
        content = content.encode("utf-8")
    return filename, bytes(content), content_type, headers


def encode_multipart(data: Any, files: Any) -> tuple[bytes, str]:
    """A multipart/form-data body of form fields then files, and its content type."""
    boundary = os.urandom(16).hex()
    delimiter = f"--{boundary}\r\n".encode("ascii")
    parts: list[bytes] = []
    for name, value in _pairs(data):
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            raw = item if isinstance(item, bytes) else str(item).encode("utf-8")
            parts += [
                delimiter,
                f'Content-Disposition: form-data; name="{_quote_param(str(name))}"\r\n\r\n'
                .encode(),
                raw,
                b"\r\n",
            ]
    items = files.items() if isinstance(files, Mapping) else files
    for name, spec in items:
        filename, content, content_type, headers = _file_part(spec)
        disposition = f'form-data; name="{_quote_param(str(name))}"'
        if filename is not None:
            disposition += f'; filename="{_quote_param(filename)}"'
        lines = [("Content-Disposition", disposition)]
        if content_type:
            lines.append(("Content-Type", content_type))
        lines = merge_headers(lines, headers)
        # Part headers are UTF-8 (RFC 7578), unlike request headers.
        head = "".join(f"{_check(k)}: {_check(v)}\r\n" for k, v in lines).encode("utf-8")
        parts += [delimiter, head, b"\r\n", content, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
