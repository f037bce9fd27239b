"""TLS: verification on by default, a trusted self-signed CA, insecure=True, SNI."""

from __future__ import annotations

from http_helpers import Recorder, run
from http_servers import GoodServer

from horde.http import HttpSession, Response
from horde.http.tls import make_context


def fetch(session: HttpSession, url: str) -> Response:
    async def main() -> Response:
        try:
            r: Response = await session.get(url)
            return r
        finally:
            await session.aclose()

    return run(main())  # type: ignore[no-any-return]


def test_self_signed_refused_by_default(good: GoodServer, recorder: Recorder) -> None:
    r = fetch(HttpSession(good.tls_url, recorder), "/")
    assert r.status_code == 0
    assert str(r.error).startswith("TLSError: ") and "certificate" in str(r.error)
    assert recorder.errors == [str(r.error)]


def test_insecure_accepts_self_signed(good: GoodServer, recorder: Recorder) -> None:
    r = fetch(HttpSession(good.tls_url, recorder, insecure=True), "/echo")
    assert r.ok and r.json()["headers"]["Host"] == f"localhost:{good.tls_port}"
    assert recorder.errors == [None]


def test_trusted_ca_verifies_hostname(
    good: GoodServer, recorder: Recorder, certificate: tuple[str, str]
) -> None:
    context = make_context(cafile=certificate[0])
    r = fetch(HttpSession(good.tls_url, recorder, ssl_context=context), "/")
    assert r.ok and r.text == "hello"
    other = f"https://127.0.0.1:{good.tls_port}"  # the certificate names localhost only
    r = fetch(HttpSession(other, recorder, ssl_context=context), "/")
    assert r.status_code == 0 and str(r.error).startswith("TLSError")


def test_keep_alive_over_tls(good: GoodServer, recorder: Recorder) -> None:
    async def main() -> int:
        s = HttpSession(good.tls_url, recorder, insecure=True)
        for _ in range(5):
            assert (await s.get("/")).ok
        count = s._pool.idle_count()
        await s.aclose()
        return count

    assert run(main()) == 1


def test_https_to_plain_http_port_is_tls_error(good: GoodServer, recorder: Recorder) -> None:
    r = fetch(HttpSession(f"https://127.0.0.1:{good.port}", recorder, connect_timeout=5), "/")
    assert r.status_code == 0 and str(r.error).startswith("TLSError"), r.error
