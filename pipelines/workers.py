"""The item processor (``ITEM_PROCESSOR``): ``ITEM_PIPELINES`` as Scrapy runs
them, except that the leading document stages (extraction, cleaning,
repeats: the stages marked ``in_workers``) run in a pool of
``SIEVE_WORKERS`` worker processes, while Scrapy keeps downloading.

The stages after them (cross-document dedup, storage) run in the crawl's
own process, one item at a time, in the order items reached the processor,
whichever worker finishes first: the database sees the same sequence as
without workers.

A worker that crashes, or takes longer than ``SIEVE_EXTRACT_TIMEOUT`` on a
page, is replaced; that page is recorded as skipped (``worker-crashed``,
``extraction-timeout``) and the others go on. A stage that raises on a page,
in a worker or here, has the page recorded as skipped (``stage-error``) and
fails the run.
"""

from __future__ import annotations

import inspect
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.items import Page
from crawler.progress import processes_ending
from crawler.storage.connection import DatabaseError
from crawler.storage.database import Database
from pipelines.fork_server import start_fork_server, worker_count
from pipelines.sequencer import Sequencer
from pipelines.worker_pool import WorkerPool
from pipelines.worker_process import Dropped, PoolBroken, StageFailed, apply_stages, stage_cpu_key, timed_call

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

    from pipelines.stage import DocumentStage

logger = logging.getLogger(__name__)


def timed(stage: Any, stats: Any) -> Any:
    """The stage, its ``process_item`` counted as :func:`timed_call` does
    (not an asynchronous one, whose time is mostly waiting)."""
    if inspect.iscoroutinefunction(stage.process_item):
        return stage
    return TimedStage(stage, stats)


class TimedStage:
    """A stage as Scrapy's item pipeline manager sees it, with the CPU time
    of each ``process_item`` counted; everything else is the stage's own."""

    def __init__(self, stage: Any, stats: Any):
        self.stage = stage
        self.stats = stats
        self.key = stage_cpu_key(stage)

    def process_item(self, item: Any) -> Any:
        return timed_call(self.key, self.stage.process_item, item, self.stats)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stage, name)


class ParallelItemProcessor:
    @staticmethod
    def start_early(settings: BaseSettings) -> None:
        """Called by ``scrapy crawl`` once it has read its command line."""
        start_fork_server(settings)

    def __init__(
        self, crawler: Crawler, manager: ItemPipelineManager, pool: WorkerPool | None, leading: list[DocumentStage]
    ):
        self.crawler = crawler
        self.manager = manager
        self.pool = pool
        #: The document stages, run here when there are no workers.
        self.leading = leading
        self.sequencer = Sequencer()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # Built here, where a setting a stage cannot work with stops the
        # crawl at the start; the workers get copies of the document stages.
        stages: list[tuple[str, Any]] = []
        for path in build_component_list(crawler.settings.getwithbase("ITEM_PIPELINES")):
            try:
                stages.append((path, build_from_crawler(load_object(path), crawler)))
            except NotConfigured as exc:  # as Scrapy's own component managers do
                logger.info("Stage %s disabled: %s", path, exc)
        leading = 0
        while leading < len(stages) and getattr(stages[leading][1], "in_workers", False):
            leading += 1
        workers = worker_count(crawler.settings)
        pool = None
        document_stages = [stage for _, stage in stages[:leading]]
        if workers and leading:
            pool = WorkerPool(workers, document_stages, crawler.settings.getfloat("SIEVE_EXTRACT_TIMEOUT"))
            logger.info("Stages in %d worker processes: %s", workers, ", ".join(path for path, _ in stages[:leading]))
            start_fork_server(crawler.settings)
            document_stages = []
        logger.info("Stages in this process: %s", ", ".join(path for path, _ in stages[0 if pool is None else leading :]))
        manager = ItemPipelineManager(*(timed(stage, crawler.stats) for _, stage in stages[leading:]), crawler=crawler)
        return cls(crawler, manager, pool, document_stages)

    async def open_spider_async(self) -> None:
        if self.pool is not None:
            self.pool.start()
        for stage in self.leading:
            stage.start()
        await self.manager.open_spider_async()

    async def close_spider_async(self) -> None:
        try:
            await self.manager.close_spider_async()
        finally:
            if self.pool is not None:
                await self.pool.wait_started()
                self.crawler.signals.send_catch_log(signal=processes_ending)
                self.crawler.stats.set_value("sieve/workers/busy_seconds", round(self.pool.busy, 1))
                self.crawler.stats.set_value("sieve/workers/queued_seconds", round(self.pool.waited, 1))
                self.pool.close()

    async def process_item_async(self, item: Any) -> Any:
        ticket = self.sequencer.ticket()
        try:
            if self.pool is not None and isinstance(item, Page):
                outcome = await self.pool.process(item)
                for key, count in outcome.stats.items():
                    self.crawler.stats.inc_value(key, count)
            else:
                outcome = apply_stages(self.leading, item, self.crawler.stats)
            await self.sequencer.turn(ticket)
            if isinstance(outcome, Dropped):
                raise DropItem(outcome.reason)
            if isinstance(outcome, PoolBroken):
                raise RuntimeError(f"a document stage failed in a worker process:\n{outcome.reason}")
            if isinstance(outcome, StageFailed):
                # A bug, and the run fails (crawler.runs), but the document
                # is recorded and the others go on.
                logger.error("%s: a document stage failed; skipped as stage-error:\n%s", outcome.skipped.url, outcome.traceback)
                self.crawler.stats.inc_value("sieve/errors/pipeline")
                return await self.manager.process_item_async(outcome.skipped)
            return await self.manager.process_item_async(outcome.item)
        except (sqlite3.Error, DatabaseError) as exc:
            # Whichever stage met it: the open batch is rolled back and the
            # crawl stops, in one line (Database.fail), not a traceback per item.
            database = self.crawler.get_extension(Database)
            if database is None:
                raise
            if isinstance(exc, sqlite3.Error):
                database.fail(exc)
            raise DropItem(f"{getattr(item, 'url', item)} not stored: {database.failure or exc}", log_level="DEBUG") from None
        finally:
            self.sequencer.done(ticket)
