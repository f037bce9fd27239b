"""The per-session cookie jar: storage, domain/path matching, expiry."""

from __future__ import annotations

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
