"""scrapy-redis's scheduler for the shared frontier (:mod:`crawler.cluster`),
in its own module: scrapy-redis is an optional install."""

from __future__ import annotations

from typing import Any

from scrapy.utils.misc import load_object
from scrapy_redis.scheduler import Scheduler

#: The scrapy-redis release the three methods below were copied from, and
#: the start of the SHA-256 of each original's source (its guard:
#: tests/test_shared_scheduler.py).
TARGET = "0.9.1"
COPIED_FROM = {"open": "ab226a157fcc2a4c", "enqueue_request": "7802c29d2e4df3ff", "next_request": "ebb043f7cc1b3ed7"}


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, counting with today's StatsCollector API
    (the spider argument it passes is deprecated in Scrapy 2.19) and
    logging through ``spider.logger`` (its ``Spider.log()`` is deprecated
    too; it warned whenever a crawler joined a frontier that had requests).
    Upstream: scrapy-redis still passes ``spider`` to the stats collector and
    calls ``Spider.log`` in 0.9.1; a patch would be the three lines changed
    here."""

    def open(self, spider: Any) -> None:
        self.spider = spider
        try:
            self.queue = load_object(self.queue_cls)(
                server=self.server, spider=spider, key=self.queue_key % {"spider": spider.name}, serializer=self.serializer
            )
        except TypeError as e:
            raise ValueError(f"Failed to instantiate queue class '{self.queue_cls}': {e}") from e
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if self.flush_on_start:
            self.flush()
        if len(self.queue):
            spider.logger.debug("Resuming crawl (%d requests scheduled)", len(self.queue))

    def enqueue_request(self, request: Any) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Any:
        request = self.queue.pop(self.idle_before_close)
        if request and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request
