"""Sieve on several machines, on Redis or Valkey (``SIEVE_REDIS_URL``,
``requirements-cluster.txt``): crawler processes share one frontier through
scrapy-redis, and send their documents to one writer
(:mod:`crawler.stream`, ``scrapy crawl stream``).

- :class:`crawler.shared_scheduler.SharedScheduler`: scrapy-redis's
  scheduler and dupefilter, with
  the queue and the seen requests kept between processes and runs
  (``SCHEDULER_PERSIST``: with scrapy-redis's default, the first process to
  find the queue empty deletes it under the others). A new run is started
  explicitly with ``scrapy frontier SPIDER --clear``; start URLs are then
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
from scrapy.settings import SETTINGS_PRIORITIES

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

#: scrapy-redis's own key names (its defaults), for the reset command.
QUEUE_KEY = "%(spider)s:requests"
DUPEFILTER_KEY = "%(spider)s:dupefilter"


SHARED_SCHEDULER = "crawler.shared_scheduler.SharedScheduler"
#: The stages a cluster crawler runs in place of dedup and storage, which
#: are the writer's (``scrapy crawl stream``).
CRAWLER_STAGES = {
    "pipelines.neardup.CrossDedupPipeline": None,
    "pipelines.store.StorePipeline": None,
    "pipelines.publish.PublishPipeline": 800,
}
#: The document stages, which the writer does not run again: its documents
#: come out of them on the crawler machines.
WRITER_STAGES = {
    "pipelines.extract.ExtractPipeline": None,
    "pipelines.clean.CleanPipeline": None,
    "pipelines.repeats.RepeatPipeline": None,
}


def use_shared_frontier(settings: BaseSettings) -> None:
    """Make a crawl a cluster crawler when SIEVE_REDIS_URL is set: its
    scheduler takes requests from, and adds them to, the shared frontier; its
    documents go to the writer. It has no database of its own."""
    url = settings.get("SIEVE_REDIS_URL")
    if not url:
        return
    for name, value in {
        "SCHEDULER": SHARED_SCHEDULER,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": url,
        "ITEM_PIPELINES": {**settings.getdict("ITEM_PIPELINES"), **CRAWLER_STAGES},
    }.items():
        settings.set(name, value, priority="spider")
    # Above -s (which Scrapy applies again after this): a crawler given the
    # writer's SIEVE_DB must not write to it.
    settings.set("SIEVE_DB", "", priority=SETTINGS_PRIORITIES["cmdline"] + 1)


def use_writer_stages(settings: BaseSettings) -> None:
    """Make a crawl the cluster's writer: dedup and storage only."""
    settings.set("ITEM_PIPELINES", {**settings.getdict("ITEM_PIPELINES"), **WRITER_STAGES}, priority="spider")


class SharedFrontierIdle:
    def __init__(self, crawler: Crawler, idle_seconds: float):
        self.crawler = crawler
        self.idle_seconds = idle_seconds
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.settings.get("SCHEDULER") != SHARED_SCHEDULER:
            raise NotConfigured("no shared frontier")
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
