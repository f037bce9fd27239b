"""Downloads under `/download/`: the CSV files, the JSON result and the HTML report.

The CSV and JSON bodies are produced by the very writers the CLI uses
(`horde.report.csv_report.write_csv`, `horde.report.json_report.write_json`),
into a private temporary directory, and read back: a download is byte for byte
the file `--csv`/`--json` would write at that moment. The snapshot and run
info are read in the loop (they belong to it); the file work runs in a thread
so a slow disk never stalls the load.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from horde.errors import UsageError
from horde.report.csv_report import csv_paths, write_csv
from horde.report.html_report import render_html
from horde.report.json_report import write_json
from horde.report.model import RunInfo, with_checks
from horde.runtime.control import Controller
from horde.runtime.plantrace import plan_columns
from horde.stats import StatsSnapshot
from horde.stats.checks import CheckWatch

__all__ = ["Downloads", "CSV_KINDS"]

CSV_KINDS = ("stats", "history", "failures")
"""`/download/{kind}.csv`, in the order `csv_paths` returns the files."""


def _csv_bytes(snapshot: StatsSnapshot, kind: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="horde-web-") as tmp:
        prefix = Path(tmp) / "horde"
        write_csv(prefix, snapshot)
        return csv_paths(prefix)[CSV_KINDS.index(kind)].read_bytes()


def _json_bytes(snapshot: StatsSnapshot, info: RunInfo) -> bytes:
    with tempfile.TemporaryDirectory(prefix="horde-web-") as tmp:
        path = Path(tmp) / "result.json"
        write_json(path, snapshot, info)
        return path.read_bytes()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


class Downloads:
    def __init__(self, controller: Controller, checks: CheckWatch | None = None) -> None:
        self.controller = controller
        self._checks = checks

    def _read(self) -> tuple[StatsSnapshot, RunInfo]:
        snapshot = self.controller.snapshot()
        return snapshot, with_checks(self.controller.info(), snapshot, self._checks)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/download/{kind}.csv", self.csv)
        app.router.add_get("/download/result.json", self.json)
        app.router.add_get("/download/report.html", self.html)

    async def _file(self, make: Callable[[], bytes], filename: str,
                    content_type: str) -> web.Response:
        try:
            body = await asyncio.to_thread(make)
        except UsageError as exc:
            return web.json_response({"error": str(exc)}, status=500)
        return web.Response(
            body=body,
            content_type=content_type,
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    async def csv(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in CSV_KINDS:
            raise web.HTTPNotFound(text=f"no such download: {kind}.csv")
        snapshot = self.controller.snapshot()
        return await self._file(lambda: _csv_bytes(snapshot, kind),
                                f"horde_{_stamp()}_{kind}.csv", "text/csv")

    async def json(self, request: web.Request) -> web.Response:
        snapshot, info = self._read()
        return await self._file(lambda: _json_bytes(snapshot, info),
                                f"horde_{_stamp()}_result.json", "application/json")

    async def html(self, request: web.Request) -> web.Response:
        snapshot, info = self._read()
        ctl = self.controller
        plan = plan_columns([r.t_s for r in snapshot.history], ctl.trace, ctl.load_model)
        return await self._file(lambda: render_html(snapshot, info, plan).encode(),
                                f"horde_{_stamp()}_report.html", "text/html")
