"""`horde` on the command line: options → config → scripts → a run → an exit code.

Exit codes: 0 when every request succeeded; `--exit-code-on-error` (default 1)
when a request failed or a task raised; 2 for a usage error, a broken script or
a result file that could not be written; 3 when a `--check` failed (it wins
over 1; horde.cli.checks).
Nothing reaches the user as a bare traceback: horde's own errors are printed
as one clear message, anything unexpected as one line with its type (exit
code 70; `--loglevel DEBUG` logs the traceback).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from horde.buildinfo import BuildError, decide, require_selected
from horde.cli.config import Config, load_config
from horde.cli.loader import LoadedScripts, choose_classes, default_script, load_scripts
from horde.cli.outputs import check_output_paths
from horde.cli.process import new_loop
from horde.errors import HordeError, ScriptError, UsageError
from horde.runtime.limits import raise_open_files_limit
from horde.user import HttpUser, User, has_tasks
from horde.user.sleep import cooperative_time_sleep

__all__ = ["main", "run", "check_runnable", "prepare_scripts", "class_names_out_of_tags",
           "prepare_locust", "split_script_flags"]


def _setup_logging(level: str, logfile: str | None = None) -> None:
    logging.basicConfig(level=level, format="horde: %(levelname)s: %(message)s", force=True)
    if logfile is not None:
        try:
            handler = logging.FileHandler(logfile, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--logfile {logfile}: {exc}") from None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)


def check_runnable(config: Config, scripts: LoadedScripts) -> LoadedScripts:
    """Refuse, before anything starts, a run that could only do nothing.

    Returns the scripts narrowed to the user classes that have a task to run
    under -T/-E: a class left without tasks gets no users (as in Locust).
    """
    if config.headless and config.users == 0 and scripts.shape is None \
            and config.stages is None:
        # A headless test starts at once with -u users: 0 would idle until -t or Ctrl-C
        # and exit 0 as if the target had passed. The web UI may start from 0.
        raise UsageError("-u/--users is 0: a headless test needs at least one user")
    tags = frozenset(config.tags) if config.tags is not None else None
    exclude = frozenset(config.exclude_tags) if config.exclude_tags is not None else None
    runnable = tuple(c for c in scripts.user_classes if has_tasks(c, tags, exclude))
    if not runnable:
        raise UsageError("no user class has a task to run" +
                         (" with these tags" if tags or exclude else
                          "; give each user class at least one @task"))
    # Without --headless the start form (or POST /api/start) may still give the host.
    missing_host = [c.__name__ for c in runnable
                    if issubclass(c, HttpUser) and not (config.host or c.host)]
    if missing_host and config.headless:
        raise UsageError(f"no host for {', '.join(missing_host)}: pass -H http://HOST:PORT "
                         "or set `host = ...` on the class")
    return replace(scripts, user_classes=runnable)


def class_names_out_of_tags(config: Config,
                            classes: Sequence[type[User]]) -> tuple[Config, list[str]]:
    """Give back to the positional class names the words -T/-E swallowed.

    argparse cannot tell where `-T browse Shop` ends: `-T` takes one or more
    words (as in Locust), so "Shop" lands among the tags. A word of a -T/-E
    list that names a user class of the script and is no task's tag is a class
    name; it moves to the classes, unless it is the list's only word (`-T Shop`
    then stays a tag, as written). Returns the config and the words moved.
    """
    names = {c.__name__ for c in classes}

    def is_tag(word: str) -> bool:
        return any(has_tasks(c, frozenset({word}), None) for c in classes)

    moved: list[str] = []

    def keep(words: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if not words:
            return words
        kept = tuple(w for w in words if w not in names or is_tag(w))
        if not kept:
            return words
        moved.extend(w for w in words if w not in kept)
        return kept

    tags, exclude = keep(config.tags), keep(config.exclude_tags)
    if not moved:
        return config, []
    classes_wanted = tuple(dict.fromkeys((*config.user_classes, *moved)))
    return replace(config, tags=tags, exclude_tags=exclude, user_classes=classes_wanted), moved


def prepare_scripts(config: Config,
                    loaded: LoadedScripts | None = None) -> tuple[Config, LoadedScripts]:
    """Load the -f script (unless given), read class names out of -T/-E, choose and
    check the classes."""
    if loaded is None:
        path = Path(config.hordefile) if config.hordefile else default_script(Path.cwd())
        loaded = load_scripts(path)
    config, moved = class_names_out_of_tags(config, loaded.user_classes)
    if moved:
        plural = "s" if len(moved) > 1 else ""
        print(f"horde: note: {', '.join(moved)} read as user class name{plural}, not as tag "
              "(a class of the script, and no task's tag)", file=sys.stderr)
    chosen = prepare_locust(config, choose_classes(loaded, config.user_classes))
    return config, check_runnable(config, chosen)


def prepare_locust(config: Config, scripts: LoadedScripts) -> LoadedScripts:
    """Hand a Locust script horde's options as `parsed_options`, and `-i` (horde.compat)."""
    session = scripts.locust
    if config.iterations is not None and (session is None or scripts.events is None):
        raise UsageError("-i/--iterations counts the tasks of Locust-style scripts (that "
                         "import locust); for a horde script use -t or raise StopUser")
    if session is not None and scripts.events is not None:
        logging.getLogger(__name__).debug("the script imports locust: horde's locust namespace "
                                          "serves it (horde.compat)")
        base = {"host": config.host, "num_users": config.users, "users": config.users,
                "spawn_rate": config.spawn_rate, "run_time": config.run_time,
                "headless": config.headless, "tags": config.tags,
                "exclude_tags": config.exclude_tags, "iterations": config.iterations,
                "reset_stats": config.reset_stats, "master": config.master,
                "worker": config.worker, "expect_workers": config.expect_workers,
                "locustfile": config.hordefile}
        session.parse_options(list(config.script_args), base=base,
                              settings=dict(config.script_settings))
        session.environment.iterations = config.iterations
    return scripts


