"""The build in use: pure or compiled, all or nothing, never stale (horde/buildinfo.py).

The decision logic runs on package trees made in tmp_path (empty files stand
for extension modules: only their names matter to it). Real processes check
what an installed compiled build does when one of its sources changes; they
skip when this venv has no compiled build.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import inspect
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import horde
from horde import buildinfo
from horde.buildinfo import COMPILED, Build, BuildError, digest, require_selected, source_of

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
PACKAGE = Path(horde.__file__).resolve().parent


def make_tree(root: Path, *, extensions: bool = True, record: bool = True) -> Path:
    """A package dir with every compiled module's source, its 'extension' and a record."""
    package = root / "horde"
    hashes = {}
    for module in COMPILED:
        source = source_of(module, package)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {module}\n")
        hashes[module] = digest(source)
        if extensions:
            source.with_name(source.stem + SUFFIX).write_bytes(b"")
    if record:
        (package / buildinfo.RECORD).write_text(json.dumps(
            {"compiled": list(COMPILED), "compiler": "mypyc 9.9", "sources": hashes}))
    return package


def test_a_complete_fresh_build_is_compiled(tmp_path: Path) -> None:
    build = buildinfo.inspect("auto", make_tree(tmp_path))
    assert build.compiled and build.modules == COMPILED
    assert build.describe() == f"compiled with mypyc 9.9: {len(COMPILED)} hot-path modules"


def test_one_changed_source_puts_everything_on_pure_python(tmp_path: Path) -> None:
    package = make_tree(tmp_path)
    source_of("horde.http.pool", package).write_text("# edited\n")
    build = buildinfo.inspect("auto", package)
    assert not build.compiled and build.modules == ()
    assert "stale: horde/http/pool.py changed since the build" in build.reason
    assert "make" in build.reason


def test_a_missing_extension_is_an_incomplete_build(tmp_path: Path) -> None:
    package = make_tree(tmp_path)
    source = source_of("horde.http.session", package)
    source.with_name(source.stem + SUFFIX).unlink()
    build = buildinfo.inspect("auto", package)
    assert not build.compiled and "horde.http.session has no extension module" in build.reason


def test_extensions_without_a_record_are_not_trusted(tmp_path: Path) -> None:
    build = buildinfo.inspect("auto", make_tree(tmp_path, record=False))
    assert not build.compiled and "without a valid _compiled.json" in build.reason


def test_no_extensions_is_plain_pure_python(tmp_path: Path) -> None:
    build = buildinfo.inspect("auto", make_tree(tmp_path, extensions=False, record=False))
    assert build == Build("pure", "auto")
    assert build.describe() == "pure Python"


def test_horde_build_pure_ignores_a_fresh_compiled_build(tmp_path: Path) -> None:
    build = buildinfo.inspect("pure", make_tree(tmp_path))
    assert not build.compiled and build.reason == "HORDE_BUILD=pure"


def test_horde_build_compiled_refuses_pure_python(tmp_path: Path) -> None:
    build = buildinfo.inspect("compiled", make_tree(tmp_path, extensions=False, record=False))
    with pytest.raises(BuildError, match="HORDE_BUILD=compiled, but this horde is pure"):
        require_selected(build)
    require_selected(buildinfo.inspect("compiled", make_tree(tmp_path / "ok")))


def test_a_bad_horde_build_value_is_refused() -> None:
    assert buildinfo.requested_build({"HORDE_BUILD": "fast"}) == "invalid"
    assert buildinfo.requested_build({"HORDE_BUILD": " Pure "}) == "pure"
    assert buildinfo.requested_build({}) == "auto"
    with pytest.raises(BuildError, match="must be one of auto, pure, compiled"):
        require_selected(Build("pure", "invalid", reason="HORDE_BUILD must be one of "
                               "auto, pure, compiled"))


# --- what mypyc can compile safely -------------------------------------------------

_BUILTIN_EXCEPTIONS = {c for c in vars(builtins).values()
                       if isinstance(c, type) and issubclass(c, BaseException)}
_HEAPTYPE = 1 << 9


def foreign_layout_bases(cls: type) -> list[type]:
    """Bases with an instance layout of their own written in C (not object, not a
    builtin exception). A mypyc native class lays out its instances itself and
    never runs such a base's constructor: round 1's segfault was exactly this
    (horde.bridge._UserGreenlet subclasses greenlet.greenlet, got 24 bytes where
    a greenlet needs 40, and greenlet read its state past the end)."""
    return [base for base in cls.__mro__[1:]
            if base is not object and base not in _BUILTIN_EXCEPTIONS
            and not base.__flags__ & _HEAPTYPE and base.__module__ not in COMPILED]


def classes_of(module_name: str) -> list[type]:
    module = importlib.import_module(module_name)
    return [c for c in vars(module).values()
            if inspect.isclass(c) and c.__module__ == module_name]


