"""Sieve on several machines, on Redis or Valkey (``SIEVE_REDIS_URL``,
``requirements-cluster.txt``): crawler processes share one frontier through
scrapy-redis, and send their documents to one writer
(:mod:`crawler.stream_entries`, ``scrapy crawl stream``).

- :class:`crawler.shared_scheduler.SharedScheduler`: scrapy-redis's
  scheduler and dupefilter, with
  the queue and the seen requests kept between processes and runs
  (``SCHEDULER_PERSIST``: with scrapy-redis's default, the first process to
  find the queue empty deletes it under the others). A new run is started
  explicitly with ``scrapy frontier SPIDER --clear``; start URLs are then
  fetched once, however many crawlers start, since the shared dupefilter
  sees them.
- :class:`crawler.shared_politeness.SharedPolitenessMiddleware`: per-site
  concurrency and delay for the cluster as a whole.
- :class:`crawler.frontier_idle.SharedFrontierIdle`: a crawler whose queue is empty waits
  ``SIEVE_CLUSTER_IDLE_SECONDS`` for others to add requests before it
  closes, so that cron and systemd runs end, but not while a sibling is
  still finding links.

This module turns a crawl's settings into a cluster crawler's or the
writer's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.settings import SETTINGS_PRIORITIES

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

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
