"""URL helpers: tracking parameters, session ids, default ports and
trailing dots left out, alone and through crawls of a server on 127.0.0.1."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from crawler.web_urls import key_url, without_tracking
from tests.fixture_site import AMP_STORY, LoopbackServer, story_page
from tests.helpers import FAST_WEB, read_rows, scrapy_crawl

TRACKING = ["utm_*", "fbclid", "gclid"]


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://a.example/story?utm_source=rss&utm_medium=feed", "https://a.example/story"),
        ("https://a.example/story?id=7&fbclid=IwAR0&page=2", "https://a.example/story?id=7&page=2"),
        ("https://a.example/story?UTM_Campaign=x#top", "https://a.example/story#top"),
        ("https://a.example/story?id=7", "https://a.example/story?id=7"),
        ("https://a.example/story", "https://a.example/story"),
        ("https://a.example/s?name=caf%E9&utm_source=x", "https://a.example/s?name=caf%E9"),
        ("https://a.example/s?a=1;b=2&utm_source=x", "https://a.example/s?a=1;b=2"),
        ("https://a.example/s?q=a+b&x=%2F&gclid=1&y", "https://a.example/s?q=a+b&x=%2F&y"),
        ("https://a.example/s?utm%5Fsource=x&id=1", "https://a.example/s?id=1"),
    ],
)
def test_tracking_parameters_are_left_out_and_others_kept_in_order(url, clean):
    assert without_tracking(url, TRACKING) == clean


SESSIONS = [*TRACKING, "phpsessid", "jsessionid", "sid"]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://news.test:80/a", "http://news.test/a"),
        ("https://news.test:443/a", "https://news.test/a"),
        ("http://news.test:8080/a", "http://news.test:8080/a"),
        ("http://news.test./a", "http://news.test/a"),
        ("http://news.test.:80/a", "http://news.test/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("http://news.test/a;jsessionid=0AB12?page=2", "http://news.test/a?page=2"),
        ("http://news.test/a?PHPSESSID=9f8e&id=2&sid=77", "http://news.test/a?id=2"),
    ],
)
def test_one_page_has_one_key_whatever_its_port_trailing_dot_or_session(url, key):
    assert key_url(url, SESSIONS) == key


# --- through a crawl: what is fetched and what is stored -------------------------------


def urls_crawl(tmp_path: Path, urls: list[str], env: dict[str, str] | None = None) -> Path:
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    db = tmp_path / "sieve.db"
    result = scrapy_crawl("urls", db=db, args={"path": str(tmp_path / "urls.txt")}, settings=FAST_WEB, env=env)
    assert result.returncode == 0, result.stderr
    assert read_rows(db, "SELECT url, reason FROM skipped") == []
    return db


def stored_urls(db: Path) -> list[str]:
    return [row["url"] for row in read_rows(db, "SELECT url FROM articles ORDER BY url")]


def test_a_crawl_fetches_and_stores_every_other_byte_of_the_query_as_written(site, tmp_path):
    story = f"{site.base}{AMP_STORY.path}"
    before = len(site.paths_requested())
    db = urls_crawl(tmp_path, [f"{story}?name=caf%E9&utm_source=x", f"{story}?a=1;b=2&utm_source=x"])
    assert stored_urls(db) == [f"{story}?a=1;b=2", f"{story}?name=caf%E9"]
    fetched = {path for path in site.paths_requested()[before:] if path != "/robots.txt"}
    assert fetched == {f"{AMP_STORY.path}?name=caf%E9", f"{AMP_STORY.path}?a=1;b=2"}


def test_a_crawl_fetches_and_stores_a_page_linked_with_session_ids_once(site, tmp_path):
    story = f"{site.base}{AMP_STORY.path}"
    before = len(site.paths_requested())
    db = urls_crawl(tmp_path, [f"{story};jsessionid=0AB12", f"{story}?PHPSESSID=9f8e", f"{story}?sid=77", story])
    assert stored_urls(db) == [story]
    assert [path for path in site.paths_requested()[before:] if path != "/robots.txt"] == [AMP_STORY.path]


class _ProxyHandler(BaseHTTPRequestHandler):
    """Answers every absolute URI with the same story, as a proxy in front
    of one site would; robots.txt is missing."""

    server: LoopbackServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stderr
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with self.server.lock:
            self.server.requested.append(self.path)
        status, body = (404, b"") if self.path.endswith("/robots.txt") else (200, story_page(AMP_STORY).encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def proxy():
    """An HTTP proxy on 127.0.0.1, so that a crawl can ask for hosts that
    exist nowhere (news.test) on their default port."""
    server = LoopbackServer(_ProxyHandler)
    server.requested = []
    server.start()
    yield server
    server.stop()


def test_a_crawl_fetches_and_stores_a_page_once_whatever_its_default_port_or_trailing_dot(proxy, tmp_path):
    page = "http://news.test/story.html"
    db = urls_crawl(tmp_path, ["http://news.test:80/story.html", "http://news.test./story.html", page], env={"http_proxy": proxy.base})
    assert stored_urls(db) == [page]
    assert [uri for uri in proxy.requested if not uri.endswith("/robots.txt")] == [page]
