from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor

from crawler.errors import SpiderArgumentError
from crawler.items import Page, Skipped, Unchanged
from crawler.pages import page_from_response
from crawler.spiders import WebSpider
from crawler.urls import is_web_url


class SiteSpider(WebSpider):
    """Crawl one site from a start page, following its links.

    Arguments (``-a name=value``):

    ``url``
        The start page. Links are followed only within its host.
    ``depth``
        How many links away from the start page to go (default 2: the start
        page, the pages it links to, and the pages those link to).
    ``allow``
        Optional: only follow links whose URL matches one of these regular
        expressions (separate several with spaces).

    Every page is read for links; only pages that read as articles are
    stored (the rule is in :mod:`pipelines.extract`), and index or listing
    pages are recorded as skipped with reason ``not-an-article``.
    """

    name = "site"
    require_article = True

    def __init__(self, url: str | None = None, depth: str = "2", allow: str | None = None, **kwargs: Any):
        super().__init__(url=url, depth=depth, allow=allow, **kwargs)
        if not url or not is_web_url(url):
            raise SpiderArgumentError("give the start page with -a url=http(s)://...")
        try:
            self.depth = int(depth)
        except ValueError:
            raise SpiderArgumentError(f"depth must be a whole number, not {depth!r}") from None
        try:
            allow_patterns = [re.compile(p) for p in (allow or "").split()]
        except re.error as exc:
            raise SpiderArgumentError(f"allow is not a valid regular expression: {exc}") from None
        self.start_url = url
        self.netloc = urlsplit(url).netloc.lower()
        self.allowed_domains = [urlsplit(url).hostname or ""]
        # Hosts are compared in parse_page: allow_domains does not match IP addresses.
        self.links = LinkExtractor(allow=allow_patterns)

    async def start(self) -> AsyncIterator[Any]:
        yield self.page_request(self.start_url)

    def parse_page(self, response: Response) -> Iterator[Page | Skipped | Unchanged | Request]:
        item = page_from_response(response, self.incremental, require_article=True)
        yield item
        # A 304 has no body to read links from, nor has a non-HTML response.
        if isinstance(item, Skipped) or response.status == 304 or response.meta.get("depth", 0) >= self.depth:
            return
        for link in self.links.extract_links(response):
            if urlsplit(link.url).netloc.lower() == self.netloc:
                yield self.page_request(link.url)
