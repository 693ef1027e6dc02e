"""The :class:`Database` extension: the crawl's one connection to its
database and its one write transaction at a time, committed in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.cluster import is_cluster_crawler
from crawler.storage import writes
from crawler.storage.connection import DatabaseError, connect, database_path, file_identity, write_transaction
from crawler.storage.schema import index_new_articles

if TYPE_CHECKING:
    import sqlite_utils
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: SQLite's name for a database in memory: what an empty SIEVE_DB gives.
IN_MEMORY = ":memory:"


class Database:
    """The extension that owns the crawl's database (``SIEVE_DB``): one
    connection, opened when the crawler is built, so that a database that
    cannot be used stops the crawl before it starts, in one line; and one
    write transaction at a time, which the stages that read and then write
    (dedup, then store) share, so that what dedup read is still true when
    store writes.

    The transaction is committed after ``SIEVE_STORE_BATCH`` documents have
    left the pipeline, or ``SIEVE_STORE_FLUSH_SECONDS`` after it began,
    whichever comes first, so another process writing to the same database
    waits at most about that long. Counters of what was written
    (:meth:`count`) reach the crawl's stats only once it is committed.

    A write or commit that fails (a full disk, a file made read-only) rolls
    back the batch, is counted (``sieve/errors/database``, which fails the
    run), and stops the crawl: nothing more could be stored. ``failure``
    then says why, in one line.

    With ``SIEVE_DB`` empty the database is in memory, for this run only:
    every stage runs as with a file (in-run dedup included) and ``-o``
    feeds get the same records; nothing is kept. A cluster crawler has
    none (its documents go to the writer).

    Components reach it with ``crawler.get_extension(Database)``.
    """

    def __init__(
        self,
        path: str,
        *,
        batch_size: int,
        flush_seconds: float,
        busy_timeout: float,
        stats: Any = None,
        crawler: Crawler | None = None,
    ):
        self.path = path
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.busy_timeout = busy_timeout
        self.stats = stats
        self.crawler = crawler
        self.db: sqlite_utils.Database | None = None
        self.pending = 0
        self.documents_done = 0
        self.pending_counts: Counter[str] = Counter()
        self.flush_timer: asyncio.TimerHandle | None = None
        self.failure: str | None = None
        #: False when the crawl commits by itself (:meth:`hold_commits`).
        self.auto_commit = True
        #: The file's (device, inode) when opened: a file removed or replaced
        #: under the run would take every later commit with it, unseen.
        self.file_identity: tuple[int, int] | None = None
        #: The MinHash scheme the dedup index was opened with, once it is
        #: (:func:`crawler.storage.corpus.open_index`).
        self.index_scheme: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if is_cluster_crawler(settings):
            raise NotConfigured("a cluster crawler sends its documents to the writer")
        database = cls(
            database_path(settings.get("SIEVE_DB")) if settings.get("SIEVE_DB") else IN_MEMORY,
            batch_size=settings.getint("SIEVE_STORE_BATCH"),
            flush_seconds=settings.getfloat("SIEVE_STORE_FLUSH_SECONDS"),
            busy_timeout=settings.getfloat("SIEVE_DB_BUSY_TIMEOUT"),
            stats=crawler.stats,
            crawler=crawler,
        )
        database.open()
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(database.document_done, signal=signal)
        crawler.signals.connect(database.close, signal=signals.engine_stopped)
        return database

    @property
    def in_memory(self) -> bool:
        return self.path == IN_MEMORY

    def open(self) -> sqlite_utils.Database:
        if self.db is None:
            self.db = connect(self.path, busy_timeout=self.busy_timeout)
            self.file_identity = file_identity(self.path)
        return self.db

    def check_file(self) -> None:
        """Raise if the file opened is no longer at ``path``: what is
        committed would go to a file nobody can read."""
        if self.file_identity is None:
            return
        now_there = file_identity(self.path)
        if now_there != self.file_identity:
            happened = "removed" if now_there is None else "replaced by another file"
            raise sqlite3.DatabaseError(f"the database file was {happened} during the run")

    def begin(self) -> sqlite_utils.Database:
        """The connection, inside a write transaction."""
        if self.failure is not None:
            raise DatabaseError(f"nothing more is written after a failed write: {self.failure}")
        db = self.open()
        if not db.conn.in_transaction:
            db.execute("BEGIN IMMEDIATE")
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None and self.auto_commit:
                self.flush_timer = loop.call_later(self.flush_seconds, self._commit_quietly)
        return db

    def hold_commits(self) -> None:
        """Commit only when :meth:`commit` is called: the cluster writer
        commits each batch together with its place in the stream."""
        self.auto_commit = False

    def count(self, key: str, count: int = 1) -> None:
        """Count something written in the open transaction, once committed."""
        self.pending_counts[key] += count

    def document_done(self, *args: Any, **kwargs: Any) -> None:
        """One more document has left the pipeline (a signal handler)."""
        self.pending += 1
        self.documents_done += 1
        # The first document is committed at once: whoever watches the
        # database (or a benchmark) sees the run at work without waiting a batch.
        if self.auto_commit and (self.pending >= self.batch_size or self.documents_done == 1):
            self._commit_quietly()

    def commit(self) -> None:
        """Commit the open transaction; on failure, :meth:`fail` and raise."""
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        self.pending = 0
        if self.db is not None and self.db.conn.in_transaction:
            try:
                self.check_file()
                index_new_articles(self.db)
                self.db.commit()
            except sqlite3.Error as exc:
                self.fail(exc)
                raise
        if self.stats is not None:
            for key, count in self.pending_counts.items():
                self.stats.inc_value(key, count)
        self.pending_counts.clear()

    def finish_batch(self) -> None:
        """End the open batch, before a write of another kind or the end:
        commit it, or, when the crawl commits by itself (:meth:`hold_commits`),
        roll it back: the cluster writer commits a batch only with its place
        in the stream, and what it did not commit stays pending there."""
        if self.auto_commit:
            self.commit()
            return
        if self.db is not None and self.db.conn.in_transaction:
            self.db.rollback()
            logger.info("Rolled back a batch the crawl did not commit (%d documents)", self.pending)
        self.pending = 0
        self.pending_counts.clear()

    def _commit_quietly(self) -> None:
        # Signal handlers and timers only log what they raise; fail() has
        # recorded it where the run record reads it.
        try:
            self.finish_batch()
        except sqlite3.Error:
            pass

    def fail(self, error: Exception) -> None:
        """A write failed: the batch is lost, the run fails, the crawl stops."""
        lost = self.pending_counts.get("sieve/articles_stored", 0)
        self.pending_counts.clear()
        if self.db is not None and self.db.conn.in_transaction:
            self.db.rollback()
        if self.failure is not None:
            return
        self.failure = f"could not write to {self.path}: {error}"
        logger.error("%s; the %d articles of the open batch are not stored; stopping", self.failure, lost)
        if self.stats is not None:
            self.stats.inc_value("sieve/errors/database")
        if self.crawler is not None:
            asyncio.ensure_future(self._stop_crawl())

    async def _stop_crawl(self) -> None:
        try:
            await self.crawler.engine.close_spider_async(reason="database-error")  # type: ignore[union-attr]
        except (AttributeError, RuntimeError):
            pass  # not open yet, or closed already: nothing to stop

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction of its own, committed at once (after the
        pending batch)."""
        self.finish_batch()
        try:
            with write_transaction(self.open()) as db:
                yield db
                self.check_file()
        except sqlite3.Error as exc:
            self.fail(exc)
            raise

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``meta`` value in the open write transaction; on failure,
        :meth:`fail` and raise."""
        try:
            writes.set_meta(self.begin(), key, value)
        except sqlite3.Error as exc:
            self.fail(exc)
            raise

    def close(self) -> None:
        try:
            self._commit_quietly()
        finally:
            if self.db is not None:
                self.db.close()
                self.db = None
