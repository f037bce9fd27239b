"""The `locust` namespace: installed by the loader only, horde's modules win, restorable."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from horde.compat import install
from horde.compat.markov import MarkovTaskSet, transition
from horde.errors import ScriptError

NAMES = ["locust", "locust.contrib.fasthttp", "locust.exception", "locust.env", "locust.runners",
         "locust.clients", "locust.user", "locust.user.wait_time", "locust.user.task",
         "locust.stats", "locust.event", "locust.log", "gevent", "gevent.lock", "gevent.event",
         "gevent.pool"]


@pytest.fixture(autouse=True)
def no_namespace_yet() -> Iterator[None]:
    """Start from a process without `locust`/`gevent` modules, whatever ran before.

    Tests that load scripts through the loader in this process (tests/cli)
    leave horde's namespace installed, as the CLI's one-run process does.
    """
    def ours(name: str) -> bool:
        return name.split(".")[0] in ("locust", "gevent")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_importing_horde_installs_nothing() -> None:
    code = ("import sys, horde, horde.compat, horde.cli.loader; "
            "print(any(n.split('.')[0] in ('locust', 'gevent') for n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_install_serves_every_module_and_restore_removes_them() -> None:
    session = install()
    try:
        for name in NAMES:
            __import__(name)
            assert sys.modules[name] is session.modules[name]
        import locust

        assert locust.events is session.events
        assert not session.used or True
        from locust import HttpUser  # noqa: F401 - reading a name marks the session used

        assert session.used
    finally:
        session.restore()
    assert all(name not in sys.modules for name in NAMES)


def test_two_installs_share_no_events() -> None:
    first = install()
    first.restore()
    second = install()
    second.restore()
    assert first.events is not second.events


def test_real_locust_on_the_path_loses_and_is_named_at_debug(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "locust"
    fake.mkdir()
    (fake / "__init__.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import locust as real  # the stand-in for a real Locust install

    assert real.REAL
    with caplog.at_level(logging.DEBUG, logger="horde.compat"):
        session = install()
    try:
        import locust

        assert not hasattr(locust, "REAL")
        assert locust is session.modules["locust"]
    finally:
        session.restore()
        sys.modules.pop("locust", None)
    assert any("locust is installed" in r.getMessage() for r in caplog.records)


def test_markov_chain_checks_its_transitions() -> None:
    with pytest.raises(ScriptError, match="'nowhere'"):
        class Bad(MarkovTaskSet):
            @transition("nowhere")
            def a(self) -> None: ...

    class Good(MarkovTaskSet):
        @transition("b")
        def a(self) -> None: ...

        @transition("a", 2)
        def b(self) -> None: ...

    assert Good._horde_first == "a"
    assert Good._horde_chain == {"a": (["b"], [1]), "b": (["a"], [2])}


def test_a_worker_stays_a_worker_when_its_test_starts() -> None:
    from horde.compat.env import Environment
    from horde.compat.runners import LocalRunner, WorkerRunner

    class WorkerRuntime:  # the names horde's runtime classes have
        state = "ready"

    class Counts:
        def counts(self) -> dict[str, int]:
            return {"U": 3}

    class LocalRunnerEngine(Counts):
        pass

    LocalRunnerEngine.__name__ = "LocalRunner"
    env = Environment()
    env.bind(WorkerRuntime())
    test = LocalRunnerEngine()
    env.bind(test)  # the worker's test_start fires with its inner runner
    assert isinstance(env.runner, WorkerRunner) and not isinstance(env.runner, LocalRunner)
    assert env.runner.current_test is test
    assert env.runner.user_count == 3
    assert env.stats.total.num_requests == 0  # a worker keeps no statistics
