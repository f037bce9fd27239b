"""The resolved-URL cache is per process and bounded, not per user (issue 8, item 4)."""

from __future__ import annotations

from http_helpers import Recorder, run
from http_servers import GoodServer

from horde.http import HttpSession
from horde.http.urlcache import MAX_ORIGINS, MAX_URLS, UrlCache, for_base


def test_sessions_with_one_base_url_share_one_cache(recorder: Recorder) -> None:
    sessions = [HttpSession("http://127.0.0.1:1/api", recorder) for _ in range(100)]
    caches = {id(s._url_cache) for s in sessions}
    assert len(caches) == 1
    # ...and one Origin (with its prebuilt header block) for all of them
    assert len({id(s._base[0]) for s in sessions if s._base is not None}) == 1
    other = HttpSession("http://127.0.0.1:2", recorder)
    assert other._url_cache is not sessions[0]._url_cache


def test_unbounded_url_variety_keeps_the_cache_bounded() -> None:
    cache = UrlCache("http://127.0.0.1:1")
    for i in range(3 * MAX_URLS):
        cache.resolve(f"/search?q={i}")
    assert 0 < len(cache.urls) <= MAX_URLS
    for i in range(2 * MAX_ORIGINS):
        cache.resolve(f"http://host{i}.test/x")
    assert len(cache.origins) <= MAX_ORIGINS


def test_the_base_origin_stays_itself_when_origins_are_forgotten() -> None:
    cache = UrlCache("http://127.0.0.1:1")
    for i in range(MAX_ORIGINS + 5):
        cache.resolve(f"http://host{i}.test/x")
    origin, _, name = cache.resolve("http://127.0.0.1:1/echo?x=1")
    assert cache.base is not None and origin is cache.base[0]
    assert name == "/echo"  # a URL on the base origin keeps the bare path as its name


def test_many_sessions_requesting_unique_urls_resolve_correctly(
        good: GoodServer, recorder: Recorder) -> None:
    async def main() -> None:
        sessions = [HttpSession(good.url, recorder) for _ in range(3)]
        for i in range(30):
            response = await sessions[i % 3].get(f"/echo?q={i}")
            assert response.status_code == 200
        for s in sessions:
            await s.aclose()

    run(main())
    assert {r.name for r in recorder.records} == {"/echo"}
    assert len(for_base(good.url).urls) <= MAX_URLS
