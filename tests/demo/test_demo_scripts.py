"""The bundled hordefile and examples/: well-formed, documented, in step with the shop.

Static checks always run. The live check (each script's users driven for a
bounded number of requests against an in-process demo shop, with a small fake
run environment) runs once `horde` exports the scripting API and
`horde.http.HttpSession` exists; until then it is skipped with the reason.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import importlib.util
import py_compile
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from horde.demo import app as shop
from horde.errors import StopUser
from horde.events import Events
from horde.gate import Gate
from tests.support.aio import run_async

REPO = Path(__file__).resolve().parents[2]
HORDEFILE = REPO / "horde" / "demo" / "hordefile.py"
EXAMPLES = sorted((REPO / "examples").glob("*.py"))
SCRIPTS = [HORDEFILE, *EXAMPLES]

EXPECTED_EXAMPLES = {
    "browse", "login_flow", "catch_response", "name_grouping",
    "async_tasks", "tasksets", "events_hooks",
}

# The scripting API scripts may import from `horde` (docs/dev/contracts.md and
# the user package's assignment).
PUBLIC_API = {
    "User", "HttpUser", "FastHttpUser", "task", "tag", "between", "constant",
    "constant_pacing", "constant_throughput", "TaskSet", "SequentialTaskSet",
    "sleep", "events", "StopUser", "RescheduleTask", "InterruptTaskSet",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_every_example_is_there() -> None:
    assert {p.stem for p in EXAMPLES} >= EXPECTED_EXAMPLES


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_compiles(path: Path, tmp_path: Path) -> None:
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_imports_only_the_public_api(path: Path) -> None:
    imported: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module == "horde":
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("horde."):
            pytest.fail(f"{path.name} imports horde internals: {node.module}")
    assert imported, f"{path.name} imports nothing from horde"
    assert imported <= PUBLIC_API, imported - PUBLIC_API


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_defines_a_user_class(path: Path) -> None:
    bases = {
        base.id
        for node in _tree(path).body
        if isinstance(node, ast.ClassDef)
        for base in node.bases
        if isinstance(base, ast.Name)
    }
    assert bases & {"User", "HttpUser", "FastHttpUser"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_docstring_says_what_and_how(path: Path) -> None:
    doc = ast.get_docstring(_tree(path)) or ""
    assert "What it shows" in doc
    assert "python -m horde.demo.app --port 8080" in doc
    assert f"horde -f examples/{path.name} -H http://127.0.0.1:8080 --headless" in doc


def test_hordefile_constants_match_the_shop() -> None:
    values: dict[str, Any] = {}
    for node in _tree(HORDEFILE).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    assert values["PASSWORD"] == shop.DEMO_PASSWORD
    assert values["CATALOGUE_SIZE"] == shop.CATALOGUE_SIZE
    assert values["PAGES"] == -(-shop.CATALOGUE_SIZE // shop.PAGE_SIZE)


# --- live: drive the scripts' users against an in-process shop -----------------


def _scripting_api_ready() -> str | None:
    """None when the scripts can run, else why not."""
    horde = importlib.import_module("horde")
    missing = sorted(name for name in PUBLIC_API if not hasattr(horde, name))
    if missing:
        return f"horde does not export {', '.join(missing)} yet"
    try:
        importlib.import_module("horde.http").HttpSession  # noqa: B018
    except (ImportError, AttributeError):
        return "horde.http.HttpSession does not exist yet"
    return None


class FakeEnvironment:
    """A `UserEnvironment` that closes the gate after `limit` requests."""

    def __init__(self, host: str, limit: int) -> None:
        self.host: str | None = host
        self.gate = Gate()
        self.events = Events()
        self.tags: frozenset[str] | None = None
        self.exclude_tags: frozenset[str] | None = None
        self.request_timeout = 60.0
        self.limit = limit
        self.records: list[tuple[str, str, int, str | None]] = []
        self.exceptions: list[tuple[str, BaseException]] = []

    def record(self, method: str, name: str, latency_us: int, size: int,
               error: str | None, ttfb_us: int) -> None:
        self.records.append((method, name, size, error))
        if len(self.records) >= self.limit:
            self.gate.close()

    async def wait(self, seconds: float) -> None:
        if self.gate.closed:
            raise StopUser()
        await asyncio.sleep(0)  # no think time: the test is bounded by request count

    def record_exception(self, where: str, exc: BaseException) -> None:
        self.exceptions.append((where, exc))

    def clock(self) -> float:
        return time.monotonic()


def _load(path: Path) -> ModuleType:
    name = f"_horde_script_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _user_classes(module: ModuleType) -> list[type]:
    user_base = importlib.import_module("horde").User
    return [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, user_base)
        and value.__module__ == module.__name__
    ]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
@run_async
async def test_script_runs_against_the_demo_shop(path: Path) -> None:
    reason = _scripting_api_ready()
    if reason:
        pytest.skip(reason)
    module = _load(path)
    classes = _user_classes(module)
    assert classes
    server = TestServer(shop.make_app(seed=99, latency_scale=0.0), host="127.0.0.1")
    await server.start_server()
    try:
        host = str(server.make_url("")).rstrip("/")
        total = 0
        for cls in classes:
            env = FakeEnvironment(host, limit=40)
            user = cls(env)
            await asyncio.wait_for(user.run(), 20)
            assert not env.exceptions, f"{cls.__name__} raised: {env.exceptions}"
            assert env.records, f"{cls.__name__} made no request"
            # Only script-chosen failures and the shop's flaky checkout, never a network error.
            for _, _, _, error in env.records:
                assert error is None or not error.startswith(("Connect", "Read", "Connection"))
            total += len(env.records)
        counts = await _get_counts(server)
        assert counts["answered"] == total
    finally:
        await server.close()


async def _get_counts(server: TestServer) -> Any:
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url("/__counts")) as response:
            return await response.json()


@run_async
async def test_hordefile_buyer_names_the_checkout_failure() -> None:
    reason = _scripting_api_ready()
    if reason:
        pytest.skip(reason)
    buyer = _load(HORDEFILE).Buyer
    app = shop.make_app(seed=5, latency_scale=0.0, checkout_failure_rate=1.0)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        env = FakeEnvironment(str(server.make_url("")).rstrip("/"), limit=60)
        await asyncio.wait_for(buyer(env).run(), 20)
        assert not env.exceptions
        checkouts = [error for method, name, _, error in env.records if name == "/checkout"]
        assert checkouts
        assert set(checkouts) == {"checkout: payment service unavailable (502)"}
        # on_start logged in first; the later cart requests relied on its cookie.
        assert env.records[0][:2] == ("POST", "/login") and env.records[0][3] is None
        assert all(error is None for _, name, _, error in env.records if name == "/cart")
    finally:
        await server.close()


def test_events_example_listeners_are_found_and_callable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if _scripting_api_ready():
        pytest.skip(str(_scripting_api_ready()))
    from horde.events import listeners_of

    module = _load(REPO / "examples" / "events_hooks.py")
    found = dict(listeners_of(vars(module)))
    assert set(found) == {"test_start", "request", "test_stop"}

    class Run:
        host = "http://127.0.0.1:8080"

    found["test_start"](environment=Run())
    # The keyword names horde's runtime fires the request event with.
    for ms in (10.0, 80.0, 90.0):
        found["request"](request_type="GET", name="/items/[id]", response_time=ms,
                         response_length=100, exception=None)
    found["request"](request_type="GET", name="/x", response_time=500.0,
                     response_length=0, exception="HTTP 500")
    found["test_stop"](environment=Run())
    out = capsys.readouterr().out
    assert "test starting against http://127.0.0.1:8080" in out
    assert "     2  GET /items/[id]" in out
    assert "/x" not in out
