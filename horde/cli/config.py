"""Options from four sources into one frozen `Config`.

Precedence, lowest first: built-in defaults < `[tool.horde]` in pyproject.toml
or a horde.toml in the working directory (horde.toml wins if both exist, and
horde warns that [tool.horde] is ignored) < `HORDE_*` environment variables <
the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from horde.cli.options import LOCUST_ONLY, OPTIONS, Option, build_parser, convert_value
from horde.errors import UsageError
from horde.plan.arrival import RateStage
from horde.plan.stages import Stage
from horde.stats.checks import Check

__all__ = ["Config", "load_config", "read_config_file"]


@dataclass(frozen=True)
class Config:
    hordefile: str | None = None
    host: str | None = None
    users: int = 1
    spawn_rate: float = 1.0
    run_time: float | None = None
    stages: tuple[Stage, ...] | None = None
    arrival_rate: float | None = None
    arrival_stages: tuple[RateStage, ...] | None = None
    max_lateness: float = 10.0
    headless: bool = False
    tags: tuple[str, ...] | None = None
    exclude_tags: tuple[str, ...] | None = None
    stop_timeout: float = 0.0
    request_timeout: float = 60.0
    local_ips: str | None = None
    csv: str | None = None
    json: str | None = None
    only_summary: bool = False
    loglevel: str = "INFO"
    exit_code_on_error: int = 1
    checks: tuple[Check, ...] = ()
    check_abort: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8089
    web_auth: str | None = None
    web_allowed_host: tuple[str, ...] = ()
    html: str | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    master: bool = False
    worker: bool = False
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    master_bind_host: str = "*"
    master_bind_port: int = 5557
    expect_workers: int = 1
    expect_workers_max_wait: float = 0.0
    processes: int | str | None = None
    curve_keys: str | None = None
    secret_file: str | None = None
    insecure: bool = False
    reconnect_timeout: float = 60.0
    config: str | None = None
    logfile: str | None = None
    list_classes: bool = False
    show_task_ratio: bool = False
    show_task_ratio_json: bool = False
    autostart: bool = False
    autoquit: float | None = None
    reset_stats: bool = False
    csv_full_history: bool = False
    iterations: int | None = None
    user_classes: tuple[str, ...] = field(default_factory=tuple)
    script_args: tuple[str, ...] = field(default_factory=tuple)
    """A Locust script's own flags (`init_command_line_parser`), for horde.compat."""
    script_settings: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    """Config-file settings that are a Locust script's own options, for horde.compat."""


_BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def read_config_file(directory: Path) -> tuple[dict[str, Any], str | None]:
    """The raw settings from horde.toml or pyproject.toml's [tool.horde], and which file;
    without either, Locust's locust.conf or [tool.locust] (see docs/migrating-from-locust.md).

    horde.toml wins when both hold settings; the other is ignored as a whole
    (never merged key by key), and horde warns on stderr, since a setting that
    silently does nothing is worse than either choice.
    """
    found: list[tuple[dict[str, Any], str]] = []
    for name in ("horde.toml", "pyproject.toml"):
        path = directory / name
        if not path.is_file():
            continue
        try:
            data: Any = _read_toml(path)
        except UsageError:
            if found:
                continue  # horde.toml wins anyway: a broken pyproject.toml is not ours to judge
            raise
        if name == "pyproject.toml":
            data = data.get("tool", {}).get("horde")
            if data is None:
                continue
            if not isinstance(data, dict):
                raise UsageError(f"{path}: [tool.horde] must be a table")
        found.append((data, str(path)))
    if not found:
        return _read_locust_files(directory)
    if len(found) > 1:
        print(f"horde: warning: both {found[0][1]} and [tool.horde] in {found[1][1]} hold "
              f"settings; {Path(found[0][1]).name} wins and [tool.horde] is ignored",
              file=sys.stderr)
    return found[0]


def _read_locust_files(directory: Path) -> tuple[dict[str, Any], str | None]:
    conf = directory / "locust.conf"
    if conf.is_file():
        return read_locust_conf(conf), str(conf)
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            data: Any = _read_toml(pyproject).get("tool", {}).get("locust")
        except UsageError:
            return {}, None
        if isinstance(data, dict):
            return {_locust_key(str(k)): v for k, v in data.items()}, \
                f"{pyproject} [tool.locust]"
    return {}, None


