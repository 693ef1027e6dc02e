from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.errors import SpiderArgumentError
from crawler.items import Skipped
from crawler.listings import feed_entries, read_url_list
from crawler.spiders import SEED, WebSpider
from crawler.web_urls import is_web_url


class FeedSpider(WebSpider):
    """Fetch the articles that news feeds link to.

    Arguments (``-a name=value``), one of:

    ``url``
        A feed: RSS 2.0, Atom, or RDF (RSS 1.0).
    ``path``
        A file listing feed URLs, one per line (``-`` for standard input);
        blank lines and lines starting with ``#`` are ignored.

    Every item link is fetched, whatever its host. A feed that cannot be
    fetched or read fails the run.
    """

    name = "feed"

    def __init__(self, url: str | None = None, path: str | None = None, **kwargs: Any):
        super().__init__(url=url, path=path, **kwargs)
        if bool(url) == bool(path) and not (self.start_replaced_by and not path):
            raise SpiderArgumentError("give one feed with -a url=... or a file of feeds with -a path=...")
        self.feed_urls = [url] if url else read_url_list(path) if path else []

    async def start(self) -> AsyncIterator[Any]:
        for url in self.feed_urls:
            if is_web_url(url):
                yield Request(url, callback=self.parse_feed, errback=self.skip, meta={SEED: True})
            else:
                yield self.dead_seed(Skipped(url, "bad-url", "not an http or https URL"))

    def parse_feed(self, response: Response) -> Iterator[Request | Skipped]:
        """A feed: a request for each item it links to.

        @url_argument url
        @returns requests 1
        """
        entries = feed_entries(response.body, response.url)
        if entries is None:
            yield self.dead_seed(Skipped(response.url, "bad-feed", "not an RSS, Atom or RDF feed"))
            return
        yield from self.checked_requests(entries)
