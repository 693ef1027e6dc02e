"""crawler.scrapy_internals: each piece of Scrapy's private API Sieve relies
on is still there and still behaves as it did in the version targeted;
when one of these fails, Scrapy changed under it. What each piece is for is
tested through crawls (tests/test_web_spiders.py: robots.txt for every
waiting request; tests/test_scheduled.py: Ctrl-C with items in the
pipeline; tests/test_listings.py: news publication dates)."""

from __future__ import annotations

import inspect
from collections import deque
from importlib.metadata import version

from scrapy.core.engine import ExecutionEngine, _Slot
from scrapy.core.scraper import Scraper, Slot
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapysRobotsTxtMiddleware
from scrapy.utils.sitemap import Sitemap

from crawler.scrapy_internals import TARGETS, NewsSitemap, RobotsTxtMiddleware
from tests.test_listings import NEWS_URLSET


def source(function) -> str:
    return " ".join(inspect.getsource(function).split())


def test_installed_scrapy_is_the_version_targeted():
    assert version("scrapy").startswith(TARGETS["scrapy"])


def test_guard_scraper_counts_items_in_its_pipeline_and_checks_closing_itself():
    assert "self.itemproc_size" in source(Slot.__init__) and "self.closing" in source(Slot.__init__)
    assert callable(Scraper._check_if_closing)


def test_guard_engine_keeps_its_slot_and_the_slot_its_next_call():
    assert "self._slot" in source(ExecutionEngine)
    assert "self.nextcall" in source(_Slot.__init__)


def test_guard_scrapys_robots_middleware_still_shares_one_deferred_between_waiters():
    """When this fails, Scrapy's robot_parser changed: see whether the bug
    (docs/upstream/scrapy-robotstxt-waiters.patch) is fixed there."""
    body = source(ScrapysRobotsTxtMiddleware.robot_parser)
    assert "self._parsers[netloc] = Deferred()" in body
    assert "return await maybe_deferred_to_future(parser)" in body
    assert RobotsTxtMiddleware.robot_parser is not ScrapysRobotsTxtMiddleware.robot_parser


def test_guard_scrapys_sitemap_still_leaves_the_news_publication_date_out():
    assert all("publication_date" not in entry for entry in Sitemap(NEWS_URLSET))
    assert [entry.get("publication_date") for entry in NewsSitemap(NEWS_URLSET)] == ["2024-03-05T08:30:00-05:00", None, None]


def test_guard_downloader_slots_hold_their_queue_delay_and_later_call():
    from scrapy.core.downloader import Downloader
    from scrapy.core.downloader import Slot as DownloaderSlot

    slot = DownloaderSlot(concurrency=2, delay=1.0)
    assert (slot.queue, slot.active, slot.delay, slot.latercall) == (deque(), set(), 1.0, None)
    assert "self.slots" in source(Downloader.__init__)
    assert "slot.latercall" in source(Downloader._process_queue) and "slot.download_delay()" in source(Downloader._process_queue)


def test_guard_autothrottle_leaves_the_delay_of_requests_marked_dont_adjust():
    from scrapy.extensions.throttle import AutoThrottle

    assert 'request.meta.get("autothrottle_dont_adjust_delay", False) is True' in source(AutoThrottle._response_downloaded)
