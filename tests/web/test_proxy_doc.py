"""docs/web-ui.md's reverse-proxy advice, run for real: nginx on a port of its own.

Behind a proxy on a non-default port the page's Origin names that port; the
proxy must pass the Host header with it (`$http_host`), or every action is
refused (`$host` drops the port). The test takes the directive from the doc
itself, so the doc cannot drift back to the broken one.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.target import Target
from tests.web.harness import LiveUI, http_json
from tests.web.scripts import PlainVisitor
from tests.web.waiting import wait_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "web-ui.md"
CONF = """
daemon off;
master_process off;
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            {directive}
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def nginx_at(tmp_path: Path) -> Iterator[object]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed (Debian package nginx)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(upstream: str, directive: str) -> int:
        port = _free_port()
        d = tmp_path / f"nginx{len(procs)}"
        d.mkdir()
        conf = d / "nginx.conf"
        conf.write_text(CONF.format(d=d, port=port, upstream=upstream, directive=directive))
        procs.append(subprocess.Popen([binary, "-c", str(conf), "-p", str(d)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        wait_for(lambda: _answers(port) or procs[-1].poll() is not None, bool,
                 what="nginx listening")
        assert procs[-1].poll() is None, procs[-1].stderr.read() if procs[-1].stderr else ""
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_the_documented_proxy_header_lets_actions_through(plain_target: Target,
                                                          nginx_at: object) -> None:
    found = re.search(r"`(proxy_set_header Host \$\w+;)`", DOC.read_text())
    assert found, "docs/web-ui.md names no proxy_set_header Host directive"
    documented = found.group(1)
    with LiveUI([PlainVisitor], plain_target.url) as ui:
        for directive, refused in ((documented, False), ("proxy_set_header Host $host;", True)):
            port = nginx_at(ui.url, directive)  # type: ignore[operator]
            front = f"http://127.0.0.1:{port}"
            answer = http_json(front + "/api/stop", "POST", {}, headers={"Origin": front})
            assert (answer.status == 403) is refused, (directive, answer.status, answer.body)
