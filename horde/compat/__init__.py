"""Locust compatibility: existing locustfiles run under horde unchanged.

Everything Locust-shaped lives in this package. Importing it changes
nothing; the CLI's script loader calls `install()` before it runs a script,
which puts fresh `locust.*` and `gevent.*` modules (horde.compat.namespace)
into `sys.modules` for the run, around one `LocustEvents`. When real Locust
(or gevent) is installed in the same environment, horde's modules win under
the horde CLI, and a debug line says so. `LocustSession.restore()` puts back
whatever `sys.modules` held before (tests, library use).

Invariant: nothing here runs at import time; every module a session
installs is its own (two sessions share no state).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from horde.compat.env import Environment
from horde.compat.events import LocustEvents

__all__ = ["LocustSession", "install", "Environment", "LocustEvents"]

log = logging.getLogger(__name__)

_ROOTS = ("locust", "gevent")


@dataclass
class LocustSession:
    """One install of the namespace: its Environment, events and modules."""

    environment: Environment
    events: LocustEvents
    modules: Mapping[str, ModuleType]
    _previous: dict[str, ModuleType | None] = field(default_factory=dict)
    _parser: Any = None

    @property
    def used(self) -> bool:
        """True once a script has read a name from the `locust` namespace."""
        return any(getattr(m, "_horde_used", False) for name, m in self.modules.items()
                   if name.split(".")[0] == "locust")

    def parse_options(self, argv: list[str] | None = None,
                      base: Mapping[str, object] | None = None,
                      settings: Mapping[str, object] | None = None) -> None:
        """Fire `init_command_line_parser` and set `environment.parsed_options`."""
        from horde.compat.options import LocustArgumentParser, parse_script_options

        parser = self._parser
        if parser is None:  # the listeners run once; later calls only add horde's values
            parser = self._parser = LocustArgumentParser()
            self.events.init_command_line_parser.fire(parser=parser)
        self.environment.parsed_options = parse_script_options(parser, argv or [], base=base,
                                                               settings=settings)
        # What a master hands its workers: the script's own options, not horde's.
        self.environment.script_bridge.option_names = tuple(
            a.dest for a in parser._actions if a.dest not in ("help", argparse.SUPPRESS))

    def restore(self) -> None:
        """Put back what `sys.modules` held for these names before `install()`."""
        for name, module in self._previous.items():
            if sys.modules.get(name) is self.modules.get(name):
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
        self._previous.clear()


def _real_location(root: str) -> str | None:
    found = sys.modules.get(root)
    if found is not None and not hasattr(found, "_horde_used"):
        return str(getattr(found, "__file__", None) or root)
    try:
        spec = importlib.util.find_spec(root) if found is None else None
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin else None


def install() -> LocustSession:
    """Make `import locust` (and `import gevent`) give horde's modules for this run."""
    from horde.compat.namespace import build_modules

    for root in _ROOTS:
        where = _real_location(root)
        if where is not None:
            log.debug("%s is installed (%s); under the horde CLI `import %s` gets horde's "
                      "compatible module instead", root, where, root)
    environment = Environment()
    events = environment.events
    assert isinstance(events, LocustEvents)
    modules = build_modules(events)
    previous: dict[str, ModuleType | None] = {}
    # Real submodules imported earlier (locust.main, gevent._config, ...) must
    # go too: they would hand a script the real package's objects.
    for name in list(sys.modules):
        if name.split(".")[0] in _ROOTS and name not in modules:
            previous[name] = sys.modules.pop(name)
    for name, module in modules.items():
        previous[name] = sys.modules.get(name)
        sys.modules[name] = module
    return LocustSession(environment, events, modules, previous)
