"""The web UI and its JSON API, served in the runner's own event loop (aiohttp.web).

Talks to a `horde.runtime.control.Controller` only (a local run or a master).
See docs/web-ui.md for the pages, the API and the downloads.

Entry point: `start_web(controller, host, port, auth, defaults, *, allowed_hosts=(),
on_reset=None) -> WebServer`. Which requests it answers: horde.web.guard.
"""

from __future__ import annotations

from horde.web.server import DEFAULT_WEB_PORT, WebDefaults, WebServer, build_app, start_web

__all__ = ["DEFAULT_WEB_PORT", "WebDefaults", "WebServer", "build_app", "start_web"]
