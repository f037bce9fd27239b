"""`--metrics-port`: serve Prometheus metrics for the whole life of a run.

Used around a headless run (`horde.cli.headless.drive`) and a web UI run
(`horde.cli.web_run.run_with_web`), for a local run and a master alike. The
server starts before a master waits for its workers, so the fleet is
visible while it gathers, and closes after the summary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rich.console import Console

from horde.cli.config import Config
from horde.runtime.control import Controller
from horde.stats.checks import CheckWatch
from horde.web.metrics import MetricsServer, start_metrics_server

__all__ = ["metrics_served"]


@asynccontextmanager
async def metrics_served(controller: Controller, config: Config, console: Console,
                         checks: CheckWatch | None = None) -> AsyncIterator[MetricsServer | None]:
    """Serve `/metrics` while the block runs when --metrics-port is set (else do nothing)."""
    if config.metrics_port is None:
        yield None
        return
    server = await start_metrics_server(controller, config.metrics_host, config.metrics_port,
                                        checks, allowed_hosts=config.web_allowed_host)
    console.print(f"horde: Prometheus metrics at {server.url}", markup=False, highlight=False)
    try:
        yield server
    finally:
        await server.close()
