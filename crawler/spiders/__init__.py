"""Sieve's spiders. Each yields :class:`~crawler.items.Page` items (or
``Skipped`` and ``Unchanged`` ones) into the same pipeline."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy import Request, signals
from scrapy.settings import BaseSettings

from crawler import __version__
from crawler.cluster import use_shared_frontier
from crawler.errors import SpiderArgumentError
from crawler.incremental import PAGE, Incremental
from crawler.items import Page, Skipped, Unchanged
from crawler.listings import Entry
from crawler.pages import NAMED_URL, page_from_response, skipped_from_failure
from crawler.scrapy_internals import wake_engine
from crawler.web_urls import is_web_url, key_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure
    from typing_extensions import Self

#: Request meta key: this request fetches a seed of the run (a start page,
#: sitemap or feed the user named), whose failure fails the run.
SEED = "sieve_seed"

logger = logging.getLogger(__name__)


class SieveSpider(scrapy.Spider):
    """Base of Sieve's spiders: keeps the ``-a`` arguments for the ``runs`` table."""

    #: With SIEVE_REDIS_URL, a crawl of this spider is a cluster crawler.
    cluster_crawler = True
    #: Whether it fetches over HTTP (the web spiders); the others read
    #: their input themselves.
    downloads = False
    #: Set by ``scrapy parse`` and ``scrapy check``, which give the spider
    #: their own requests instead of its start(): the arguments that name
    #: its input are then not needed.
    start_replaced_by: ClassVar[str | None] = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.arguments: dict[str, Any] = {k: v for k, v in kwargs.items() if k != "name"}
        # Each spider's __init__ names its arguments; scrapyd adds _job and the like.
        known = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "args", "kwargs")]
        unknown = sorted(k for k in self.arguments if not k.startswith("_") and k not in known)
        if unknown:
            raise SpiderArgumentError(
                f"unknown argument {', '.join(unknown)} (the {self.name} spider takes: {', '.join(known) or 'none'})"
            )

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if cls.cluster_crawler:
            use_shared_frontier(settings)
        if not cls.downloads:
            # Neither an HTTP download handler nor retries: both load
            # Scrapy's TLS module, whose deprecated classes inspect the whole
            # stack at import, a cost at every start. Nor robots.txt's parser (protego).
            settings.set("DOWNLOAD_HANDLERS", {"http": None, "https": None}, priority="spider")
            settings.set("RETRY_ENABLED", False, priority="spider")
            settings.set("ROBOTSTXT_OBEY", False, priority="spider")
        # A User-Agent naming Sieve and whoever runs it, unless one was set.
        if settings.getpriority("USER_AGENT") == 0:
            contact = settings.get("SIEVE_CONTACT", "").strip()
            agent = f"Sieve/{__version__} (+{contact})" if contact else f"Sieve/{__version__}"
            settings.set("USER_AGENT", agent, priority="spider")

    @property
    def incremental(self) -> Incremental:
        return Incremental.of(self.crawler)


