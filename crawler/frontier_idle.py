"""A cluster crawler whose share of the frontier is empty waits
``SIEVE_CLUSTER_IDLE_SECONDS`` for other crawlers to add requests before it
closes (see :mod:`crawler.cluster`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from crawler.cluster import is_cluster_crawler
from crawler.scrapy_internals import ask_scheduler_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


#: Seconds between two looks at the shared frontier while a crawler is idle.
IDLE_POLL = 0.5


class SharedFrontierIdle:
    def __init__(self, crawler: Crawler, idle_seconds: float):
        self.crawler = crawler
        self.idle_seconds = idle_seconds
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not is_cluster_crawler(crawler.settings):
            raise NotConfigured  # off unless asked for: no warning (Scrapy logs a reason as one)
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
            # Another crawler may queue requests at any time, but Scrapy asks
            # an idle crawler's scheduler only every 5 s (the engine's
            # heartbeat): ask sooner.
            asyncio.get_running_loop().call_later(IDLE_POLL, ask_scheduler_now, self.crawler)
            raise DontCloseSpider
        logger.info("The shared frontier has been empty for %.0f s: closing", now - self.idle_since)
