"""`-l/--list` and `--show-task-ratio(-json)`: what a script would run, without running it.

Ratios are Locust's: a class's share of the users (by weight; `fixed_count`
classes are listed with their count), and each task's share within its
holder, nested TaskSets expanded.
"""

from __future__ import annotations

import json
from typing import Any

from horde.cli.config import Config
from horde.cli.loader import LoadedScripts
from horde.user.table import TASKSET, task_table

__all__ = ["list_classes", "task_ratios", "show_task_ratio"]


def list_classes(scripts: LoadedScripts) -> str:
    return "\n".join(c.__name__ for c in scripts.user_classes)


def _tasks(holder: type, config: Config, seen: frozenset[type]) -> dict[str, Any]:
    tags = frozenset(config.tags) if config.tags is not None else None
    exclude = frozenset(config.exclude_tags) if config.exclude_tags is not None else None
    table = task_table(holder, tags, exclude)
    total = sum(e.weight for e in table.entries) or 1
    out: dict[str, Any] = {}
    for entry in table.entries:
        name = getattr(entry.fn, "__name__", repr(entry.fn))
        row: dict[str, Any] = {"ratio": entry.weight / total}
        if entry.kind == TASKSET and entry.fn not in seen:
            row["tasks"] = _tasks(entry.fn, config, seen | {entry.fn})
        out[name] = row
    return out


def task_ratios(scripts: LoadedScripts, config: Config) -> dict[str, Any]:
    weights = {c.__name__: float(getattr(c, "weight", 1)) for c in scripts.user_classes
               if not getattr(c, "fixed_count", 0)}
    total = sum(weights.values()) or 1.0
    result: dict[str, Any] = {}
    for cls in scripts.user_classes:
        fixed = getattr(cls, "fixed_count", 0)
        result[cls.__name__] = {
            "ratio": weights.get(cls.__name__, 0.0) / total,
            **({"fixed_count": fixed} if fixed else {}),
            "tasks": _tasks(cls, config, frozenset({cls})),
        }
    return result


def _lines(tree: dict[str, Any], depth: int) -> list[str]:
    lines = []
    for name, row in tree.items():
        share = f"{row['ratio'] * 100:.1f}%" if "fixed_count" not in row else \
            f"fixed {row['fixed_count']}"
        lines.append(f"{'  ' * depth}{share:>8}  {name}")
        if "tasks" in row:
            lines.extend(_lines(row["tasks"], depth + 1))
    return lines


def show_task_ratio(scripts: LoadedScripts, config: Config, as_json: bool) -> str:
    ratios = task_ratios(scripts, config)
    if as_json:
        return json.dumps(ratios, indent=2)
    return "\n".join(_lines(ratios, 0))
