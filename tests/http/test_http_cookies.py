"""The per-session cookie jar: storage, domain/path matching, expiry."""

from __future__ import annotations

import pytest

from horde.http import cookies as cookies_module
from horde.http.cookies import CookieJar


def test_host_only_cookie_and_path_scoping() -> None:
    jar = CookieJar()
    jar.extract([b"sid=1", b"scoped=2; Path=/a"], "example.test", "/login")
    assert jar.header("example.test", "/", False) == "sid=1"
    assert jar.header("example.test", "/a/b", False) == "scoped=2; sid=1"
    assert jar.header("example.test", "/ab", False) == "sid=1"
    assert jar.header("other.test", "/", False) is None
    assert jar.header("sub.example.test", "/", False) is None
    assert dict(jar) == {"sid": "1", "scoped": "2"}


def test_domain_cookie_matches_subdomains_and_foreign_domain_rejected() -> None:
    jar = CookieJar()
    jar.extract(
        [b"d=1; Domain=.example.test", b"evil=1; Domain=bank.test"], "www.example.test", "/"
    )
    assert jar.header("api.example.test", "/", False) == "d=1"
    assert "evil" not in jar


def test_secure_expiry_and_deletion() -> None:
    jar = CookieJar()
    jar.extract([b"s=1; Secure", b"old=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT"], "h", "/")
    assert jar.header("h", "/", False) is None
    assert jar.header("h", "/", True) == "s=1"
    jar.extract([b"s=; Max-Age=0"], "h", "/")
    assert not jar


def test_per_request_cookies_win_and_are_not_stored() -> None:
    jar = CookieJar()
    jar.extract([b"a=1"], "h", "/")
    assert jar.header("h", "/", False, {"a": "2", "b": "3"}) == "a=2; b=3"
    assert dict(jar) == {"a": "1"}


def test_default_path_is_request_directory() -> None:
    jar = CookieJar()
    jar.extract([b"x=1"], "h", "/dir/page")
    assert jar.header("h", "/dir/other", False) == "x=1"
    assert jar.header("h", "/", False) is None


# --- the cached Cookie line (what keeps a logged-in user on the fast path) -----


def test_cached_line_follows_every_change() -> None:
    jar = CookieJar()
    assert jar.line("h", "/", False) == b""
    jar.extract([b"sid=1"], "h", "/login")
    assert jar.line("h", "/x?q=1", False) == b"Cookie: sid=1\r\n"
    jar.extract([b"sid=2"], "h", "/login")  # replaced
    assert jar.line("h", "/x?q=1", False) == b"Cookie: sid=2\r\n"
    jar.set("extra", "e")
    assert jar.line("h", "/x?q=1", False) == b"Cookie: sid=2; extra=e\r\n"
    jar.extract([b"sid=; Max-Age=0"], "h", "/login")  # deleted
    assert jar.line("h", "/x?q=1", False) == b"Cookie: extra=e\r\n"
    jar.clear()
    assert jar.line("h", "/x?q=1", False) == b""


def test_cached_line_scoped_by_host_path_and_scheme() -> None:
    jar = CookieJar()
    jar.extract([b"a=1; Path=/a", b"s=1; Secure"], "h", "/")
    assert jar.line("h", "/a/b?x", False) == b"Cookie: a=1\r\n"
    assert jar.line("h", "/b", False) == b""
    assert jar.line("h", "/b", True) == b"Cookie: s=1\r\n"
    assert jar.line("other", "/a/b", True) == b""


def test_cached_line_drops_a_cookie_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(cookies_module.time, "time", lambda: now[0])
    jar = CookieJar()
    jar.extract([b"short=1; Max-Age=10", b"long=2"], "h", "/")
    assert jar.line("h", "/", False) == b"Cookie: short=1; long=2\r\n"
    now[0] += 9
    assert jar.line("h", "/", False) == b"Cookie: short=1; long=2\r\n"
    now[0] += 2  # past Max-Age: the cached line must not be trusted any more
    assert jar.line("h", "/", False) == b"Cookie: long=2\r\n"
    assert dict(jar) == {"long": "2"}


def test_cookie_values_cannot_split_the_request() -> None:
    jar = CookieJar()
    jar.set("bad", "x\r\nInjected: 1")
    with pytest.raises(ValueError, match="CR or LF"):
        jar.line("h", "/", False)


def test_cookie_line_cache_ignores_the_query() -> None:
    jar = CookieJar()
    jar.extract([b"sid=1"], "example.test", "/login")
    lines = {jar.line("example.test", f"/item?id={n}", False) for n in range(300)}
    assert lines == {b"Cookie: sid=1\r\n"}
    assert len(jar._lines) == 1  # one entry per path, not per generated URL
