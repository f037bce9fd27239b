"""Imports only point down the layer map of docs/dev/design.md.

Walks every module of the package with `ast` (no import, so no side effects)
and fails on an import of a higher layer, naming the module and the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "horde"

# Modules at the package root and the packages, by layer. A module may import
# its own layer (other than the runtime roles) or any lower one.
LAYERS: dict[str, int] = {
    "_version": 0, "buildinfo": 0, "errors": 0, "bridge": 0, "events": 0, "gate": 0,
    "stats": 0, "plan": 0, "wire": 0,
    "http": 1, "net": 1,
    "user": 2, "report": 2,
    "runtime": 3,
    "web": 4, "compat": 4,
    "cli": 5, "demo": 5,
    "__main__": 6,
}

# Bundled test scripts are loaded as scripts, like a user's, and import the
# public `horde` package; they are not part of the layered code.
SCRIPTS = {PACKAGE / "demo" / "hordefile.py"}


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "horde":
        return None
    if len(parts) == 1:
        return 6  # the package root re-exports the scripting API
    return LAYERS.get(parts[1])


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def _violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in SCRIPTS:
            continue
        module = _module_name(path)
        own = _layer_of(module)
        assert own is not None, f"{module} is in no layer: add it to LAYERS"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for lineno, target in _imports(tree, module, path.name == "__init__.py"):
            layer = _layer_of(target)
            if layer is not None and layer > own:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{lineno} "
                                f"(layer {own}) imports {target} (layer {layer})")
    return problems


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert _layer_of(_module_name(path)) is not None, path


def test_imports_only_point_down() -> None:
    problems = _violations()
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_only_net_imports_zmq() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "net" in path.relative_to(PACKAGE).parts[:1]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for lineno, target in _imports(tree, _module_name(path), path.name == "__init__.py"):
            if target == "zmq" or target.startswith("zmq."):
                offenders.append(f"{path}:{lineno}")
    assert not offenders, offenders


@pytest.mark.parametrize("source, expected", [
    ("from horde.cli import main", 5),
    ("import horde.stats.histogram", 0),
])
def test_layer_lookup(source: str, expected: int) -> None:
    tree = ast.parse(source)
    [(_, target)] = _imports(tree, "horde.x", False)
    assert _layer_of(target) == expected
