"""Incremental runs: a document that has not changed since it was stored is
not downloaded again, or not processed again.

:class:`ConditionalRequestMiddleware` (a downloader middleware) sends
``If-None-Match`` and ``If-Modified-Since`` with the validators of the last
download when asking again for a page that is stored as an article; the
server answers 304 and nothing is downloaded. Index and listing pages are
always downloaded in full: a site crawl needs their links.

Whatever was downloaded in full is compared with the last download by the
hash of its body (:func:`crawler.web.page_from_response`); sitemaps and feeds
leave out entries dated before the last download of their URL; the ``files``
spider leaves out files whose size and modification time have not changed.
Each of these becomes an :class:`~crawler.items.Unchanged` item, which only
moves the article's ``last_seen``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.exceptions import NotConfigured

from pipelines.database import PreviousFetch, SieveDatabase

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: Request meta key: this request fetches a page to be stored (not a sitemap,
#: feed or robots.txt).
PAGE = "sieve_page"
#: Request meta key set by the middleware: the :class:`PreviousFetch` of the URL.
PREVIOUS = "sieve_previous"


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def previous_fetch(crawler: Crawler, url: str) -> PreviousFetch | None:
    """The last download of ``url``, or None when there was none or
    ``SIEVE_INCREMENTAL`` is off."""
    if not crawler.settings.getbool("SIEVE_INCREMENTAL"):
        return None
    return SieveDatabase.for_crawler(crawler).previous_fetch(url)


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("SIEVE_INCREMENTAL"):
            raise NotConfigured("SIEVE_INCREMENTAL is off")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get(PAGE) or not request.url.startswith(("http://", "https://")):
            return
        previous = previous_fetch(self.crawler, request.url)
        if previous is None:
            return
        request.meta[PREVIOUS] = previous
        if not previous.is_article:
            return
        if previous.fetch.etag:
            request.headers.setdefault("If-None-Match", previous.fetch.etag)
        if previous.fetch.last_modified:
            request.headers.setdefault("If-Modified-Since", previous.fetch.last_modified)
        request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", []), 304]
