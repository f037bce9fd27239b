"""HttpUser with a private CA (`ssl_context = make_context(cafile=...)`), against a real
HTTPS server on loopback whose certificate that CA signed."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from user_fakes import FakeEnv, run

from horde.http.tls import make_context
from horde.user import HttpUser, task

pytestmark = pytest.mark.timeout(30)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A private CA and a server certificate for localhost that it signed."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
             "-days", "1", "-subj", "/CN=horde test CA")
    _openssl("req", *ec, "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"),
             "-subj", "/CN=localhost")
    (d / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
             "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "server.pem"),
             "-days", "1", "-extfile", str(d / "ext.cnf"))
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


async def _fetch_with(user_cls: type[HttpUser], pki: dict[str, Path]) -> tuple[Any, Any]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello over tls")

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pki["cert"], pki["key"])
    app = web.Application()
    app.add_routes([web.get("/", hello)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    env = FakeEnv(host=f"https://localhost:{port}")
    try:
        user = user_cls(env)
        try:
            response = await user.client.get("/")
        finally:
            await user.client.aclose()
    finally:
        await runner.cleanup()
    return response, env.requests


def test_a_private_ca_on_the_class_is_trusted(pki: dict[str, Path]) -> None:
    class Internal(HttpUser):
        ssl_context = make_context(cafile=str(pki["ca"]))

        @task
        def t(self) -> None: ...

    response, recorded = run(_fetch_with(Internal, pki))
    assert response.status_code == 200 and response.text == "hello over tls"
    assert [r[4] for r in recorded] == [None]


def test_without_it_the_certificate_is_refused(pki: dict[str, Path]) -> None:
    class Default(HttpUser):
        @task
        def t(self) -> None: ...

    response, recorded = run(_fetch_with(Default, pki))
    assert response.status_code == 0 and str(response.error).startswith("TLSError")
    assert str(recorded[0][4]).startswith("TLSError")
