"""Load test scripts and find what to run in them.

A script is imported as a fresh module under a private name
(`horde_script_N_stem` in `sys.modules`, never its file name, so it cannot
shadow or be shadowed by a module of the same name; loading again replaces
it). Every way a script can be broken becomes a `ScriptError` whose message
names the file and line: a syntax error, an exception while importing, no User
class. A -f path that is no script and a user class name the script lacks are
`UsageError`s instead: the command line's mistakes, not the script's.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from horde.compat import LocustSession, install
from horde.errors import ScriptError, UsageError
from horde.events import Events, listeners_of
from horde.plan.shape import LoadTestShape
from horde.user import User
from horde.user.sleep import cooperative_time_sleep

__all__ = ["LoadedScripts", "load_scripts", "choose_classes", "script_files", "default_script"]


@dataclass(frozen=True)
class LoadedScripts:
    files: tuple[Path, ...]
    """Every .py file loaded, in load order."""
    user_classes: tuple[type[User], ...]
    listeners: tuple[tuple[str, Callable[..., Any]], ...]
    root: Path
    """The -f path's directory (or the directory itself): what a master ships to workers."""
    events: Events | None = None
    """The run's hooks when a script used the `locust` namespace (horde.compat), else None."""
    locust: LocustSession | None = None
    """The `locust` namespace the scripts were loaded with (horde.compat)."""
    shape: type[LoadTestShape] | None = None
    """The script's load shape, if it defines one (a local run or a master follows it)."""


def default_script(cwd: Path) -> Path:
    for name in ("hordefile.py", "locustfile.py"):
        if (cwd / name).is_file():
            return cwd / name
    raise UsageError(
        "no test script given and no hordefile.py or locustfile.py here; use -f PATH"
    )


def script_files(path: Path) -> tuple[Path, tuple[Path, ...]]:
    """(root directory, .py files to load) for a file or directory path."""
    if path.is_dir():
        files = tuple(sorted(p for p in path.rglob("*.py")
                             if not any(part.startswith((".", "_")) for part in
                                        p.relative_to(path).parts)))
        if not files:
            raise UsageError(f"{path}: directory has no .py test scripts")
        return path, files
    if path.is_file():
        if path.suffix != ".py":
            raise UsageError(f"{path}: a test script must be a .py file")
        return path.parent, (path,)
    raise UsageError(f"{path}: no such file or directory")


def _location_in(path: Path, tb: Any) -> str | None:
    """file:line of the innermost frame of `tb` inside the script, if any."""
    found = None
    for frame in traceback.extract_tb(tb):
        if Path(frame.filename).resolve() == path.resolve():
            found = f"{frame.filename}:{frame.lineno}"
    return found


def _exec(path: Path, index: int) -> ModuleType:
    name = f"horde_script_{index}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ScriptError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    # The script's directory goes first on sys.path so it can import its helpers,
    # as with `python script.py`.
    directory = str(path.parent.resolve())
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # Registered while it runs, as `import` would: dataclasses, typing and pickle
    # look the module up by name (a script with `from __future__ import
    # annotations` and a @dataclass fails to load otherwise).
    sys.modules[name] = module
    try:
        # `from time import sleep` must bind the run's cooperative time.sleep.
        with cooperative_time_sleep():
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import(path: Path, index: int) -> ModuleType:
    try:
        return _exec(path, index)
    except SyntaxError as exc:
        where = f"{exc.filename or path}:{exc.lineno}" if exc.lineno else str(path)
        detail = (exc.text or "").strip()
        raise ScriptError(f"syntax error: {exc.msg}" + (f"\n    {detail}" if detail else ""),
                          where) from None
    except ScriptError as exc:
        # horde's own check of a class body (weight, wait_time, between(5, 1)): its
        # message is already the explanation; only the file and line are missing.
        if exc.location is not None:
            raise
        where = _location_in(path, exc.__traceback__) or str(path)
        raise ScriptError(str(exc), where) from None
    except Exception as exc:  # noqa: BLE001 - any import-time failure of user code
        where = _location_in(path, exc.__traceback__) or str(path)
        kind = "import failed" if isinstance(exc, ImportError) else "error while loading"
        raise ScriptError(f"{kind}: {type(exc).__name__}: {exc}", where) from None


def _is_runnable(value: Any) -> bool:
    return (isinstance(value, type) and issubclass(value, User) and value is not User
            and not value.__dict__.get("abstract", False))


def _is_shape(value: Any) -> bool:
    return (isinstance(value, type) and issubclass(value, LoadTestShape)
            and not value.abstract)


def load_scripts(path: Path, wanted: Sequence[str] = ()) -> LoadedScripts:
    root, files = script_files(path)
    # `import locust` / `import gevent` in a script get horde's modules (horde.compat).
    session = install()
    classes: dict[str, type[User]] = {}
    shapes: dict[type[LoadTestShape], None] = {}
    listeners: list[tuple[str, Callable[..., Any]]] = []
    for index, file in enumerate(files):
        module = _import(file, index)
        for value in vars(module).values():
            if _is_runnable(value):
                classes.setdefault(value.__name__, value)
            elif _is_shape(value):
                shapes[value] = None
        listeners.extend(listeners_of(vars(module)))
    if len(shapes) > 1:
        raise ScriptError(f"more than one LoadTestShape ({', '.join(s.__name__ for s in shapes)}); "
                          "a test follows one shape: keep one, or mark the others "
                          "`abstract = True`")
    if not classes:
        names = ", ".join(str(f) for f in files)
        raise ScriptError(
            f"{names}: no User class found; define a subclass of horde.HttpUser "
            "(or horde.User) with at least one @task"
        )
    # The same function object may be tagged once but seen in several modules.
    unique = list(dict.fromkeys(listeners))
    used = session.used
    loaded = LoadedScripts(files=files, user_classes=tuple(classes.values()),
                           listeners=tuple(unique), root=root, shape=next(iter(shapes), None),
                           events=session.events if used else None, locust=session)
    loaded = choose_classes(loaded, wanted)
    if used:
        session.environment.user_classes = list(loaded.user_classes)
        session.environment.available_user_classes = dict(classes)
        session.parse_options()
    return loaded


def choose_classes(loaded: LoadedScripts, wanted: Sequence[str]) -> LoadedScripts:
    """`loaded` narrowed to the classes named on the command line (all when none is).

    A name the script lacks is the command line's mistake, not the script's: a
    `UsageError` (exit 2), never "broken test script".
    """
    if not wanted:
        return loaded
    classes = {c.__name__: c for c in loaded.user_classes}
    missing = [n for n in wanted if n not in classes]
    if missing:
        raise UsageError(
            f"unknown user class {', '.join(missing)}; the script defines "
            f"{', '.join(sorted(classes))}"
        )
    return replace(loaded, user_classes=tuple(classes[n] for n in dict.fromkeys(wanted)))
