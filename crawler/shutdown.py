"""The :class:`PromptShutdown` extension: a crawl told to stop (Ctrl-C,
SIGTERM, scrapyd's cancel) stops within a second or two and says what it
is waiting for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from scrapy import signals

from crawler.scrapy_internals import hurry_queued_downloads, items_in_the_pipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: How often a crawl looks whether it was told to stop...
POLL_SECONDS = 0.2
#: ...and, once stopping, says what it still waits for.
WAITING_REPORT_SECONDS = 5.0


class PromptShutdown:
    """Scrapy stops a crawl gracefully: it waits for the requests the
    downloader already holds, each after its politeness delay (some ten
    seconds at the defaults), and for the items in the pipeline. Those
    requests are fetched at once instead (nothing is lost: a JOBDIR crawl
    resumes exactly), and while the crawl waits it says for what."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.watcher: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        self.watcher = asyncio.get_running_loop().create_task(self.watch())

    def spider_closed(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()

    async def watch(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while self.crawler.crawling:
                await asyncio.sleep(POLL_SECONDS)
            hurried = hurry_queued_downloads(self.crawler)
            while True:
                downloads = len(self.crawler.engine.downloader.active)
                items = items_in_the_pipeline(self.crawler) or 0
                if hurried or downloads or items:
                    logger.info(
                        "Stopping: waiting for %d downloads (%d of them no longer delayed) and %d documents in the "
                        "stages; press Ctrl-C again to stop at once, losing them",
                        downloads,
                        hurried,
                        items,
                    )
                hurried = 0
                await asyncio.sleep(WAITING_REPORT_SECONDS)
