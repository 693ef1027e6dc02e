"""The ``sitemap`` spider: the pages sitemaps list."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawler.bodies import Unreadable, document_bytes
from crawler.errors import SpiderArgumentError
from crawler.items import Skipped
from crawler.listings import date_argument, sitemap_entries
from crawler.spiders import SEED, WebSpider
from crawler.web_urls import is_web_url


class SitemapSpider(WebSpider):
    """Fetch the pages a sitemap lists.

    Arguments (``-a name=value``):

    ``url``
        A sitemap, a sitemap index, a news sitemap (also gzipped), or a
        ``robots.txt`` whose ``Sitemap:`` lines name them.
    ``since``
        Optional ``YYYY-MM-DD``: leave out entries whose ``lastmod`` (or news
        publication date) is older, and sitemaps of an index whose
        ``lastmod`` is older. Entries without a date are fetched.

    Sitemaps often list section and tag pages too, so only pages that read
    as articles are stored, as in the ``site`` spider. Sitemap indexes are
    followed at most ``SIEVE_SITEMAP_MAX_DEPTH`` levels below the sitemap
    given (or those its robots.txt names); a deeper sitemap is skipped
    (``sitemap-too-deep``). The sitemap given (or, for a robots.txt, the
    sitemaps it names) failing to be fetched or read fails the run.
    """

    name = "sitemap"
    require_article = True

    def __init__(self, url: str | None = None, since: str | None = None, **kwargs: Any):
        super().__init__(url=url, since=since, **kwargs)
        if (not url or not is_web_url(url)) and self.start_replaced_by is None:
            raise SpiderArgumentError("give the sitemap with -a url=http(s)://...")
        self.sitemap_url = url
        self.since = date_argument("since", since)

    @property
    def max_depth(self) -> int:
        return self.settings.getint("SIEVE_SITEMAP_MAX_DEPTH")

    async def start(self) -> AsyncIterator[Any]:
        yield self.sitemap_request(self.sitemap_url, depth=0, seed=True)

    def sitemap_request(self, url: str, depth: int, seed: bool = False) -> Request | Skipped:
        if not is_web_url(url):
            return Skipped(url, "bad-url", "a sitemap that is not an http or https URL")
        if depth > self.max_depth:
            return Skipped(
                url, "sitemap-too-deep", f"{depth} sitemap indexes deep, more than SIEVE_SITEMAP_MAX_DEPTH ({self.max_depth})"
            )
        return Request(url, callback=self.parse_sitemap, errback=self.skip, cb_kwargs={"depth": depth}, meta={SEED: seed})

    def parse_sitemap(self, response: Response, depth: int) -> Iterator[Request | Skipped]:
        """A sitemap, or a sitemap index: a request for each page or sitemap it lists.

        @url_argument url
        @cb_kwargs {"depth": 0}
        @returns requests 1
        """
        seed = response.meta.get(SEED, False)
        if response.url.endswith("/robots.txt"):
            urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
            if not urls:
                yield self.dead_seed(Skipped(response.url, "bad-sitemap", "robots.txt names no sitemap"))
            for url in urls:
                # The sitemaps robots.txt names stand for it.
                yield self.sitemap_request(url, depth, seed=seed)
            return
        try:
            body = document_bytes(response.body, self.settings.getint("SIEVE_MAX_BYTES"))
        except Unreadable as exc:
            skipped = Skipped(response.url, exc.reason, exc.detail)
            yield self.dead_seed(skipped) if seed else skipped
            return
        kind, entries = sitemap_entries(body)
        if not kind:
            skipped = Skipped(response.url, "bad-sitemap", "not a sitemap or sitemap index")
            yield self.dead_seed(skipped) if seed else skipped
            return
        for entry in entries:
            if self.since and entry.date and entry.date[:10] < self.since:
                self.crawler.stats.inc_value("sieve/sitemap/older_than_since")
                continue
            if kind == "sitemapindex":
                yield self.sitemap_request(entry.url, depth + 1)
            else:
                yield from self.checked_requests([entry])
