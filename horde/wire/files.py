"""Building and checking the test-file bundle a master ships to its workers.

Pure functions over ``{relative path: content}`` mappings (reading the ``-f``
file or directory from disk is the runtime's job).

Invariants:

* a bundle never exceeds `MAX_BUNDLE_BYTES` and holds only safe relative
  paths; building one that would break either raises `UsageError` (the
  person's ``-f`` is at fault), while receiving one raises `ProtocolError`
  in the decoder;
* `differing_files` names every path whose content differs, is missing or is
  extra, sorted, so a refusal message can name them all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from horde.errors import UsageError
from horde.wire.messages import MAX_BUNDLE_BYTES, FileEntry, FilesBundle, check_relative_path

__all__ = ["sha256_of", "sha_map", "bundle_from_contents", "differing_files"]


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def sha_map(files: Mapping[str, bytes]) -> dict[str, str]:
    """{path: sha256 hex} for ``files``."""
    return {path: sha256_of(content) for path, content in files.items()}


def bundle_from_contents(files: Mapping[str, bytes], entry: str,
                         entry_only: bool = False) -> FilesBundle:
    """The `FilesBundle` for ``files`` (paths sorted, so equal inputs give equal bundles)."""
    total = sum(len(c) for c in files.values())
    if total > MAX_BUNDLE_BYTES:
        raise UsageError(
            f"the test files total {total:,} bytes; the limit for shipping them to "
            f"workers is {MAX_BUNDLE_BYTES:,} bytes"
        )
    for path in files:
        try:
            check_relative_path(path)
        except ValueError as exc:
            raise UsageError(f"cannot ship test file: {exc}") from exc
    if entry not in files:
        raise UsageError(f"entry file {entry!r} is not among the test files")
    entries = [FileEntry(p, files[p], sha256_of(files[p])) for p in sorted(files)]
    return FilesBundle(files=entries, entry=entry, entry_only=entry_only)


def differing_files(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """Paths whose sha256 differs between two {path: sha256} maps, or that only one has."""
    return sorted(p for p in expected.keys() | actual.keys() if expected.get(p) != actual.get(p))
