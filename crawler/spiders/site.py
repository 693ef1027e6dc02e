"""The ``site`` spider: one site, from a start page, following its links."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.response import get_base_url
from scrapy.utils.url import url_has_any_extension
from w3lib.url import safe_url_string

from crawler.errors import SpiderArgumentError
from crawler.incremental import PAGE
from crawler.items import Page, Skipped, Unchanged
from crawler.pages import page_from_response
from crawler.spiders import SEED, WebSpider
from crawler.web_urls import is_web_url

logger = logging.getLogger(__name__)


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

    A start page that cannot be fetched, or is not a web page, fails the
    run. Every page is read for links; only pages that read as articles are
    stored (the rule is in :mod:`pipelines.extract`), and index or listing
    pages are recorded as skipped with reason ``not-an-article``. At most
    ``SIEVE_MAX_LINKS_PER_PAGE`` links are taken from one page, in page
    order; a page with more is counted (``sieve/refused/too-many-links``).
    Links to files that are not pages (images, PDFs, archives: Scrapy's
    ``IGNORED_EXTENSIONS``) are left out.
    """

    name = "site"
    require_article = True

    def __init__(self, url: str | None = None, depth: str = "2", allow: str | None = None, **kwargs: Any):
        super().__init__(url=url, depth=depth, allow=allow, **kwargs)
        if (not url or not is_web_url(url)) and self.start_replaced_by is None:
            raise SpiderArgumentError("give the start page with -a url=http(s)://...")
        try:
            self.depth = int(depth)
        except ValueError:
            self.depth = -1
        if self.depth < 0:
            raise SpiderArgumentError(f"depth must be a whole number, 0 or more, not {depth!r}")
        try:
            self.allow = [re.compile(p) for p in (allow or "").split()]
        except re.error as exc:
            raise SpiderArgumentError(f"allow is not a valid regular expression: {exc}") from None
        self.start_url = url or ""
        self.netloc = urlsplit(self.start_url).netloc.lower()
        self.allowed_domains = [urlsplit(url).hostname or ""] if url else []

    @property
    def max_links(self) -> int:
        return self.settings.getint("SIEVE_MAX_LINKS_PER_PAGE")

    async def start(self) -> AsyncIterator[Any]:
        yield self.page_request(self.start_url, meta={PAGE: True, SEED: True})

    def parse_page(self, response: Response) -> Iterator[Page | Skipped | Unchanged | Request]:
        """A page (stored if it reads as an article), and a request for each
        link to follow.

        @url_argument url
        @returns items 1 1
        @returns requests 1
        """
        item = page_from_response(response, self.incremental, self.key_url(response.url), require_article=True)
        yield self.dead_seed(item) if isinstance(item, Skipped) and response.meta.get(SEED) else item
        # A 304 has no body to read links from, nor has a non-HTML response.
        if isinstance(item, Skipped) or response.status == 304 or response.meta.get("depth", 0) >= self.depth:
            return
        for url in self.links(response):
            yield self.page_request(url)

    def links(self, response: Response) -> Iterator[str]:
        """The page's links to follow, read lazily from its parsed tree so
        that a page of a million links costs no more than its first few."""
        base = get_base_url(response)
        netloc = self.netloc or urlsplit(response.url).netloc.lower()  # scrapy parse gives no start page
        max_links = self.max_links
        seen: set[str] = set()
        for element in response.selector.root.iter("a", "area"):
            href = (element.get("href") or "").strip()
            if not href:
                continue
            try:
                url = urldefrag(safe_url_string(urljoin(base, href), encoding=response.encoding))[0]
            except ValueError:
                continue
            if (
                url in seen
                or not is_web_url(url)
                # Hosts are compared here: allowed_domains does not match IP addresses.
                or urlsplit(url).netloc.lower() != netloc
                or url_has_any_extension(url, IGNORED_EXTENSIONS)
                or (self.allow and not any(p.search(url) for p in self.allow))
            ):
                continue
            if len(seen) == max_links:
                self.crawler.stats.inc_value("sieve/refused/too-many-links")
                logger.warning("Following only the first %d links of %s (SIEVE_MAX_LINKS_PER_PAGE)", max_links, response.url)
                return
            seen.add(url)
            yield url
