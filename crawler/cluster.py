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
- :class:`SharedPolitenessMiddleware`: per-site concurrency and delay
  for the cluster as a whole.
- :class:`SharedFrontierIdle`: a crawler whose queue is empty waits
  ``SIEVE_CLUSTER_IDLE_SECONDS`` for others to add requests before it
  closes, so that cron and systemd runs end, but not while a sibling is
  still finding links.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.httpobj import urlparse_cached

from crawler.scrapy_internals import ask_scheduler_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: scrapy-redis's own key names (its defaults), for the reset command.
QUEUE_KEY = "%(spider)s:requests"
DUPEFILTER_KEY = "%(spider)s:dupefilter"


SHARED_SCHEDULER = "crawler.shared_scheduler.SharedScheduler"
#: Where a cluster crawler keeps DOWNLOAD_DELAY, which it applies to the cluster.
CLUSTER_DOWNLOAD_DELAY = "CLUSTER_DOWNLOAD_DELAY"
#: The stages a cluster crawler runs in place of identity, dedup and storage, which
#: are the writer's (``scrapy crawl stream``).
CRAWLER_STAGES = {
    "pipelines.identity.ArticleIdentityPipeline": None,
    "pipelines.cross_dedup.CrossDedupPipeline": None,
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
    # writer's SIEVE_DB must not write to it; DOWNLOAD_DELAY is the cluster's
    # (SharedPolitenessMiddleware), and a crawler's own delay, which Scrapy
    # applies after the middleware, would only shift its requests about.
    settings.set(CLUSTER_DOWNLOAD_DELAY, settings.getfloat("DOWNLOAD_DELAY"), priority="spider")
    for name, value in {"SIEVE_DB": "", "DOWNLOAD_DELAY": 0}.items():
        settings.set(name, value, priority=SETTINGS_PRIORITIES["cmdline"] + 1)


def is_cluster_crawler(settings: BaseSettings) -> bool:
    """Whether a crawl is a cluster crawler (see :func:`use_shared_frontier`)."""
    return settings.get("SCHEDULER") == SHARED_SCHEDULER


def use_writer_stages(settings: BaseSettings) -> None:
    """Make a crawl the cluster's writer: identity, dedup and storage only."""
    settings.set("ITEM_PIPELINES", {**settings.getdict("ITEM_PIPELINES"), **WRITER_STAGES}, priority="spider")


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


#: Takes a download slot on a host for the whole cluster, or says how many
#: milliseconds to wait: the server's clock, so that machines' clocks do not
#: matter. A lease expires by itself, so a crawler that dies frees its slots.
TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < next_start then return next_start - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[2], now + tonumber(ARGV[4]), 'PX', ARGV[4]) end
return 0
"""
#: Request meta key: the cluster-wide slot this request holds.
SLOT_TOKEN = "sieve_slot_token"
#: Seconds between two tries for a slot that all the cluster's crawlers hold.
SLOT_POLL = 0.05


class SharedPolitenessMiddleware:
    """Per-site manners for the cluster as a whole: at most
    ``CONCURRENT_REQUESTS_PER_DOMAIN`` requests at once to one host, and
    ``DOWNLOAD_DELAY`` between two starts, whichever crawler makes them
    (each crawler's own Scrapy slots still apply, and AutoThrottle, when
    on, adapts each crawler's delays on top). Placed last, so that only requests that
    go to the network take a slot; a slot is held until the response or
    failure comes back, or ``DOWNLOAD_TIMEOUT`` plus a minute if its crawler
    died."""

    def __init__(self, client: Any, per_host: int, delay: float, lease: float):
        self.client = client
        self.take_slot = client.register_script(TAKE_SLOT)
        self.per_host = per_host
        self.delay_ms = int(delay * 1000)
        self.lease_ms = int(lease * 1000)
        self.tokens = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not is_cluster_crawler(settings):
            raise NotConfigured  # off unless asked for: no warning (Scrapy logs a reason as one)
        import redis.asyncio

        return cls(
            redis.asyncio.Redis.from_url(settings.get("SIEVE_REDIS_URL")),
            per_host=settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            delay=settings.getfloat(CLUSTER_DOWNLOAD_DELAY),
            lease=settings.getfloat("DOWNLOAD_TIMEOUT") + 60,
        )

    @staticmethod
    def _keys(request: Any) -> list[str]:
        host = urlparse_cached(request).hostname or ""
        return [f"sieve:hosts:{host}:slots", f"sieve:hosts:{host}:next"]

    async def process_request(self, request: Any) -> None:
        if not request.url.startswith(("http://", "https://")):
            return
        self.tokens += 1
        token = request.meta[SLOT_TOKEN] = f"{os.getpid()}@{socket.gethostname()}:{self.tokens}"
        while True:
            wait = await self.take_slot(keys=self._keys(request), args=[token, self.per_host, self.lease_ms, self.delay_ms])
            if wait == 0:
                return
            await asyncio.sleep(SLOT_POLL if wait < 0 else wait / 1000)

    async def _release(self, request: Any) -> None:
        token = request.meta.pop(SLOT_TOKEN, None)
        if token is not None:
            await self.client.zrem(self._keys(request)[0], token)

    async def process_response(self, request: Any, response: Any) -> Any:
        await self._release(request)
        return response

    async def process_exception(self, request: Any, exception: Exception) -> None:
        await self._release(request)