class ItemsInFlight:
    """Items a spider yielded from ``start()`` that have not yet left the
    pipeline. Scrapy holds back ``start()`` for responses being processed
    and for downloads, not for items: a spider that reads its own input
    (a WARC file, the cluster's stream) would otherwise load all of it into
    memory ahead of the pipeline. Such a spider waits for room."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.count = 0
        self.waiter: asyncio.Future[None] | None = None
        self.limit = 0
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.done, signal=signal)

    def add(self, count: int = 1) -> None:
        self.count += count

    def done(self, *args: Any, **kwargs: Any) -> None:
        self.count -= 1
        if self.waiter is not None and self.count <= self.limit and not self.waiter.done():
            self.waiter.set_result(None)
        if self.count == 0:
            asyncio.get_running_loop().call_soon(wake_engine, self.crawler)

    async def wait_until(self, at_most: int) -> None:
        """Return once no more than ``at_most`` items are in flight."""
        if self.count > at_most:
            self.limit = at_most
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter


class WebSpider(SieveSpider):
    """Base of the spiders that fetch over HTTP: pages become items, failures
    become Skipped items, with the same reasons for every spider."""

    downloads = True

    #: Whether pages must read as articles to be stored (see the extraction stage).
    require_article = False

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # Stop downloads at Sieve's size limit, unless told otherwise.
        try:
            max_bytes = settings.getint("SIEVE_MAX_BYTES")
            polite = settings.getbool("SIEVE_POLITE")
        except ValueError:
            return  # crawler.sieve_settings says so in one line
        if not polite:
            # Your own site or a mirror: as fast as it answers. robots.txt
            # is still obeyed; what -s sets still wins.
            for name, value in {
                "AUTOTHROTTLE_ENABLED": False,
                "DOWNLOAD_DELAY": 0,
                "CONCURRENT_REQUESTS_PER_DOMAIN": settings.getint("CONCURRENT_REQUESTS"),
            }.items():
                settings.set(name, value, priority="spider")
        settings.set("DOWNLOAD_MAXSIZE", max_bytes, priority="spider")
        # Scrapy stops downloading while the responses being processed
        # (their items included) add up to more than this: room for two
        # pages at the limit, so that one slow page does not hold back the
        # links it gave.
        if settings.getint("SCRAPER_SLOT_MAX_ACTIVE_SIZE") < 2 * max_bytes:
            settings.set("SCRAPER_SLOT_MAX_ACTIVE_SIZE", 2 * max_bytes, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not crawler.settings.get("SIEVE_CONTACT"):
            logger.warning(
                "SIEVE_CONTACT is not set: the sites you crawl cannot tell who you are. "
                "Set it to a URL or e-mail address (-s SIEVE_CONTACT=...)."
            )
        return spider

    def parse(self, response: Response) -> Iterator[Any]:
        """What ``scrapy parse URL`` calls: the page as this spider reads it."""
        yield from self.parse_page(response)

    def parse_page(self, response: Response) -> Iterator[Page | Skipped | Unchanged]:
        yield page_from_response(response, self.incremental, self.key_url(response.url), require_article=self.require_article)

    def key_url(self, url: str) -> str:
        """What pages are fetched and stored under (:func:`crawler.web_urls.key_url`)."""
        return key_url(url, self.settings.getlist("SIEVE_TRACKING_PARAMETERS"))

    def page_request(self, url: str, meta: dict[str, Any] | None = None) -> Request:
        key = self.key_url(url)
        meta = {**(meta or {PAGE: True})}
        if key != url:
            meta[NAMED_URL] = url
        return Request(key, callback=self.parse_page, errback=self.skip, meta=meta)

    def skip(self, failure: Failure) -> Iterator[Skipped]:
        skipped = skipped_from_failure(failure, self.settings.getint("SIEVE_MAX_BYTES"))
        if failure.request.meta.get(SEED):  # type: ignore[attr-defined]
            skipped = self.dead_seed(skipped)
        yield skipped

    def dead_seed(self, skipped: Skipped) -> Skipped:
        """A seed (a start page, sitemap or feed the user gave) came to
        nothing: the run fails (``sieve/seeds/dead``), so that a schedule
        hears of a site that is gone."""
        self.crawler.stats.inc_value("sieve/seeds/dead")
        logger.error("The seed %s cannot be used: %s (%s)", skipped.url, skipped.reason, skipped.detail)
        skipped.detail = f"seed of this run: {skipped.detail}"
        return skipped

    def checked_requests(self, urls: Iterable[str | Entry]) -> Iterator[Request | Skipped | Unchanged]:
        """Page requests for ``urls`` (or sitemap and feed entries); anything
        that is not an http(s) URL, or longer than ``URLLENGTH_LIMIT``, is
        skipped, entries not changed since their last download are
        unchanged: every URL is accounted for."""
        max_length = self.settings.getint("URLLENGTH_LIMIT")
        for url_or_entry in urls:
            entry = url_or_entry if isinstance(url_or_entry, Entry) else Entry(url_or_entry)
            if not is_web_url(entry.url):
                yield Skipped(entry.url, "bad-url", "not an http or https URL")
            elif max_length and len(entry.url) > max_length:
                yield Skipped(entry.url, "url-too-long", f"{len(entry.url)} characters, more than URLLENGTH_LIMIT ({max_length})")
            elif unchanged := self.incremental.unchanged_entry(self.key_url(entry.url), entry.date):
                yield unchanged
            else:
                yield self.page_request(entry.url)
