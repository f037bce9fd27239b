"""The `locust.*` and `gevent.*` modules a script imports under the horde CLI.

`build_modules(events)` makes fresh module objects, one set per install, so
that the state Locust keeps in module globals (`locust.events`) belongs to
one run and no horde module holds it. `LoadTestShape` is looked up lazily in
`horde.plan.shape`, where horde's own shape lives.

Invariant: building the modules imports horde's scripting API and nothing
else; it starts nothing and touches no global state.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

import horde.errors as errors
from horde._version import __version__
from horde.compat import env as env_mod
from horde.compat import gevent_shim, runners, stats, users
from horde.compat.events import LocustEvents
from horde.compat.markov import MarkovTaskSet, transition, transitions
from horde.compat.single import run_single_user
from horde.compat.users import SequentialTaskSet, TaskSet
from horde.compat.webui import WebUI
from horde.events import EventHook, Events
from horde.http import ResponseContextManager
from horde.user import (
    between,
    constant,
    constant_pacing,
    constant_throughput,
    tag,
    task,
)

__all__ = ["build_modules", "NamespaceModule", "LOCUST_VERSION"]

LOCUST_VERSION = "2.47.0"
"""The Locust release whose script API this namespace follows."""


class NamespaceModule(ModuleType):
    """A module of the namespace; remembers that a script read from it."""

    _horde_used = False

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("__"):
            ModuleType.__setattr__(self, "_horde_used", True)
        return ModuleType.__getattribute__(self, name)


def _shape_getattr(name: str) -> Any:
    if name == "LoadTestShape":
        try:
            return import_module("horde.plan.shape").LoadTestShape
        except ImportError:
            raise ImportError("LoadTestShape is not available in this horde") from None
    raise AttributeError(name)


def _module(name: str, package: Any = False, **attrs: Any) -> NamespaceModule:
    module = NamespaceModule(name, f"horde's compatible {name} (horde {__version__})")
    if package:
        module.__path__ = []  # a package: unknown submodules fail as "No module named ..."
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


class LocustError(Exception):
    """Locust's base error name, for scripts that raise or catch it."""


class ResponseError(Exception):
    pass


class CatchResponseError(Exception):
    pass


class MissingWaitTimeError(LocustError):
    pass


class RunnerAlreadyExistsError(LocustError):
    pass


def _exception_module() -> NamespaceModule:
    return _module(
        "locust.exception", LocustError=LocustError, ResponseError=ResponseError,
        CatchResponseError=CatchResponseError, MissingWaitTimeError=MissingWaitTimeError,
        RunnerAlreadyExistsError=RunnerAlreadyExistsError, StopUser=errors.StopUser,
        RescheduleTask=errors.RescheduleTask, InterruptTaskSet=errors.InterruptTaskSet,
        RescheduleTaskImmediately=errors.RescheduleTask,
        StopTest=errors.StopUser, InterruptTaskSetError=errors.InterruptTaskSet,
    )


def _setup_logging(loglevel: str = "INFO", logfile: str | None = None) -> None:
    """Logging is set up by horde's CLI; a script's call changes only the level."""
    import logging

    logging.getLogger().setLevel(loglevel.upper())


def _stats_printer(stats_obj: Any) -> Any:
    def printer() -> None:
        while True:
            total = stats_obj.total
            print(f"requests {total.num_requests}, failures {total.num_failures}, "
                  f"avg {total.avg_response_time:.1f} ms")
            gevent_shim.sleep(2)

    return printer


def _stats_history(runner: Any) -> None:
    """horde keeps the history itself (one row per second of test time)."""


