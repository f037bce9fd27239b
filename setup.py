"""Build: pure Python always works; the hot path is compiled with mypyc when it can be.

Everything static lives in pyproject.toml; this file only decides about the
extension modules (docs/dev/compiled.md):

* HORDE_BUILD=pure: no extension modules (the package is complete without them).
* HORDE_BUILD=compiled: compile horde.buildinfo.COMPILED with mypyc or fail the
  build (wheels, CI: never a silent fallback).
* HORDE_BUILD=auto (default): compile when mypyc imports and a C compiler
  works; otherwise, or when any part of the compilation fails, install pure
  Python and say so. All or nothing: a partial set is removed.

A successful compilation writes horde/_compiled.json: the modules compiled,
mypyc's version and the SHA-256 of every source involved, which
horde/buildinfo.py checks at import to refuse stale compiled code.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
INFO: dict[str, Any] = runpy.run_path(str(ROOT / "horde" / "buildinfo.py"))
RECORD = ROOT / "horde" / INFO["RECORD"]
GROUP = "horde._hot"  # mypyc's shared library becomes horde/_hot__mypyc.*.so


def say(message: str) -> None:
    print(f"horde build: {message}", file=sys.stderr, flush=True)


def requested() -> str:
    value = os.environ.get(INFO["ENV"], "").strip().lower() or "auto"
    if value not in INFO["CHOICES"]:
        sys.exit(f"{INFO['ENV']} must be one of {', '.join(INFO['CHOICES'])}, not {value!r}")
    return str(value)


def horde_imports(module: str) -> set[str]:
    """horde modules that `module` imports (mypyc inlines their Final constants)."""
    import ast

    source = INFO["source_of"](module, ROOT / "horde")
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("horde"):
                continue
            found.add(base)
            for alias in node.names:  # `from horde.http import pool` names a module
                candidate = f"{base}.{alias.name}"
                if INFO["source_of"](candidate, ROOT / "horde").exists():
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("horde"))
    return found


def record_sources() -> dict[str, str]:
    modules = set(INFO["COMPILED"])
    for module in INFO["COMPILED"]:
        modules |= horde_imports(module)
    hashes = {}
    for module in sorted(modules):
        path = INFO["source_of"](module, ROOT / "horde")
        if path.exists():
            hashes[module] = INFO["digest"](path)
    return hashes


def compiler_works() -> str:
    """'' when a C compiler links a trivial extension here, else why not."""
    import tempfile

    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    try:
        cc = new_compiler()
        customize_compiler(cc)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "probe.c"
            src.write_text("int horde_probe(void) { return 0; }\n")
            cc.compile([str(src)], output_dir=tmp)
    except Exception as exc:  # noqa: BLE001 - any failure means "no working compiler"
        return f"no working C compiler ({type(exc).__name__}: {str(exc).strip()[:200]})"
    return ""


def mypyc_extensions(mode: str) -> list[Any]:
    RECORD.unlink(missing_ok=True)
    if mode == "pure":
        say(f"{INFO['ENV']}=pure: installing pure Python")
        return []
    why = compiler_works()
    if not why:
        try:
            from mypyc.build import mypycify
        except ImportError as exc:
            why = f"mypyc is not importable ({exc})"
    if why:
        if mode == "compiled":
            sys.exit(f"horde build: {INFO['ENV']}=compiled but {why}")
        say(f"{why}: installing pure Python")
        return []
    paths = [str(INFO["source_of"](m, Path("horde"))) for m in INFO["COMPILED"]]
    say(f"compiling {len(paths)} hot-path modules with mypyc")
    cwd = os.getcwd()
    os.chdir(ROOT)  # mypyc resolves module names from paths relative to the project
    try:
        extensions = mypycify(paths, opt_level="3", debug_level="1", group_name=GROUP)
    except BaseException as exc:  # mypyc reports type errors with SystemExit
        if mode == "compiled":
            raise
        say(f"mypyc failed ({type(exc).__name__}: {exc}): installing pure Python")
        return []
    finally:
        os.chdir(cwd)
    return list(extensions)


class BuildExt(build_ext):
    """All or nothing: in auto mode a failed C compilation installs pure Python."""

    def run(self) -> None:
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - CompileError, LinkError, OSError, ...
            if requested() == "compiled":
                raise
            say(f"compiling failed ({type(exc).__name__}: {exc}): installing pure Python")
            self._remove_outputs()
            self.extensions = []
            return
        record = {"compiled": list(INFO["COMPILED"]), "compiler": _mypyc_version(),
                  "sources": record_sources()}
        text = json.dumps(record, indent=1, sort_keys=True) + "\n"
        RECORD.write_text(text)
        if not self.inplace:  # a wheel: the record goes where the extensions go
            target = Path(self.build_lib) / "horde" / RECORD.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        say(f"compiled build recorded in {RECORD.relative_to(ROOT)}")

    def _remove_outputs(self) -> None:
        for ext in self.extensions:
            path = Path(self.get_ext_fullpath(ext.name))
            path.unlink(missing_ok=True)
        RECORD.unlink(missing_ok=True)


def _mypyc_version() -> str:
    try:
        from mypy.version import __version__ as version
    except ImportError:
        return "mypyc"
    return f"mypyc {version}"


# Only commands that build code run mypyc (seconds to minutes); metadata and the
# sdist do not (an sdist carries sources only and compiles, or not, where installed).
BUILDS = {"build", "build_ext", "bdist_wheel", "install", "develop", "editable_wheel"}
extensions = mypyc_extensions(requested()) if BUILDS & set(sys.argv[1:]) else []
setup(ext_modules=extensions, cmdclass={"build_ext": BuildExt})
