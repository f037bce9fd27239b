"""Which build of horde is running: pure Python, or the hot path compiled by mypyc.

`setup.py` may compile the modules in `COMPILED` with mypyc from their own
source (docs/dev/compiled.md). The extension modules then sit next to the
`.py` files, and Python's import system prefers them. This module decides, once,
when `horde` is imported and before any of those modules is, whether they may be
used, and records the decision in a `Build` that `horde --version` shows.

Invariants:

* All or nothing: either every module in the record is loaded compiled, or
  every one is loaded from its `.py` source. mypyc compiles them as one group
  whose native classes and functions call each other directly in C, so a
  compiled module next to a pure one of the same group would meet objects it
  does not know (a crash, not an exception).
* Compiled code never runs stale: the build writes the SHA-256 of every source
  it compiled (and of every horde module those import, since mypyc inlines
  their `Final` constants) into `_compiled.json`; at import the sources are
  hashed again (~1 ms), and one changed file puts the whole package on its pure
  source with a warning. Falling back rather than refusing to run: the edited
  source is the truth, the same code runs slower, and the warning says how to
  rebuild (`make`, or `pip install -e .`).
* `HORDE_BUILD` chooses: `auto` (default; compiled when present and fresh),
  `pure` (never the compiled modules), `compiled` (the compiled ones, or
  `require_selected()` fails: CI and benchmarks use it so that a silent
  fallback cannot pass pure Python off as compiled). setup.py reads the same
  variable at build time.
* Only stdlib imports, and nothing of horde: setup.py runs this file on its own.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = [
    "COMPILED",
    "ENV",
    "RECORD",
    "Build",
    "BuildError",
    "activate",
    "decide",
    "inspect",
    "require_selected",
]

ENV = "HORDE_BUILD"
RECORD = "_compiled.json"
CHOICES = ("auto", "pure", "compiled")

# The hot path that mypyc compiles (issue 13). horde/bridge.py, horde/user/loop.py
# and horde/user/syncloop.py stay pure on purpose: docs/dev/compiled.md says why.
COMPILED: tuple[str, ...] = (
    "horde.http.connection",
    "horde.http.response",
    "horde.http.pool",
    "horde.http.session",
    "horde.http.request",
    "horde.http.hop",
    "horde.http.origin",
    "horde.http.models",
    "horde.http.cookies",
    # catch.py subclasses models.Response: an interpreted class cannot inherit from a
    # compiled one (TypeError at the first catch_response=True), so it is compiled too.
    "horde.http.catch",
    "horde.stats.recorder",
)

_PACKAGE_DIR = Path(__file__).resolve().parent


class BuildError(ImportError):
    """HORDE_BUILD asks for something this installation cannot give."""


@dataclass(frozen=True)
class Build:
    """The build in use, and why."""

    kind: str  # "compiled" or "pure"
    requested: str  # HORDE_BUILD as read: auto, pure, compiled
    modules: tuple[str, ...] = ()  # compiled modules in use
    compiler: str = ""  # e.g. "mypyc 1.x" from the build record
    reason: str = ""  # why pure, when compiled modules are installed or were asked for

    @property
    def compiled(self) -> bool:
        return self.kind == "compiled"

    def describe(self) -> str:
        """One line for `horde --version`."""
        if self.compiled:
            return f"compiled with {self.compiler}: {len(self.modules)} hot-path modules"
        return f"pure Python: {self.reason}" if self.reason else "pure Python"


def _extension_of(module: str, package_dir: Path) -> Path | None:
    """The compiled extension file of `module` under `package_dir`, if one exists."""
    parts = module.split(".")[1:]
    folder = package_dir.joinpath(*parts[:-1])
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = folder / (parts[-1] + suffix)
        if candidate.exists():
            return candidate
    return None


def source_of(module: str, package_dir: Path = _PACKAGE_DIR) -> Path:
    """The .py file of a horde module."""
    parts = module.split(".")[1:]
    path = package_dir.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stale(hashes: Mapping[str, str], package_dir: Path) -> list[str]:
    """Modules whose source differs from (or lacks) the hash recorded at build time."""
    changed = []
    for module, recorded in hashes.items():
        path = source_of(module, package_dir)
        try:
            current = digest(path)
        except OSError:
            current = ""
        if current != recorded:
            changed.append(module)
    return changed


def inspect(requested: str, package_dir: Path = _PACKAGE_DIR) -> Build:
    """What `requested` gives with the files under `package_dir` (no side effects)."""
    present = [m for m in COMPILED if _extension_of(m, package_dir) is not None]
    if requested == "pure":
        return Build("pure", requested, reason=f"{ENV}=pure" if present else "")
    if not present:
        return Build("pure", requested,
                     reason="no compiled modules installed" if requested == "compiled" else "")
    try:
        record = json.loads((package_dir / RECORD).read_text())
        compiled = tuple(record["compiled"])
        hashes = dict(record["sources"])
        compiler = str(record["compiler"])
    except (OSError, ValueError, KeyError, TypeError):
        return Build("pure", requested, reason=f"compiled modules without a valid {RECORD}; "
                     "rebuild with `make` or `pip install -e .`")
    missing = [m for m in compiled if _extension_of(m, package_dir) is None]
    if missing:
        return Build("pure", requested, reason=f"compiled build incomplete, {missing[0]} "
                     "has no extension module; rebuild with `make` or `pip install -e .`")
    stale = _stale(hashes, package_dir)
    if stale:
        names = ", ".join(str(source_of(m, package_dir).relative_to(package_dir.parent))
                          for m in stale[:3])
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        return Build("pure", requested, reason=f"compiled modules are stale: {names}{more} "
                     "changed since the build; rebuild with `make` or `pip install -e .`")
    return Build("compiled", requested, modules=compiled, compiler=compiler)


class _SourceOnly(importlib.abc.MetaPathFinder):
    """Loads the listed horde modules from their .py files, never from an extension."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        leaf = fullname.rpartition(".")[2]
        for entry in path or ():
            candidate = os.path.join(entry, leaf + ".py")
            if os.path.isfile(candidate):
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


