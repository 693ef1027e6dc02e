"""Publish stage, on cluster crawlers (``SIEVE_REDIS_URL``): each finished
document (article, skip, unchanged) goes to the cluster's document stream
(:mod:`crawler.stream_entries`) for the writer, in place of the dedup and storage
stages.

Back-pressure: when the stream holds ``SIEVE_STREAM_MAX_BACKLOG`` documents
(the writer deletes those it has committed), the stage waits for the writer
before it sends more, and Scrapy stops downloading while it waits: a slow
or stopped writer never fills the Redis server's memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import Article, Skipped, Unchanged
from crawler.stream_entries import STREAM_KEY, encode_entry

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Seconds between two looks at the backlog while waiting for the writer.
BACKLOG_POLL = 0.5


class PublishPipeline:
    def __init__(self, client: Any, max_backlog: int, stats: Any):
        self.client = client
        self.max_backlog = max_backlog
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        url = crawler.settings.get("SIEVE_REDIS_URL")
        if not url:
            raise NotConfigured("SIEVE_REDIS_URL is empty")
        import redis.asyncio

        return cls(redis.asyncio.Redis.from_url(url), crawler.settings.getint("SIEVE_STREAM_MAX_BACKLOG"), crawler.stats)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, (Article, Skipped, Unchanged)):
            return item
        async with self.client.pipeline(transaction=False) as pipe:
            backlog = (await pipe.xadd(STREAM_KEY, {"doc": encode_entry(item)}).xlen(STREAM_KEY).execute())[1]
        self.stats.inc_value("sieve/stream/sent")
        if backlog >= self.max_backlog:
            await self._wait_for_writer(backlog)
        raise DropItem(f"{item.url} sent to the writer", log_level="DEBUG")

    async def _wait_for_writer(self, backlog: int) -> None:
        logger.warning(
            "The document stream holds %d documents (SIEVE_STREAM_MAX_BACKLOG is %d): waiting for the writer",
            backlog, self.max_backlog,
        )  # fmt: skip
        started = asyncio.get_running_loop().time()
        while backlog >= self.max_backlog:
            await asyncio.sleep(BACKLOG_POLL)
            backlog = await self.client.xlen(STREAM_KEY)
        waited = asyncio.get_running_loop().time() - started
        self.stats.inc_value("sieve/stream/backpressure_seconds", round(waited, 1))
        logger.info("The writer caught up after %.1f s", waited)

    async def close_spider(self) -> None:
        await self.client.aclose()