# Locust's setting names that horde spells differently.
_LOCUST_KEYS = {"locustfile": "hordefile", "list": "list_classes"}


def _locust_key(key: str) -> str:
    key = key.replace("-", "_")
    return _LOCUST_KEYS.get(key, key)


def read_locust_conf(path: Path) -> dict[str, Any]:
    """Locust's locust.conf: `key = value` lines (`#` comments, `[section]` lines ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read: {exc}") from None
    data: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UsageError(f"{path}:{number}: expected key = value, got {line!r}")
        key = key.strip().replace("-", "_")
        data[_LOCUST_KEYS.get(key, key)] = value.strip().strip('"')
    return data


def read_named_config(path: Path) -> dict[str, Any]:
    """--config FILE: TOML (top-level keys, or [tool.horde]/[tool.locust]) or locust.conf."""
    if not path.is_file():
        raise UsageError(f"--config {path}: no such file")
    if path.suffix == ".toml":
        data = _read_toml(path)
        tool = data.get("tool", {})
        table = tool.get("horde", tool.get("locust", data)) if isinstance(tool, dict) else data
        return {_LOCUST_KEYS.get(k.replace("-", "_"), k): v for k, v in table.items()}
    return read_locust_conf(path)


def _from_file(data: Mapping[str, Any], where: str,
               script: Callable[[str], bool] = lambda key: False,
               ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """(horde's settings, the script's own ones: keys for which `script` says yes)."""
    values: dict[str, Any] = {}
    kept: list[tuple[str, Any]] = []
    for raw_key, raw in data.items():
        key = raw_key.replace("-", "_")
        option = _BY_KEY.get(key)
        if option is None:
            if script(key):
                kept.append((key, raw))
                continue
            known = ", ".join(sorted(o.key.replace("_", "-") for o in OPTIONS))
            raise UsageError(f"{where}: unknown setting {raw_key!r} (known: {known})")
        values[key] = convert_value(option, raw, f"{where}: {raw_key}")
    return values, kept


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        name = option.env_name
        raw = environ.get(name)
        if raw is None:  # Locust's name for it, as an alias (HORDE_* wins)
            name = option.locust_env_name
            raw = environ.get(name)
        if raw is not None:
            values[option.key] = convert_value(option, raw, name)
    return values


def _from_args(namespace: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in vars(namespace).items():
        if key == "user_classes":
            values[key] = tuple(raw)
            continue
        option = _BY_KEY[key]
        values[key] = convert_value(option, raw, "/".join(option.flags))
    return values


def load_config(
    argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    script_flags: bool = False,
    script_options: Collection[str] = (),
) -> Config:
    """Parse `argv` (without the program name) and merge every source into a Config.

    argparse itself exits with status 2 on an unknown flag; every other problem
    raises UsageError. With `script_flags`, flags and config-file settings horde
    does not know are kept for a Locust script to claim once it is loaded
    (`script_args`, `script_settings`); `script_options` names the settings a
    loaded script has claimed (its options' dests).
    """
    parser = build_parser()
    if script_flags:
        # Flags horde does not know may be the script's own (a Locust script's
        # init_command_line_parser): kept in script_args, judged once it is loaded.
        namespace, unknown = parser.parse_known_args(list(argv))
        if any(flag.split("=")[0] in LOCUST_ONLY for flag in unknown):
            parser.error("unrecognized arguments: " + " ".join(unknown))
    else:
        namespace, unknown = parser.parse_args(list(argv)), []
    given = getattr(namespace, "config", None)
    if given is not None:
        file_data, file_name = read_named_config(Path(given)), given
    else:
        file_data, file_name = read_config_file(cwd or Path.cwd())
    merged: dict[str, Any] = {}
    claimed = set(script_options)
    from_file, settings = _from_file(file_data, file_name or "config",
                                     lambda key: script_flags or key in claimed)
    merged.update(from_file)
    merged.update(_from_env(os.environ if environ is None else environ))
    merged.update(_from_args(namespace))
    config = Config(**merged, script_args=tuple(unknown), script_settings=tuple(settings))
    if config.master and config.worker:
        raise UsageError("--master and --worker exclude each other")
    if config.check_abort and not config.checks:
        raise UsageError("--check-abort needs at least one --check EXPR to act on")
    if config.worker and config.metrics_port is not None:
        raise UsageError("--metrics-port goes on the master (or a local run): its metrics are "
                         "the fleet's merged view, with per-worker series")
    return config
