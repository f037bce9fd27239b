"""Every option horde understands, defined once.

The same table drives the command line (argparse), the configuration files
(`[tool.horde]` in pyproject.toml, or horde.toml) and the `HORDE_*`
environment variables, so the three can never drift apart. Values from each
source go through the option's `convert`, which raises UsageError with words a
user understands.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from horde._version import __version__
from horde.buildinfo import decide as decide_build
from horde.errors import UsageError
from horde.http.source import LocalAddresses, check_local
from horde.plan.arrival import RateStage, parse_rate, parse_rate_stages
from horde.plan.duration import parse_duration
from horde.plan.stages import Stage, parse_stages
from horde.stats.checks import Check, parse_checks

__all__ = ["Option", "OPTIONS", "build_parser", "convert_value"]


def _positive_int(text: Any) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise UsageError(f"expected zero or more, got {value}")
    return value


def _positive_float(text: Any) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"expected a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise UsageError(f"expected a finite number above zero, got {text!r}")
    return value


def _duration(text: Any) -> float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise UsageError(f"expected a duration of zero or more, got {text!r}")
        return float(text)
    return parse_duration(str(text))


def _run_time(text: Any) -> float:
    value = _duration(text)
    if value <= 0:
        raise UsageError(f"expected a run time above zero, got {text!r} "
                         "(leave -t out to run until Ctrl-C)")
    return value


def _stages(value: Any) -> tuple[Stage, ...]:
    if isinstance(value, list | tuple):
        return parse_stages([_str(item) for item in value])
    return parse_stages(_str(value))


def _arrival_rate(text: Any) -> float:
    value = parse_rate(_str(text) if not isinstance(text, int | float) else text)
    if value <= 0:
        raise UsageError(f"--arrival-rate must be above zero, got {text!r}")
    return value


def _local_ips(text: Any) -> str:
    """``auto`` or a list of this machine's addresses (checked here, before any run)."""
    spec = _str(text).strip()
    try:
        policy = LocalAddresses.from_spec(spec)
    except ValueError as exc:
        raise UsageError(f"--local-ips: {exc}") from None
    problem = check_local(policy)
    if problem is not None:
        raise UsageError(problem)
    return spec


def _arrival_stages(value: Any) -> tuple[RateStage, ...]:
    if isinstance(value, list | tuple):
        return parse_rate_stages([_str(item) for item in value])
    return parse_rate_stages(_str(value))


def _host_url(text: Any) -> str:
    """A base URL with an http(s) scheme and a host; a path prefix is kept.

    Without a scheme (``127.0.0.1:8080``) it is an error rather than a guess:
    http or https is the user's call, and urlsplit would read ``localhost:8080``
    as the scheme "localhost" and fail much later, request by request.
    """
    url = _str(text).strip()
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise UsageError(f"{url!r} has no scheme; write http://{url} (or https://{url})")
    if scheme.lower() not in ("http", "https"):
        raise UsageError(f"{url!r}: horde speaks http:// and https:// only, not {scheme}://")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a valid URL: {exc}") from None
    if not parts.hostname:
        raise UsageError(f"{url!r} names no host; e.g. http://127.0.0.1:8080")
    if parts.query or parts.fragment:
        raise UsageError(f"{url!r}: a base URL takes no ?query or #fragment")
    return url


def _bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise UsageError(f"expected true or false, got {text!r}")


def _str(text: Any) -> str:
    if not isinstance(text, str):
        raise UsageError(f"expected text, got {text!r}")
    return text


def _str_list(text: Any) -> tuple[str, ...]:
    # "a,b" from the environment, ["a", "b"] from TOML, [["a"], ["b", "c"]] from argparse.
    if isinstance(text, str):
        items = text.split(",")
    elif isinstance(text, list | tuple):
        items = []
        for item in text:
            items.extend(_str_list(item))
    else:
        raise UsageError(f"expected a list of names, got {text!r}")
    return tuple(i.strip() for i in items if i.strip())


def _checks(text: Any) -> tuple[Check, ...]:
    # ["p95<1s", ...] from argparse or TOML; "p95<1s; fail_ratio<1%" from the environment
    # (a check holds no ';', while a comma may be part of an endpoint's name).
    if isinstance(text, str):
        return parse_checks(t for t in text.split(";") if t.strip())
    if isinstance(text, list | tuple) and all(isinstance(t, str | Check) for t in text):
        return tuple(t if isinstance(t, Check) else parse_checks([t])[0] for t in text)
    raise UsageError(f"expected a list of checks such as [\"p95 < 300ms\"], got {text!r}")


def _processes(text: Any) -> int | str:
    if str(text).strip().lower() == "auto":
        return "auto"
    value = _positive_int(text)
    if value < 1:
        raise UsageError("expected 'auto' or a number of worker processes of 1 or more")
    return value


