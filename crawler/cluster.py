"""A crawl frontier shared by several crawler processes, on Redis or Valkey
through scrapy-redis (``requirements-cluster.txt``), when ``SIEVE_REDIS_URL``
is set.

- :class:`crawler.shared_scheduler.SharedScheduler`: scrapy-redis's
  scheduler and dupefilter, with
  the queue and the seen requests kept between processes and runs
  (``SCHEDULER_PERSIST``: with scrapy-redis's default, the first process to
  find the queue empty deletes it under the others). A new run is started
  explicitly with ``scrapy frontier-reset SPIDER``; start URLs are then
  fetched once, however many crawlers start, since the shared dupefilter
  sees them.
- :class:`SharedFrontierIdle`: a crawler whose queue is empty waits
  ``SIEVE_CLUSTER_IDLE_SECONDS`` for others to add requests before it
  closes, so that cron and systemd runs end, but not while a sibling is
  still finding links.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

#: scrapy-redis's own key names (its defaults), for the reset command.
QUEUE_KEY = "%(spider)s:requests"
DUPEFILTER_KEY = "%(spider)s:dupefilter"


def use_shared_frontier(settings: BaseSettings) -> None:
    """Point a crawl's scheduler at Redis when SIEVE_REDIS_URL is set."""
    url = settings.get("SIEVE_REDIS_URL")
    if not url:
        return
    for name, value in {
        "SCHEDULER": "crawler.shared_scheduler.SharedScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": url,
    }.items():
        settings.set(name, value, priority="spider")


class SharedFrontierIdle:
    def __init__(self, crawler: Crawler, idle_seconds: float):
        self.crawler = crawler
        self.idle_seconds = idle_seconds
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.get("SIEVE_REDIS_URL"):
            raise NotConfigured("SIEVE_REDIS_URL is empty")
        idle = cls(crawler, crawler.settings.getfloat("SIEVE_CLUSTER_IDLE_SECONDS"))
        crawler.signals.connect(idle.spider_idle, signal=signals.spider_idle)
        # Busy again: this crawler queued a request, or took one (maybe another's).
        crawler.signals.connect(idle.busy, signal=signals.request_scheduled)
        crawler.signals.connect(idle.busy, signal=signals.request_reached_downloader)
        return idle

    def busy(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None

    def spider_idle(self) -> None:
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.idle_seconds:
            # Scrapy asks again in a few seconds; another crawler may have
            # queued requests by then.
            raise DontCloseSpider
        logger.info("The shared frontier has been empty for %.0f s: closing", now - self.idle_since)