def requested_build(environ: Mapping[str, str] = os.environ) -> str:
    value = environ.get(ENV, "").strip().lower() or "auto"
    return value if value in CHOICES else "invalid"


def decide(environ: Mapping[str, str] = os.environ,
           package_dir: Path = _PACKAGE_DIR) -> Build:
    """The build HORDE_BUILD and the installed files give (no side effects; the same
    answer `activate` gave at import, as long as no file changed since)."""
    requested = requested_build(environ)
    build = inspect("auto" if requested == "invalid" else requested, package_dir)
    if requested == "invalid":
        build = Build(build.kind, requested, build.modules, build.compiler,
                      f"{ENV} must be one of {', '.join(CHOICES)}")
    return build


def activate() -> Build:
    """Decide the build for this process and make the import system follow it.

    Called by `horde/__init__.py` before any compiled module can be imported.
    When the choice is pure while extension modules are present, a finder that
    returns the .py sources of exactly those modules goes first on
    `sys.meta_path` (the one global change, made once per process).
    """
    build = decide()
    requested = build.requested
    if build.compiled:
        return build
    shadowed = frozenset(m for m in COMPILED if _extension_of(m, _PACKAGE_DIR) is not None)
    if shadowed and not any(isinstance(f, _SourceOnly) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceOnly(shadowed))
    if build.reason and requested == "auto":
        # Loud on purpose: a developer who edited a compiled module must know that
        # the process runs the pure source now, and how to get the compiled one back.
        print(f"horde: running pure Python: {build.reason}", file=sys.stderr)
    return build


def require_selected(build: Build) -> None:
    """Raise BuildError when HORDE_BUILD asked for something this process does not run."""
    if build.requested == "invalid":
        raise BuildError(build.reason)
    if build.requested == "compiled" and not build.compiled:
        raise BuildError(f"{ENV}=compiled, but this horde is {build.describe()}")
