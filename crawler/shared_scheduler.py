"""scrapy-redis's scheduler for the shared frontier (:mod:`crawler.cluster`),
in its own module: scrapy-redis is an optional install."""

from __future__ import annotations

from typing import Any

from scrapy_redis.scheduler import Scheduler


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, counting with today's StatsCollector API
    (the spider argument it passes is deprecated in Scrapy 2.19)."""

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