def build_modules(events: LocustEvents) -> dict[str, NamespaceModule]:
    """Fresh `locust.*` and `gevent.*` modules around one run's events."""
    wait_time = _module("locust.user.wait_time", between=between, constant=constant,
                        constant_pacing=constant_pacing, constant_throughput=constant_throughput)
    user_task = _module("locust.user.task", task=task, tag=tag, TaskSet=TaskSet)
    user_users = _module("locust.user.users", User=users.User, HttpUser=users.HttpUser)
    markov = _module("locust.user.markov_taskset", MarkovTaskSet=MarkovTaskSet,
                     transition=transition, transitions=transitions)
    user = _module("locust.user", package=True, User=users.User, HttpUser=users.HttpUser,
                   TaskSet=TaskSet, SequentialTaskSet=SequentialTaskSet, task=task, tag=tag,
                   wait_time=wait_time, users=user_users, markov_taskset=markov,
                   MarkovTaskSet=MarkovTaskSet)
    fasthttp = _module("locust.contrib.fasthttp", FastHttpUser=users.FastHttpUser,
                       FastHttpSession=users.HttpSession,
                       RestResponseContextManager=users.RestResponseContextManager,
                       ResponseContextManager=ResponseContextManager)
    contrib = _module("locust.contrib", package=True, fasthttp=fasthttp)
    exception = _exception_module()
    env = _module("locust.env", Environment=env_mod.Environment)
    runners_mod = _module("locust.runners", **{n: getattr(runners, n) for n in runners.__all__})
    clients = _module("locust.clients", HttpSession=users.HttpSession,
                      ResponseContextManager=ResponseContextManager)
    stats_mod = _module("locust.stats", RequestStats=stats.RequestStats,
                        StatsEntry=stats.StatsEntry, StatsError=stats.StatsError,
                        PERCENTILES_TO_REPORT=stats.PERCENTILES_TO_REPORT,
                        stats_printer=_stats_printer, stats_history=_stats_history)
    event = _module("locust.event", EventHook=EventHook, Events=Events)
    log = _module("locust.log", setup_logging=_setup_logging,
                  greenlet_exception_logger=lambda *a, **k: (lambda *x: None))
    web = _module("locust.web", WebUI=WebUI)
    shape = _module("locust.shape", __getattr__=_shape_getattr)
    locust = _module(
        "locust", package=True, __version__=LOCUST_VERSION, version=LOCUST_VERSION,
        User=users.User, HttpUser=users.HttpUser, FastHttpUser=users.FastHttpUser,
        TaskSet=TaskSet, SequentialTaskSet=SequentialTaskSet, MarkovTaskSet=MarkovTaskSet,
        transition=transition, transitions=transitions, task=task, tag=tag, between=between,
        constant=constant, constant_pacing=constant_pacing,
        constant_throughput=constant_throughput, events=events,
        run_single_user=run_single_user, __getattr__=_shape_getattr,
        user=user, contrib=contrib, exception=exception, env=env, runners=runners_mod,
        clients=clients, stats=stats_mod, event=event, log=log, web=web, shape=shape,
    )
    gevent = _module("gevent", package=True, **{n: getattr(gevent_shim, n) for n in (
        "sleep", "spawn", "spawn_later", "joinall", "killall", "Greenlet", "GreenletExit",
        "Timeout")}, getcurrent=lambda: None, idle=lambda *a: gevent_shim.sleep(0))
    gevent_lock = _module("gevent.lock", Semaphore=gevent_shim.Semaphore,
                          BoundedSemaphore=gevent_shim.BoundedSemaphore,
                          RLock=gevent_shim.RLock)
    gevent_event = _module("gevent.event", Event=gevent_shim.Event,
                           AsyncResult=gevent_shim.AsyncResult)
    gevent_pool = _module("gevent.pool", Pool=gevent_shim.Pool, Group=gevent_shim.Group)
    gevent_monkey = _module("gevent.monkey", patch_all=gevent_shim.patch_all,
                            **{f"patch_{n}": gevent_shim.patch_all for n in (
                                "socket", "ssl", "time", "thread", "select")})
    for name, sub in (("lock", gevent_lock), ("event", gevent_event), ("pool", gevent_pool),
                      ("monkey", gevent_monkey)):
        setattr(gevent, name, sub)
    modules = [locust, user, wait_time, user_task, user_users, markov, contrib, fasthttp,
               exception, env, runners_mod, clients, stats_mod, event, log, web, shape,
               gevent, gevent_lock, gevent_event, gevent_pool, gevent_monkey]
    return {m.__name__: m for m in modules}