@pytest.mark.parametrize("module", COMPILED)
def test_no_compiled_class_extends_a_c_type(module: str) -> None:
    for cls in classes_of(module):
        assert foreign_layout_bases(cls) == [], cls


def test_the_rule_catches_what_crashed_round_1() -> None:
    import greenlet

    import horde.bridge

    assert foreign_layout_bases(horde.bridge._UserGreenlet) == [greenlet.greenlet]
    assert "horde.bridge" not in COMPILED


def _open_to_subclasses() -> set[type]:
    from horde.http.session import HttpSession

    return {HttpSession}


# Compiled classes that allow interpreted subclasses (@mypyc_attr(allow_interpreted_
# subclasses=True)): horde.compat.users.HttpSession extends HttpSession.
OPEN_TO_SUBCLASSES = _open_to_subclasses()


def test_classes_open_to_subclasses_say_so_in_their_source() -> None:
    for cls in OPEN_TO_SUBCLASSES:
        text = source_of(cls.__module__).read_text()
        assert f"@mypyc_attr(allow_interpreted_subclasses=True)\nclass {cls.__name__}" in text


def test_an_interpreted_subclass_of_the_session_works() -> None:
    from horde.compat.users import HttpSession

    session = HttpSession("http://127.0.0.1:9", None, None)
    assert session.request_event is None and session.user is None


def test_no_interpreted_horde_class_extends_a_compiled_one() -> None:
    """mypyc: 'interpreted classes cannot inherit from compiled' (a TypeError when the
    class is made): catch.py's ResponseContextManager(Response) is why catch.py is
    compiled too."""
    compiled = {c for m in COMPILED for c in classes_of(m)} - OPEN_TO_SUBCLASSES
    offenders = []
    for info in pkgutil.walk_packages(horde.__path__, "horde."):
        if info.name in COMPILED or info.name.endswith("__main__"):
            continue
        offenders += [f"{info.name}.{c.__name__}" for c in classes_of(info.name)
                      if any(base in compiled for base in c.__mro__[1:])]
    assert offenders == []


# --- the installed build, in this process and in real ones ---------------------------

def test_this_process_runs_the_build_it_says() -> None:
    loaders = {type(importlib.import_module(m).__loader__).__name__ for m in COMPILED}
    if horde.BUILD.compiled:
        assert loaders == {"ExtensionFileLoader"}
    else:
        assert loaders == {"SourceFileLoader"}


def _run(args: list[str], pythonpath: Path | None = None,
         **env: str) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **env)
    if pythonpath is not None:
        full["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=full,
                          timeout=120, cwd=pythonpath or PACKAGE.parent)


def test_horde_version_names_the_build() -> None:
    done = _run(["-m", "horde", "--version"])
    assert done.returncode == 0
    assert done.stdout.strip() == f"horde {horde.__version__} ({horde.BUILD.describe()})"


needs_compiled = pytest.mark.skipif(
    not buildinfo.inspect("auto", PACKAGE).compiled,
    reason="no fresh compiled build in this venv (pip install -e . with a C compiler)")


@needs_compiled
def test_an_edited_source_runs_as_edited_with_a_warning(tmp_path: Path) -> None:
    """The developer's case: an editable install, then an edit of a compiled module."""
    copy = tmp_path / "horde"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    probe = ("import horde, horde.http.pool as p; "
             "print(horde.BUILD.kind, p.EDITED, type(p.__loader__).__name__)")
    pool = copy / "http" / "pool.py"
    pool.write_text(pool.read_text() + "\nEDITED = 'yes'\n")
    done = _run(["-c", probe], tmp_path, HORDE_BUILD="auto")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pure", "yes", "SourceFileLoader"]
    assert ("horde: running pure Python: compiled modules are stale: horde/http/pool.py "
            "changed since the build") in done.stderr
    refused = _run(["-m", "horde", "-f", "x.py"], tmp_path, HORDE_BUILD="compiled")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith(
        "horde: HORDE_BUILD=compiled, but this horde is pure Python: compiled modules are stale")


@needs_compiled
def test_horde_build_pure_loads_sources_next_to_extensions() -> None:
    probe = ("import horde, horde.http.session as s, horde.stats.recorder as r; "
             "print(horde.BUILD.kind, type(s.__loader__).__name__, type(r.__loader__).__name__)")
    done = _run(["-c", probe], HORDE_BUILD="pure")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pure", "SourceFileLoader", "SourceFileLoader"]
    assert done.stderr == ""


def test_local_worker_processes_inherit_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """--processes children lose every HORDE_* option variable, but not HORDE_BUILD."""
    from horde.cli.distributed import _child_env

    monkeypatch.setenv("HORDE_BUILD", "pure")
    monkeypatch.setenv("HORDE_USERS", "7")
    env = _child_env()
    assert env["HORDE_BUILD"] == "pure" and "HORDE_USERS" not in env
