"""The test files on disk <-> the `{relative path: bytes}` a master ships.

What is shipped for ``-f PATH``:

* a file: that file (the entry, loaded alone) and the other ``.py`` modules
  of its directory, which a local run can import as helpers (the script's
  directory is on ``sys.path``);
* a directory: every regular file below it except hidden ones (a part
  starting with ``.``), ``__pycache__`` and compiled ``.pyc`` files, so helper
  modules and data files travel with the scripts; the entry is the first
  ``.py`` script in sorted order.

A worker writes a received bundle into a fresh private directory and loads
what `load_path` names: the single file, or the whole directory (which holds
exactly the master's files, so loading it finds the same scripts).

Invariant: the paths produced here are relative POSIX paths, and reading the
same tree twice gives equal mappings (so equal sha256 maps on both ends).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from horde.errors import UsageError
from horde.wire import MAX_BUNDLE_BYTES, FilesBundle

__all__ = ["read_test_files", "install_bundle", "load_path"]


def _wanted(rel: Path) -> bool:
    return not any(p.startswith(".") or p == "__pycache__" for p in rel.parts) \
        and rel.suffix != ".pyc"


def read_test_files(path: Path) -> tuple[dict[str, bytes], str]:
    """({relative path: content}, entry) for a ``-f`` file or directory."""
    try:
        files: dict[str, bytes] = {}
        if path.is_file():
            files[path.name] = path.read_bytes()
            total = len(files[path.name])
            for helper in sorted(path.parent.glob("*.py")):
                if helper.name in files or not helper.is_file() or helper.name.startswith("."):
                    continue
                content = helper.read_bytes()
                total += len(content)
                if total > MAX_BUNDLE_BYTES:
                    raise UsageError(f"{path.parent}: the script and its neighbouring modules "
                                     f"are over the {MAX_BUNDLE_BYTES:,}-byte limit for "
                                     "shipping them to workers; use a smaller directory")
                files[helper.name] = content
            return files, path.name
        if not path.is_dir():
            raise UsageError(f"{path}: no such file or directory")
        files = {}
        total = 0
        for item in sorted(path.rglob("*")):
            rel = item.relative_to(path)
            if not item.is_file() or not _wanted(rel):
                continue
            content = item.read_bytes()
            total += len(content)
            if total > MAX_BUNDLE_BYTES:
                raise UsageError(f"{path}: the test files are over the {MAX_BUNDLE_BYTES:,}-byte "
                                 "limit for shipping them to workers")
            files[rel.as_posix()] = content
    except OSError as exc:
        raise UsageError(f"cannot read the test files {path}: {exc}") from exc
    scripts = [p for p in files if p.endswith(".py")
               and not any(part.startswith("_") for part in p.split("/"))]
    if not scripts:
        raise UsageError(f"{path}: directory has no .py test scripts")
    return files, scripts[0]


def install_bundle(bundle: FilesBundle, parent: Path | None = None) -> Path:
    """Write the bundle into a new private directory; returns the directory."""
    directory = Path(tempfile.mkdtemp(prefix="horde-worker-", dir=parent))
    try:
        for entry in bundle.files:
            target = directory / entry.path  # paths were checked as safe and relative on decode
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(entry.content)
    except OSError as exc:
        raise UsageError(f"cannot write the master's test files into {directory}: {exc}") from exc
    return directory


def load_path(directory: Path, bundle: FilesBundle) -> Path:
    """What to load from an installed bundle: the entry file, or the directory."""
    return directory / bundle.entry if bundle.entry_only or len(bundle.files) == 1 \
        else directory
