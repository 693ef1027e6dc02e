"""Incremental runs: a document that has not changed since it was stored is
not downloaded again, or not processed again.

:class:`Incremental` (an extension) is where every "unchanged" is decided;
spiders, the middleware and the pipeline stages ask it:

- a page stored as an article is asked for again with the validators of its
  last download (``If-None-Match``, ``If-Modified-Since``), by
  :class:`ConditionalRequestMiddleware`; a 304 is ``not-modified``. Index and
  listing pages are always downloaded in full: a site crawl needs their links;
- a body whose hash is that of the last download is ``same-body``;
- a sitemap or feed entry dated no later than the last download of its URL
  is ``listed-unchanged``, and not fetched;
- a local file whose size and modification time have not changed is
  ``same-file``, and not read;
- an article whose text is the one stored (the page changed, its article did
  not) is ``same-text``.

Cluster crawlers, which have no database, ask the writer's copy of its
fetches in Redis (:class:`crawler.stream_entries.FetchMirror`). The first four
need ``SIEVE_INCREMENTAL`` (on by default); ``same-text`` is
always checked, since rewriting an identical article would only lose its
``changed_at``. Each becomes an :class:`~crawler.items.Unchanged` item,
which only moves the article's ``last_seen``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.exceptions import NotConfigured

from crawler.cluster import is_cluster_crawler
from crawler.items import Fetch, Unchanged
from crawler.storage import reads
from crawler.storage.database import Database
from crawler.storage.reads import PreviousFetch, StoredArticle

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

    from crawler.items import Article
    from crawler.stream_entries import FetchMirror

logger = logging.getLogger(__name__)

#: Request meta key: this request fetches a page to be stored (not a sitemap,
#: feed or robots.txt).
PAGE = "sieve_page"
#: Request meta key set by the middleware: the :class:`PreviousFetch` of the URL.
PREVIOUS = "sieve_previous"
#: previous_fetch() not asked yet (None is an answer: no earlier download).
NOT_LOOKED_UP = object()


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def file_version(size: int, mtime_ns: int) -> str:
    """A validator for a local file, as an ETag is for a web page."""
    return f"{size}-{mtime_ns}"


class Incremental:
    def __init__(
        self,
        enabled: bool,
        database: Database | None = None,
        crawler: Crawler | None = None,
        mirror: FetchMirror | None = None,
    ):
        self.enabled = enabled
        self._database = database
        self._crawler = crawler
        self.mirror = mirror

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        mirror = None
        if is_cluster_crawler(settings):
            # No database here: the writer keeps a copy of its fetches in Redis.
            from crawler.stream_entries import FetchMirror

            mirror = FetchMirror.from_url(settings.get("SIEVE_REDIS_URL"))
        return cls(settings.getbool("SIEVE_INCREMENTAL"), crawler=crawler, mirror=mirror)

    @classmethod
    def of(cls, crawler: Crawler) -> Incremental:
        incremental = crawler.get_extension(cls)
        if incremental is None:
            raise RuntimeError("the Incremental extension is not enabled (EXTENSIONS)")
        return incremental

    @property
    def database(self) -> Database | None:
        # Looked up on first use: extensions cannot reach each other while
        # they are being built.
        if self._database is None and self._crawler is not None:
            self._database = self._crawler.get_extension(Database)
            self._crawler = None
        return self._database

    def previous_fetch(self, url: str) -> PreviousFetch | None:
        """The last download of ``url``, or None when there was none or
        ``SIEVE_INCREMENTAL`` is off."""
        if not self.enabled:
            return None
        if self.mirror is not None:
            return self.mirror.get(url)
        return reads.previous_fetches(self.database.open(), [url]).get(url) if self.database is not None else None

    def unchanged_response(self, response: Response, fetch: Fetch) -> Unchanged | None:
        """``not-modified`` for a 304, ``same-body`` for the body last downloaded."""
        if response.status == 304:
            return Unchanged(response.url, "not-modified")
        # The middleware has looked it up already for page requests.
        return self.unchanged_body(response.url, fetch, response.meta.get(PREVIOUS, NOT_LOOKED_UP))

    def unchanged_body(self, url: str, fetch: Fetch, previous: Any = NOT_LOOKED_UP) -> Unchanged | None:
        """``same-body`` for the body last downloaded from ``url``."""
        if previous is NOT_LOOKED_UP:
            previous = self.previous_fetch(url)
        if previous is not None and previous.fetch.body_hash == fetch.body_hash:
            return Unchanged(url, "same-body", fetch)
        return None

    def unchanged_entry(self, url: str, date: str | None) -> Unchanged | None:
        """``listed-unchanged`` for a sitemap or feed entry dated no later
        than the last download of its URL."""
        if not date:
            return None
        previous = self.previous_fetch(url)
        # Compared as times: the two strings differ in precision.
        if previous is not None and datetime.fromisoformat(date) <= datetime.fromisoformat(previous.fetched_at):
            return Unchanged(url, "listed-unchanged")
        return None

    def unchanged_file(self, url: str, version: str) -> Unchanged | None:
        previous = self.previous_fetch(url)
        if previous is not None and previous.fetch.etag == version:
            return Unchanged(url, "same-file")
        return None

    def unchanged_text(self, article: Article, stored: StoredArticle | None) -> Unchanged | None:
        """``same-text`` for an article whose text is ``stored``'s, the row
        the caller has already looked up for its own use."""
        if stored is not None and stored.content_hash == article.text_hash():
            return Unchanged(article.url, "same-text", article.fetch, article.fetched_url, article.requested_urls)
        return None


class ConditionalRequestMiddleware:
    """Asks again for a stored article with the validators of its last download."""

    def __init__(self, incremental: Incremental):
        self.incremental = incremental

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("SIEVE_INCREMENTAL"):
            raise NotConfigured("SIEVE_INCREMENTAL is off")
        return cls(Incremental.of(crawler))

    def process_request(self, request: Request) -> None:
        if not request.meta.get(PAGE) or not request.url.startswith(("http://", "https://")):
            return
        previous = request.meta[PREVIOUS] = self.incremental.previous_fetch(request.url)
        if previous is None or not previous.is_article:
            return
        if previous.fetch.etag:
            request.headers.setdefault("If-None-Match", previous.fetch.etag)
        if previous.fetch.last_modified:
            request.headers.setdefault("If-Modified-Since", previous.fetch.last_modified)
        request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", []), 304]
