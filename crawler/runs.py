"""The run record: the extension that writes each crawl's row in ``runs``
(spider, arguments, start, end, status, final stats), marks runs whose
process died as ``interrupted``, counts the errors that fail a run, logs the
end-of-run summary, and says whether the run succeeded (the exit status of
``scrapy crawl``).

A run fails when a spider callback raised (Scrapy's own
``spider_exceptions/count``), a pipeline stage raised
(``sieve/errors/pipeline``), a database write failed
(``sieve/errors/database``) or a seed the user gave (a start page, sitemap
or feed) could not be fetched or read (``sieve/seeds/dead``). Skipped documents are not failures. A run
stopped by a ``CLOSESPIDER_*`` limit did what was asked.
"""

from __future__ import annotations

import logging
import os
import pprint
import sqlite3
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler.storage import reads, writes
from crawler.storage.connection import now
from crawler.storage.database import Database

if TYPE_CHECKING:
    import sqlite_utils
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

ERROR_COUNTERS = (
    "spider_exceptions/count", "sieve/errors/pipeline", "sieve/errors/database", "sieve/seeds/dead",
    "sieve/stream/unreadable",
)  # fmt: skip


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sum_counters(stats: dict[str, Any], prefix: str) -> int:
    """The total of the counters under ``prefix`` (``sieve/skipped/`` and the like)."""
    return sum(v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, int))


def run_status(stats: dict[str, Any], reason: str) -> str:
    """``finished``, ``failed``, or the reason the crawl closed otherwise."""
    if any(stats.get(counter) for counter in ERROR_COUNTERS):
        return "failed"
    return "finished" if reason == "finished" else reason


def run_succeeded(status: str) -> bool:
    return status == "finished" or status.startswith("closespider_")


class RunRecord:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.database: Database | None = None
        self.run_id: int | None = None
        #: Set when the spider closes.
        self.status: str | None = None
        #: Why writing failed, in one line, if it did.
        self.error: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        record = cls(crawler)
        crawler.signals.connect(record.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(record.spider_closed, signal=signals.spider_closed)
        # After Scrapy's own last lines: the summary is the run's last line.
        crawler.signals.connect(record.log_summary, signal=signals.engine_stopped)
        crawler.signals.connect(record.item_error, signal=signals.item_error)
        return record

    @property
    def succeeded(self) -> bool:
        return self.status is not None and run_succeeded(self.status)

    def item_error(self, *args: Any, **kwargs: Any) -> None:
        self.stats.inc_value("sieve/errors/pipeline")

    def spider_opened(self) -> None:
        self.database = self.crawler.get_extension(Database)
        if self.database is None:
            return
        spider = self.crawler.spider
        try:
            with self.database.transaction() as db:
                self._mark_interrupted_runs(db)
                self.run_id = writes.start_run(db, spider.name, getattr(spider, "arguments", {}), now())
        except sqlite3.Error as exc:
            # The database counted it and stops the crawl.
            raise CloseSpider("database-error") from exc
        self.stats.set_value("sieve/run_id", self.run_id)
        if self.database.in_memory:
            logger.info("Run without a database (SIEVE_DB is empty): articles go to -o feeds only, nothing is kept")
        else:
            logger.info("Run %d writing to %s", self.run_id, os.path.abspath(self.database.path))

    def _mark_interrupted_runs(self, db: sqlite_utils.Database) -> None:
        """Runs still "running" whose process is gone were killed: say so."""
        for run_id, pid in reads.running_runs(db):
            if pid and not _process_alive(pid):
                writes.end_run(db, run_id, "interrupted")
                logger.warning("Run %d did not finish (its process %d is gone); marked interrupted", run_id, pid)

    def spider_closed(self, reason: str) -> None:
        if reason == "shutdown" and getattr(self.crawler.spider, "runs_until_stopped", False):
            reason = "finished"  # a service, stopped: its normal end
        if self.database is not None and self.run_id is not None:
            try:
                self.database.finish_batch()
            except sqlite3.Error:
                pass  # counted by the database; the status below says failed
        stats = self.stats.get_stats()
        self.status = run_status(stats, reason)
        if self.database is not None:
            self.error = self.database.failure
        if self.database is None or self.run_id is None:
            return
        try:
            with self.database.transaction() as db:
                writes.end_run(db, self.run_id, self.status, at=now(), stats=stats)
        except sqlite3.Error as exc:
            logger.error("Could not record the end of run %d in %s: %s", self.run_id, self.database.path, exc)
            self.stats.inc_value("sieve/errors/database")
            self.status = "failed"
            self.error = self.error or self.database.failure

    def log_summary(self) -> None:
        if self.status is None:
            return  # the spider never opened
        stats = self.stats.get_stats()
        # Scrapy's own dump of them (STATS_DUMP) is off: they are in runs.stats.
        logger.debug("Scrapy stats:\n%s", pprint.pformat(stats))
        if "sieve/stream/sent" in stats:
            logger.info("Sieve cluster crawler %s: %d documents sent to the writer", self.status, stats["sieve/stream/sent"])
            return
        if self.run_id is None or self.database is None or self.database.in_memory:
            where = "run without a database"
        else:
            where = f"run {self.run_id} ({self.database.path})"
        stored = stats.get("sieve/articles_stored", 0)
        updated = stats.get("sieve/articles_updated", 0)
        logger.info(
            "Sieve %s %s: %d new and %d updated articles (%d of these near-duplicates), %d unchanged, %d skipped; "
            "%d paragraphs removed",
            where,
            self.status,
            stored - updated,
            updated,
            stats.get("sieve/dedup/near_duplicates", 0),
            sum_counters(stats, "sieve/unchanged/"),
            sum_counters(stats, "sieve/skipped/"),
            sum_counters(stats, "sieve/paragraphs_removed/"),
        )
