"""horde's HTTP/1.1 client: asyncio.Protocol + httptools, sans-IO request/response core.

Layers, one per module (imports point down):

* `request`, `response`, `origin`, `cookies` — sans-IO: bytes in, bytes/state out;
* `connection` — one asyncio.Protocol connection; `tls` — ssl contexts;
* `pool` — per-user keep-alive reuse;
* `models`, `catch` — what scripts get back; `hop` — one exchange to a Response and a record;
* `session` — `HttpSession`, the user-facing client (docs/http-client.md).
"""

from .catch import ResponseContextManager
from .models import Headers, Request, Response
from .session import HttpSession

__all__ = ["HttpSession", "Response", "ResponseContextManager", "Request", "Headers"]
