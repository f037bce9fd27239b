"""The UI's static files, read from the installed package (importlib.resources).

The files live in horde/web/static/ and ship as package data, so they work
from a wheel, a zip or a checkout alike. `Assets` reads each file once, on
first use, and serves it from memory with a content type and a validator
(ETag), so a reload costs nothing.

Invariants: only names under static/ made of safe path segments are served
(no "..", no absolute paths, no hidden files); anything else is a 404.
The cache belongs to the `Assets` instance (one per app), not to the module.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from importlib import resources
from importlib.abc import Traversable

from aiohttp import web

__all__ = ["Assets", "read_asset", "static_root"]

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


def static_root() -> Traversable:
    """horde/web/static as a resource tree (without importing horde.web's code)."""
    return resources.files("horde").joinpath("web", "static")


def _resolve(name: str) -> Traversable | None:
    parts = name.split("/")
    if not all(_SEGMENT.match(p) for p in parts):
        return None
    node = static_root().joinpath(*parts)
    return node if node.is_file() else None


def read_asset(name: str) -> bytes:
    """The bytes of static/NAME; FileNotFoundError when there is no such asset."""
    node = _resolve(name)
    if node is None:
        raise FileNotFoundError(f"no web asset {name!r}")
    return node.read_bytes()


class Assets:
    """Serves static/ files at `/static/{name}` and index.html at `/`."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[bytes, str, str]] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_get("/static/{name:.+}", self.static)

    def _load(self, name: str) -> tuple[bytes, str, str] | None:
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        try:
            body = read_asset(name)
        except (FileNotFoundError, OSError):
            return None
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        ctype = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        etag = hashlib.sha256(body).hexdigest()[:20]
        self._cache[name] = (body, ctype, etag)
        return self._cache[name]

    def _respond(self, request: web.Request, name: str) -> web.Response:
        found = self._load(name)
        if found is None:
            raise web.HTTPNotFound(text=f"no such file: {name}")
        body, ctype, etag = found
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if request.headers.get("If-None-Match") == f'"{etag}"':
            return web.Response(status=304, headers=headers)
        charset = "utf-8" if ctype.startswith("text/") else None
        return web.Response(body=body, content_type=ctype, charset=charset, headers=headers)

    async def index(self, request: web.Request) -> web.Response:
        return self._respond(request, "index.html")

    async def static(self, request: web.Request) -> web.Response:
        return self._respond(request, request.match_info["name"])
