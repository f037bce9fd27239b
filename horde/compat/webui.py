"""`environment.web_ui`: what Locust scripts use of the web UI object.

Scripts add pages with `@environment.web_ui.app.route("/path")`; a handler
returns text, bytes or something JSON can encode (a dict, a list). The
routes are collected here; horde's web server serves them under the same
paths when the web UI runs (`routes`). Flask-specific extensions (blueprints,
templates, `after_request`) are refused with a sentence naming them.

Invariant: a WebUI only collects routes; it never starts a server itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from horde.errors import UsageError

__all__ = ["WebUI", "RouteTable"]

Handler = Callable[..., Any]


class RouteTable:
    """`web_ui.app`: Flask's `route` decorator, collecting (path, methods, handler)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, tuple[str, ...], Handler]] = []

    def route(self, path: str, methods: list[str] | None = None,
              **_options: Any) -> Callable[[Handler], Handler]:
        if not path.startswith("/"):
            raise UsageError(f"web_ui.app.route({path!r}): a path starts with /")

        def add(fn: Handler) -> Handler:
            self.routes.append((path, tuple(m.upper() for m in (methods or ["GET"])), fn))
            return fn

        return add

    def _flask_only(self, name: str) -> Any:
        raise UsageError(f"web_ui.app.{name} is Flask's; horde's web UI takes "
                         "@web_ui.app.route handlers that return text or JSON")

    def register_blueprint(self, *args: Any, **kwargs: Any) -> None:
        self._flask_only("register_blueprint")

    def after_request(self, fn: Handler) -> Handler:
        self._flask_only("after_request")
        return fn


class WebUI:
    """The web UI as a Locust script sees it."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.app = RouteTable()
        self.template_args: dict[str, Any] = {}
        self.greenlet = None

    @property
    def routes(self) -> list[tuple[str, tuple[str, ...], Handler]]:
        return list(self.app.routes)

    def update_template_args(self) -> None:
        """Locust refreshes its page's variables here; horde's page needs none."""

    def stop(self) -> None:
        """The CLI stops horde's web server; nothing to do here."""
