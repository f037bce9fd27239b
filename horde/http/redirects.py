"""Redirect following and the header list of a general request, for `HttpSession`.

Split from `session` (which keeps the hot path and the pipeline) so each
module has one job. `follow` walks a redirect chain from the first hop and
records it once, under the first method and name; `request_headers` builds
the headers of any request that is not on the fast path, including the
credential rules of a redirect to another origin.

Invariants: a redirect to another origin never carries credentials written
for the first one (basic auth, per-request cookies, or an Authorization,
Proxy-Authorization, Cookie or Host header from the script); the jar still
sends what it holds for the new host. 301/302 (except for HEAD) and 303 turn
the request into a body-less GET, as browsers and requests do. At most
`max_redirects` hops are followed; one more is a TooManyRedirects failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..errors import RequestError
from .hop import Hop, finish, header_items, location, response_of
from .models import Response
from .origin import Origin, resolve
from .request import (
    DEFAULT_HEADERS,
    HeadersArg,
    basic_auth,
    build_request,
    header_block,
    merge_headers,
)

if TYPE_CHECKING:
    from .session import HttpSession

__all__ = ["FIRST_ORIGIN_ONLY", "REDIRECTS", "follow", "request_headers"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
"""Statuses that are followed (when `allow_redirects`)."""
FIRST_ORIGIN_ONLY = frozenset({"authorization", "proxy-authorization", "cookie", "host"})
"""Headers a redirect to another origin never carries over from the script."""


def request_headers(
    session: HttpSession,
    origin: Origin,
    target: str,
    headers: HeadersArg | None,
    content_type: str | None,
    auth: tuple[str, str] | None,
    cookies: Mapping[str, str] | None,
    crossed: bool = False,
) -> list[tuple[str, str]]:
    """The header list of one request; `crossed`: a redirect left the first origin."""
    base: list[tuple[str, str]] = [("Host", origin.host_header), *DEFAULT_HEADERS]
    if content_type is not None:
        base.append(("Content-Type", content_type))
    if auth is not None:
        base.append(("Authorization", basic_auth(auth)))
    cookie = session.cookies.header(origin.host, target.partition("?")[0], origin.tls, cookies)
    if cookie is not None:
        base.append(("Cookie", cookie))
    if session.headers:
        base = merge_headers(base, session.headers)
    if headers is not None:
        base = merge_headers(base, headers)
    if crossed:
        # The script's headers were written for the first origin.
        base = [(k, v) for k, v in base if k.lower() not in FIRST_ORIGIN_ONLY]
        base.insert(0, ("Host", origin.host_header))
        if cookie is not None:
            base.append(("Cookie", cookie))
    return base


async def follow(
    session: HttpSession,
    method: str,
    name: str,
    origin: Origin,
    target: str,
    headers: HeadersArg | None,
    body: bytes | None,
    content_type: str | None,
    auth: tuple[str, str] | None,
    cookies: Mapping[str, str] | None,
    timeout: float,
    catch: bool,
    first: Hop,
) -> Response:
    """Follow redirects from `first`; one record for the whole chain."""
    history: list[Response] = []
    hop = first
    first_origin = origin
    crossed = False
    url = origin.url_prefix + target
    current_method = method
    sent_headers: list[tuple[str, str]] | None = None
    while hop.error is None and hop.status in REDIRECTS:
        where = location(hop.raw_head)
        if where is None:
            break
        if len(history) >= session.max_redirects:
            done = hop.t_done
            hop = Hop(None, RequestError(
                f"TooManyRedirects: more than {session.max_redirects} redirects"
            ), hop.t_start)
            hop.t_done = done
            break
        history.append(response_of(current_method, url, hop, None, None))
        next_url = urljoin(url, where)
        try:
            new_origin, target, _ = resolve(next_url, None, session._origins)
        except ValueError as exc:
            done = hop.t_done
            hop = Hop(None, RequestError(f"InvalidURL: {exc}"), hop.t_start)
            hop.t_done = done
            break
        if hop.status == 303 or (hop.status in (301, 302) and current_method != "HEAD"):
            if current_method != "HEAD":
                current_method = "GET"
            body = None
            content_type = None
            if headers is not None:
                headers = merge_headers(
                    [(k, v) for k, v in header_items(headers) if v is not None],
                    {"Content-Type": None},
                )
        if new_origin is not first_origin:
            # Never send credentials to another origin: no basic auth, no
            # Authorization/Cookie/Host header the script wrote for the
            # first one, no per-request cookies; the jar still sends the
            # cookies it holds for the new host.
            crossed = True
            auth = None
            cookies = None
        origin, url = new_origin, next_url
        sent_headers = request_headers(
            session, origin, target, headers, content_type, auth, cookies, crossed
        )
        hop = await session._exchange(
            origin, build_request(current_method, target, header_block(sent_headers), body),
            current_method == "HEAD", timeout,
        )
        if hop.set_cookies is not None:
            session.cookies.extract(hop.set_cookies, origin.host, target.partition("?")[0])
    return finish(session.record, method, name, url, first, hop, catch, sent_headers, body,
                  history, current_method)
