"""`init_command_line_parser` and `environment.parsed_options`.

A Locust script adds its own options in an `init_command_line_parser`
listener, with argparse's `add_argument` plus Locust's keywords (`env_var`,
`include_in_web_ui`, `is_secret`, `is_required`, `is_multiple`). horde hands
it a `LocustArgumentParser`, reads each option's default, overridden by the
config file's setting (`locust.conf`, `--config`), then by its `env_var`,
then by the command line (Locust's order), and gives the result to the
scripts as `environment.parsed_options`.

Invariant: parsing never exits the process; a bad value is a UsageError.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from horde.errors import UsageError

__all__ = ["LocustArgumentParser", "parse_script_options"]

_LOCUST_KEYWORDS = ("include_in_web_ui", "is_secret", "is_required", "is_multiple")


class LocustArgumentParser(argparse.ArgumentParser):
    """argparse with Locust's extra keywords on `add_argument`."""

    def __init__(self, **kwargs: Any) -> None:
        self._ready = False
        super().__init__(prog="horde", add_help=False, exit_on_error=False, **kwargs)
        self._ready = True
        self.env_vars: dict[str, str] = {}
        self.web_ui_options: dict[str, dict[str, Any]] = {}

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        env_var = kwargs.pop("env_var", None)
        extra = {k: kwargs.pop(k) for k in _LOCUST_KEYWORDS if k in kwargs}
        if extra.get("is_multiple"):
            kwargs.setdefault("action", "append")
        action = super().add_argument(*args, **kwargs)
        if env_var:
            self.env_vars[action.dest] = env_var
        self.web_ui_options[action.dest] = extra
        return action

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        if not self._ready:  # argparse's own groups, made in __init__
            return super().add_argument_group(*args, **kwargs)
        return self  # a script's groups only change --help; one flat parser is enough


_TRUE = ("1", "true", "yes", "on")


def _setting(action: argparse.Action, raw: Any) -> Any:
    """A config file's value for `action`, as the command line would have made it."""
    name = "/".join(action.option_strings) or action.dest
    if action.nargs == 0:  # store_true, store_false, store_const: the file says yes or no
        yes = raw.strip().lower() in _TRUE if isinstance(raw, str) else bool(raw)
        return action.const if yes else action.default
    convert = action.type if callable(action.type) else None

    def one(value: Any) -> Any:
        if convert is None or not isinstance(value, str):
            return value
        try:
            return convert(value)
        except (TypeError, ValueError, argparse.ArgumentTypeError):
            raise UsageError(f"config file: {value!r} is not a valid value for {name}") from None

    if isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+") \
            or isinstance(action.nargs, int):
        return [one(v) for v in (raw if isinstance(raw, list) else [raw])]
    return one(raw)


def parse_script_options(parser: LocustArgumentParser, argv: list[str],
                         environ: Mapping[str, str] | None = None,
                         base: Mapping[str, Any] | None = None,
                         settings: Mapping[str, Any] | None = None) -> argparse.Namespace:
    """The options' values: defaults < config-file `settings` < env_var < `argv`, on top
    of `base` (horde's own), as Locust (configargparse) orders them."""
    env = os.environ if environ is None else environ
    try:
        namespace, _ = parser.parse_known_args(argv)
    except argparse.ArgumentError as exc:
        raise UsageError(str(exc)) from None
    given = {a.split("=")[0] for a in argv}
    from_file = settings or {}
    for action in parser._actions:
        if action.dest in from_file and not given.intersection(action.option_strings):
            setattr(namespace, action.dest, _setting(action, from_file[action.dest]))
    for action in parser._actions:
        var = parser.env_vars.get(action.dest)
        if var and var in env and not given.intersection(action.option_strings):
            raw = env[var]
            try:
                value = action.type(raw) if callable(action.type) else raw
            except (TypeError, ValueError):
                raise UsageError(f"{var}={raw!r}: not a valid value for "
                                 f"{'/'.join(action.option_strings)}") from None
            setattr(namespace, action.dest, value)
    for key, value in (base or {}).items():
        if not hasattr(namespace, key):
            setattr(namespace, key, value)
    return namespace