def split_script_flags(argv: Sequence[str], config: Config) -> tuple[Config, LoadedScripts]:
    """Tell a Locust script's own flags from horde's, once the script has declared them.

    `config` came from a tolerant parse that found flags (or config-file
    settings) horde does not know. The script is loaded (its
    `init_command_line_parser` listeners add its options); argv's tokens for
    those options, with their values, become `script_args`, the file's
    settings for them `script_settings`, and the rest is parsed again,
    strictly: a flag or setting nobody knows is still an error.
    """
    try:
        path = Path(config.hordefile) if config.hordefile else default_script(Path.cwd())
        loaded = load_scripts(path)
    except ScriptError:
        load_config(argv)  # the unknown flag is the first thing to say (exits 2)
        raise
    session = loaded.locust
    parser = getattr(session, "_parser", None) if loaded.events is not None else None
    known = getattr(parser, "_option_string_actions", {})
    dests = {action.dest for action in getattr(parser, "_actions", ())}
    mine: list[str] = []
    rest: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        action = known.get(token.split("=")[0]) if token.startswith("-") else None
        if action is None:
            rest.append(token)
            i += 1
            continue
        take = 0 if "=" in token or action.nargs == 0 else \
            (action.nargs if isinstance(action.nargs, int) else 1)
        if action.nargs in ("?", "*", "+") and "=" not in token:
            take = 0
            while i + 1 + take < len(tokens) and not tokens[i + 1 + take].startswith("-") \
                    and (action.nargs != "?" or take == 0):
                take += 1
        mine.extend(tokens[i:i + 1 + take])
        i += 1 + take
    strict = load_config(rest, script_options=dests)  # the file's other settings: errors
    return replace(strict, script_args=tuple(mine)), loaded


def run(argv: Sequence[str]) -> int:
    """Everything `main` does, returning the exit code instead of exiting."""
    try:
        if not {"-V", "--version"} & set(argv):  # --version says which build there is
            require_selected(decide())  # HORDE_BUILD=compiled must not run pure Python
    except BuildError as exc:
        print(f"horde: {exc}", file=sys.stderr)
        return 2
    try:
        if argv and argv[0] == "keys":
            from horde.cli.keys import run_keys

            return run_keys(list(argv[1:]))
        if argv and argv[0] == "demo":
            from horde.cli.demo import run_demo

            return run_demo(list(argv[1:]))
        config = load_config(argv, script_flags=True)
        preloaded = None
        if config.script_args or config.script_settings:
            config, preloaded = split_script_flags(argv, config)
        _setup_logging(config.loglevel, config.logfile)
        check_output_paths(config)  # before a script loads or a request leaves
        if config.master or config.worker or config.processes is not None:
            from horde.cli.distributed import run_distributed

            return run_distributed(config)
        if config.list_classes or config.show_task_ratio or config.show_task_ratio_json:
            from horde.cli.inspect import list_classes, show_task_ratio

            path = Path(config.hordefile) if config.hordefile else default_script(Path.cwd())
            loaded = choose_classes(load_scripts(path), config.user_classes)
            print(list_classes(loaded) if config.list_classes else
                  show_task_ratio(loaded, config, config.show_task_ratio_json))
            return 0
        config, scripts = prepare_scripts(config, preloaded)
        raise_open_files_limit()
        if config.headless:
            from horde.cli.headless import run_headless

            main_coro = run_headless(config, scripts)
        else:
            from horde.cli.web_run import run_local_with_web

            main_coro = run_local_with_web(config, scripts)
        with asyncio.Runner(loop_factory=new_loop) as runner:
            return runner.run(main_coro)
    except ScriptError as exc:
        print(f"horde: broken test script: {exc}", file=sys.stderr)
        return 2
    except HordeError as exc:
        print(f"horde: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("horde: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a dump
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"horde: unexpected error: {type(exc).__name__}: {exc} "
              "(run with --loglevel DEBUG for the traceback, and please report it)",
              file=sys.stderr)
        return 70  # EX_SOFTWARE


def main() -> None:
    # The horde command holds the cooperative time.sleep for its whole life, not
    # only while a test runs: a Locust script's `init` listener may spawn a
    # greenlet that calls time.sleep before the test starts (or while the web
    # UI waits for one) and would block the loop (horde/user/sleep.py).
    with cooperative_time_sleep():
        code = run(sys.argv[1:])
    sys.exit(code)
