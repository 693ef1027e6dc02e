"""Everything Sieve reads or overrides of Scrapy's private API, in one place.
Each was written against the version in :data:`TARGETS` and has a guard in
tests/test_scrapy_internals.py that fails when Scrapy changes under it.
(scrapy-redis's scheduler, an optional install, is mended in
:mod:`crawler.shared_scheduler`, with its guard in tests/test_cluster.py.)

- :func:`items_in_the_pipeline`, :func:`wake_engine`: Scrapy does not look
  again at a closing spider, nor at an idle one before its next 5 s
  heartbeat, when the last item from ``start()`` leaves the pipeline (it
  does after a response): a crawl stopped with Ctrl-C while such items
  were in the pipeline never closed. The engine's own checks are poked, as
  its response path does (``Scraper._check_if_closing``, the engine slot's
  ``nextcall``).
- :func:`ask_scheduler_now`: the engine asks an idle spider's scheduler
  for requests only at its 5 s heartbeat; a cluster crawler asks sooner.
- :func:`hurry_queued_downloads`: a crawl stopping (Ctrl-C) waits for the
  requests the downloader already holds, each still after its
  AutoThrottle or ``DOWNLOAD_DELAY`` delay: some ten seconds at the
  defaults. Their slots' delay is set to 0 (and AutoThrottle told not to
  raise it again, as its ``autothrottle_dont_adjust_delay`` does) and their
  queues processed at once (``Downloader._process_queue``).
- :class:`RobotsTxtMiddleware`: requests that arrive while a host's
  robots.txt is being downloaded all await the same Deferred (the
  middleware's private ``_parsers``); since ``robot_parser`` became a
  coroutine awaiting it through ``maybe_deferred_to_future``, the first
  waiter takes the parser and the others get None, which means "allowed":
  a URL list, a sitemap or a cluster crawler fetched disallowed pages. The
  fix as a patch to Scrapy: docs/upstream/scrapy-robotstxt-waiters.patch.
- :class:`NewsSitemap`: Scrapy's sitemap parser keeps a news sitemap's
  ``<news:publication_date>`` only as text; its private
  ``_process_sitemap_element`` is extended to read it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares import robotstxt
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.sitemap import Sitemap
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from lxml import etree
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

#: The version each piece was written and checked against.
TARGETS = {"scrapy": "2.19"}


def items_in_the_pipeline(crawler: Crawler) -> int | None:
    """Items the scraper counts as in its pipeline; None when it has no slot."""
    scraper = getattr(crawler.engine, "scraper", None)
    if scraper is None or scraper.slot is None:
        return None
    return scraper.slot.itemproc_size


def wake_engine(crawler: Crawler, tries: int = 50) -> None:
    """Have the engine check at once whether the spider can close (or take
    the next requests), once the scraper has counted out its last item."""
    engine = crawler.engine
    in_pipeline = items_in_the_pipeline(crawler)
    if in_pipeline is None:
        return
    if in_pipeline and tries:
        # The scraper counts the item out a few steps after item_scraped;
        # if others are still in, a response's path will check instead.
        asyncio.get_running_loop().call_later(0.01, wake_engine, crawler, tries - 1)
        return
    scraper = engine.scraper
    if scraper.slot.closing is not None:
        if not scraper.slot.closing.called:  # closed meanwhile by another path
            scraper._check_if_closing()
    else:
        ask_scheduler_now(crawler)


def ask_scheduler_now(crawler: Crawler) -> None:
    slot = getattr(crawler.engine, "_slot", None)  # None once closed
    if slot is not None:
        slot.nextcall.schedule()


def hurry_queued_downloads(crawler: Crawler) -> int:
    """Fetch the requests waiting in the downloader's slots without their
    delay; how many there were."""
    downloader = getattr(crawler.engine, "downloader", None)
    if downloader is None:
        return 0
    waiting = 0
    for slot in list(downloader.slots.values()):
        waiting += len(slot.queue)
        slot.delay = 0
        for request in slot.active:
            request.meta["autothrottle_dont_adjust_delay"] = True
        if slot.latercall is not None:
            slot.latercall.cancel()
            slot.latercall = None
        downloader._process_queue(slot)
    return waiting


class RobotsTxtMiddleware(robotstxt.RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware (``ROBOTSTXT_OBEY``), each request that
    waits for a robots.txt download given a Deferred of its own, fired with
    the parser, which passes on down the shared one."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            mine: Deferred[RobotParser | None] = Deferred()

            def share(parser: RobotParser | None) -> RobotParser | None:
                mine.callback(parser)
                return parser

            pending.addCallback(share)
            return await maybe_deferred_to_future(mine)
        return await super().robot_parser(request)


class NewsSitemap(Sitemap):
    """Scrapy's sitemap parser, also reading a news sitemap's publication
    date (nested in ``<news:news>``) as ``publication_date``."""

    __slots__ = ()

    def _process_sitemap_element(self, elem: etree._Element) -> dict[str, Any] | None:
        published = next(
            (
                node.text.strip()
                for node in elem.iter()
                if self._get_tag_name(node) == "publication_date" and node.text and node.text.strip()
            ),
            None,
        )
        entry = super()._process_sitemap_element(elem)
        if entry is not None and published:
            entry["publication_date"] = published
        return entry