def _exit_code(text: Any) -> int:
    value = _positive_int(text)
    if value > 255:
        # A shell sees only the low 8 bits: 256 would read as success.
        raise UsageError(f"expected an exit code from 0 to 255, got {value}")
    return value


def _port(text: Any) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise UsageError(f"expected a port number up to 65535, got {value}")
    return value


def _user_password(text: Any) -> str:
    value = _str(text)
    if ":" not in value or value.startswith(":"):
        raise UsageError("expected user:password")
    return value


def _allowed_hosts(text: Any) -> tuple[str, ...]:
    # Imported here: the web layer (aiohttp) loads only when a UI is served.
    from horde.web.guard import parse_allowed_host

    return tuple(dict.fromkeys(parse_allowed_host(name) for name in _str_list(text)))


def _loglevel(text: Any) -> str:
    level = str(text).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise UsageError(f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {text!r}")
    return level


@dataclass(frozen=True)
class Option:
    """One option: its config key, flags, conversion and help."""

    key: str  # the Config field and the TOML key (with - for _)
    flags: tuple[str, ...]
    convert: Callable[[Any], Any]
    default: Any
    help: str
    metavar: str | None = None
    flag_only: bool = False  # a switch (store_true) on the command line
    nargs: str | None = None
    repeat: bool = False  # one value per use of the flag, given as often as needed

    @property
    def env_name(self) -> str:
        return "HORDE_" + self.key.upper()

    @property
    def locust_env_name(self) -> str:
        """Locust's variable for the same option (LOCUST_USERS), an alias of env_name."""
        return "LOCUST_" + {"hordefile": "locustfile"}.get(self.key, self.key).upper()


OPTIONS: tuple[Option, ...] = (
    Option("hordefile", ("-f", "--hordefile", "--locustfile"), _str, None,
           "test script (.py) or directory of scripts; default hordefile.py, else locustfile.py",
           "PATH"),
    Option("host", ("-H", "--host"), _host_url, None,
           "base URL of the target, e.g. http://127.0.0.1:8080 or http://HOST/api (a path "
           "prefix is put before every relative URL); overrides the classes' host",
           "URL"),
    Option("users", ("-u", "--users"), _positive_int, 1, "peak number of concurrent users", "N"),
    Option("spawn_rate", ("-r", "--spawn-rate"), _positive_float, 1.0,
           "users started (or stopped) per second", "RATE"),
    Option("run_time", ("-t", "--run-time"), _run_time, None,
           "stop after this long, e.g. 30s, 5m, 1h30m (default: until Ctrl-C)", "TIME"),
    Option("stages", ("--stages",), _stages, None,
           "ramp the users linearly through stages instead of -u/-r, e.g. "
           "\"30s:100,2m:100,30s:0\"; the test ends after the last (see docs/load-models.md)",
           "STAGES"),
    Option("headless", ("--headless",), _bool, False,
           "start at once without the web UI and print statistics to the terminal",
           flag_only=True),
    # --- the open model (docs/load-models.md) ---
    Option("arrival_rate", ("--arrival-rate",), _arrival_rate, None,
           "the open model: start RATE iterations (task runs) per second over all processes, "
           "whatever the target does; -u is then the most users busy at once and wait_time "
           "is ignored", "RATE"),
    Option("arrival_stages", ("--arrival-stages",), _arrival_stages, None,
           "the open model with a ramping rate: from --arrival-rate (default 0) linearly "
           "through stages, e.g. \"30s:100,2m:100,30s:0\"; the test ends after the last",
           "STAGES"),
    Option("max_lateness", ("--max-lateness",), _run_time, 10.0,
           "the open model: an iteration that found no free user for this long is dropped "
           "and counted (default 10s)", "TIME"),
    Option("tags", ("-T", "--tags"), _str_list, None,
           "run only tasks with one of these tags", "TAG", nargs="+"),
    Option("exclude_tags", ("-E", "--exclude-tags"), _str_list, None,
           "never run tasks with one of these tags", "TAG", nargs="+"),
    Option("stop_timeout", ("--stop-timeout",), _duration, 0.0,
           "at stop, let running tasks finish for up to this long (default 0: only "
           "requests already sent are awaited)", "TIME"),
    Option("request_timeout", ("--request-timeout",), _positive_float, 60.0,
           "default timeout of one request, in seconds", "SECONDS"),
    Option("local_ips", ("--local-ips",), _local_ips, None,
           "send from these addresses of this machine, round-robin per connection "
           "(IP, IP-IP or CIDR, comma-separated; default auto: loopback targets get "
           "127.0.0.1-127.0.0.16, others the kernel's choice)", "IPS"),
    Option("csv", ("--csv",), _str, None,
           "write PREFIX_stats.csv, PREFIX_stats_history.csv and PREFIX_failures.csv",
           "PREFIX"),
    Option("json", ("--json",), _str, None, "write the result as JSON (see docs/results.md)",
           "FILE"),
    Option("only_summary", ("--only-summary",), _bool, False,
           "print only the final summary, no live statistics", flag_only=True),
    Option("loglevel", ("-L", "--loglevel"), _loglevel, "INFO",
           "DEBUG, INFO, WARNING, ERROR or CRITICAL", "LEVEL"),
    Option("exit_code_on_error", ("--exit-code-on-error",), _exit_code, 1,
           "exit code when any request failed or a task raised", "CODE"),
    Option("checks", ("--check",), _checks, (),
           "a threshold judged at the end, e.g. 'p95 < 300ms', 'fail_ratio < 1%', "
           "'rps > 100', 'GET /cart: p99 < 1s'; repeat for more; exit code 3 when one "
           "fails (see docs/thresholds.md)", "EXPR", repeat=True),
    Option("check_abort", ("--check-abort",), _bool, False,
           "stop the run as soon as a --check fails (judged once a second)", flag_only=True),
    # --- web UI ---
    Option("web_host", ("--web-host",), _str, "127.0.0.1",
           "interface of the web UI (0.0.0.0 for all)", "HOST"),
    Option("web_port", ("--web-port",), _port, 8089,
           "port of the web UI (0: any free port; horde prints the URL)", "PORT"),
    Option("web_auth", ("--web-auth",), _user_password, None,
           "protect the web UI with HTTP basic auth", "USER:PASSWORD"),
    Option("web_allowed_host", ("--web-allowed-host",), _allowed_hosts, (),
           "a host name the web UI answers to besides localhost, 127.0.0.1, [::1] and "
           "--web-host (repeat for more; see docs/web-ui.md)", "NAME", repeat=True),
    Option("html", ("--html",), _str, None,
           "write a self-contained HTML report at the end", "FILE"),
    # --- metrics ---
    Option("metrics_port", ("--metrics-port",), _port, None,
           "serve Prometheus metrics at http://METRICS-HOST:PORT/metrics (local run or "
           "master, headless too; the web UI serves /metrics anyway)", "PORT"),
    Option("metrics_host", ("--metrics-host",), _str, "127.0.0.1",
           "interface of --metrics-port (0.0.0.0 for all)", "HOST"),
    # --- distributed ---
    Option("master", ("--master",), _bool, False,
           "coordinate workers; they run the users", flag_only=True),
    Option("worker", ("--worker",), _bool, False,
           "run users for a master (--master-host, --master-port)", flag_only=True),
    Option("master_host", ("--master-host",), _str, "127.0.0.1",
           "where a worker finds its master", "HOST"),
    Option("master_port", ("--master-port",), _port, 5557, "the master's port, for a worker",
           "PORT"),
    Option("master_bind_host", ("--master-bind-host",), _str, "*",
           "interface the master listens on for workers", "HOST"),
    Option("master_bind_port", ("--master-bind-port",), _port, 5557,
           "port the master listens on for workers", "PORT"),
    Option("expect_workers", ("--expect-workers",), _positive_int, 1,
           "a headless master starts once this many workers are connected "
           "(--processes N waits for its own N)", "N"),
    Option("expect_workers_max_wait", ("--expect-workers-max-wait",), _duration, 0.0,
           "give up when the workers are not all there after this long (0: wait forever)",
           "TIME"),
    Option("processes", ("--processes",), _processes, None,
           "run a master plus N local worker processes ('auto': one per core)", "N|auto"),
    Option("curve_keys", ("--curve-keys",), _str, None,
           "directory of per-worker CURVE keys made by `horde keys` (instead of a shared "
           "secret; see docs/security.md)", "DIR"),
    Option("secret_file", ("--secret-file",), _str, None,
           "file holding the fleet's shared secret (or set HORDE_SECRET): master and "
           "workers derive their CURVE keys from it (see docs/security.md)", "FILE"),
    Option("insecure", ("--insecure",), _bool, False,
           "an open fleet: no secret, no encryption; anyone who reaches the master's port "
           "can join, and a worker runs any master's scripts (warned at every start)",
           flag_only=True),
    Option("reconnect_timeout", ("--reconnect-timeout",), _duration, 60.0,
           "how long a worker that lost its master keeps trying to reconnect", "TIME"),
    # --- the flags Locust users type (see docs/migrating-from-locust.md) ---
    Option("config", ("--config",), _str, None,
           "read options from this file: TOML (as horde.toml) or Locust's locust.conf "
           "format (key = value)", "FILE"),
    Option("logfile", ("--logfile",), _str, None, "write horde's log to this file too",
           "FILE"),
    Option("list_classes", ("-l", "--list"), _bool, False,
           "print the user classes of the script and exit", flag_only=True),
    Option("show_task_ratio", ("--show-task-ratio",), _bool, False,
           "print each user class's share and its tasks' ratios, and exit", flag_only=True),
    Option("show_task_ratio_json", ("--show-task-ratio-json",), _bool, False,
           "the same as --show-task-ratio, as JSON", flag_only=True),
    Option("autostart", ("--autostart",), _bool, False,
           "with the web UI: start the test at once with -u/-r/-t", flag_only=True),
    Option("autoquit", ("--autoquit",), _duration, None,
           "with --autostart: quit this long after the test ends", "TIME"),
    Option("reset_stats", ("--reset-stats",), _bool, False,
           "forget the statistics once every user has started", flag_only=True),
    Option("csv_full_history", ("--csv-full-history",), _bool, False,
           "accepted for Locust scripts; horde's history CSV has the aggregated row per "
           "second", flag_only=True),
    Option("iterations", ("-i", "--iterations"), _positive_int, None,
           "stop the test once this many tasks have run (over all users)", "N"),
)


def convert_value(option: Option, value: Any, source: str) -> Any:
    """Convert one raw value, naming the option and where it came from on error."""
    try:
        return option.convert(value)
    except UsageError as exc:
        raise UsageError(f"{source}: {exc}") from None


_EPILOG = """\
configuration: every option can also come from a horde.toml (top-level keys, e.g.
  spawn-rate = 10) or [tool.horde] in pyproject.toml (else Locust's locust.conf or
  [tool.locust]), in the working directory, or --config FILE, and from HORDE_* environment
  variables (HORDE_USERS=100; LOCUST_* too); the command line wins over the
  environment, which wins over the file (docs/options.md).

exit codes: 0 all requests succeeded (and every --check passed); 1 a request failed or a
  task raised (--exit-code-on-error); 2 a usage error, a broken script or an unwritable
  result file; 3 a --check failed; 70 an unexpected error in horde.

`horde demo` runs a demonstration against a built-in target; `horde keys DIR` makes CURVE
keys for --curve-keys. Documentation: docs/index.md."""


def _help_with_default(option: Option) -> str:
    """The help text, with the default when it says something (not for switches or lists)."""
    text = option.help
    default = option.default
    if option.flag_only or default is None or default == () or "(default" in text:
        return text
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{text} (default: {shown})"


# Locust flags horde does not have, with what to do instead.
LOCUST_ONLY = {
    "--web-login": "use --web-auth USER:PASSWORD",
    "--class-picker": "pick classes by naming them after the options",
    "--modern-ui": "horde has one web UI", "--legacy-ui": "horde has one web UI",
    "--tls-cert": "put a TLS proxy in front of the web UI",
    "--tls-key": "put a TLS proxy in front of the web UI",
    "--web-base-path": "serve the web UI at its own path",
    "--skip-log-setup": "horde sets logging up with -L/--logfile",
    "--print-stats": "the live table is on unless --only-summary",
    "--equal-weights": "set `weight` on the classes",
    "--enable-rebalancing": "horde rebalances workers by itself",
    "--heartbeat-liveness": "horde decides liveness on its own",
    "--processes": "",
}


class _Parser(argparse.ArgumentParser):
    """argparse, with a sentence naming an unsupported flag instead of a bare error."""

    def error(self, message: str) -> NoReturn:
        if "unrecognized arguments:" in message:
            flags = message.split("unrecognized arguments:")[1].split()
            for flag in flags:
                name = flag.split("=")[0]
                if name in LOCUST_ONLY:
                    hint = LOCUST_ONLY[name]
                    self.exit(2, f"horde: {name} is a Locust option horde does not support"
                                 f"{'; ' + hint if hint else ''}\n")
            self.exit(2, f"horde: unknown option {flags[0]} (horde --help lists the options; "
                         "docs/migrating-from-locust.md the Locust ones)\n")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The command line. Defaults are left out on purpose (SUPPRESS): precedence
    is decided by horde.cli.config, which needs to know what was really given;
    the help shows them in words instead."""
    parser = _Parser(
        prog="horde",
        description="Load test a service with users written in plain Python.",
        argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    for option in OPTIONS:
        text = _help_with_default(option).replace("%", "%%")  # argparse formats help with %
        if option.flag_only:
            parser.add_argument(*option.flags, dest=option.key, action="store_const",
                                const=True, help=text)
        else:
            parser.add_argument(*option.flags, dest=option.key, metavar=option.metavar,
                                help=text, nargs=option.nargs,
                                action="append" if option.nargs or option.repeat else "store")
    parser.add_argument("user_classes", nargs="*", metavar="UserClass",
                        help="run only these user classes (default: all in the file)")
    parser.add_argument("--version", "-V", action="version",
                        version=f"horde {__version__} ({decide_build().describe()})")
    return parser
