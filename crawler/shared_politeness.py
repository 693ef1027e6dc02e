"""Per-site politeness for a cluster as a whole, kept in Redis (see
:mod:`crawler.cluster`)."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.cluster import CLUSTER_DOWNLOAD_DELAY, is_cluster_crawler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self


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
