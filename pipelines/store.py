"""Storage stage: articles, the paragraphs removed from them, the documents
skipped and the dedup index go to the SQLite database (``SIEVE_DB``); each
run is a row in ``runs``.

Writes share one transaction with the dedup stage's reads, committed in
batches (see :class:`pipelines.database.SieveDatabase`).
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.items import Article, Fetch, Removal, Skipped, Unchanged
from pipelines import database
from pipelines.corpus import CorpusIndex, content_hash
from pipelines.database import SieveDatabase

if TYPE_CHECKING:
    import sqlite_utils
    from typing_extensions import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StorePipeline:
    def __init__(self, crawler: Crawler, shared: SieveDatabase, min_words: int = 8):
        self.crawler = crawler
        self.stats = crawler.stats
        self.shared = shared
        self.min_words = min_words
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.get("SIEVE_DB"):
            raise NotConfigured("SIEVE_DB is empty")
        shared = SieveDatabase.for_crawler(crawler)
        # Open now, so that a database that cannot be used stops the crawl
        # before it starts, with one clear line (DatabaseError).
        shared.open()
        pipeline = cls(crawler, shared, crawler.settings.getint("SIEVE_REPEAT_MIN_WORDS"))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.spider_error, signal=signals.spider_error)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        return pipeline

    def spider_error(self, failure: Any, response: Any, spider: Spider) -> None:
        self.stats.inc_value("sieve/errors/spider")

    def item_error(self, item: Any, response: Any, spider: Spider, failure: Any) -> None:
        self.stats.inc_value("sieve/errors/pipeline")

    def open_spider(self) -> None:
        db = self.shared.open()
        spider = self.crawler.spider
        with database.write_transaction(db):
            self._mark_interrupted_runs(db)
            record = {
                "spider": spider.name,
                "args": json.dumps(getattr(spider, "arguments", {}), sort_keys=True),
                "started_at": database.now(),
                "status": "running",
                "pid": os.getpid(),
            }
            self.run_id = db["runs"].insert(record, alter=False).last_pk
        self.stats.set_value("sieve/run_id", self.run_id)
        logger.info("Run %d writing to %s", self.run_id, os.path.abspath(self.shared.path))

    def _mark_interrupted_runs(self, db: sqlite_utils.Database) -> None:
        """Runs still "running" whose process is gone were killed: say so."""
        for run_id, pid in db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall():
            if pid and not _process_alive(pid):
                db["runs"].update(run_id, {"status": "interrupted"})
                logger.warning("Run %d did not finish (its process %d is gone); marked interrupted", run_id, pid)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article):
            self._store_article(self.shared.begin(), item)
        elif isinstance(item, Skipped):
            self._store_skipped(self.shared.begin(), item)
        elif isinstance(item, Unchanged):
            self._store_unchanged(self.shared.begin(), item)
        else:
            return item
        self.shared.document_done()
        return item

    def close_spider(self) -> None:
        self.shared.commit()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.shared.db is None:
            return
        stats = self.stats.get_stats()
        logger.info(
            "Sieve run %d: %d articles stored (%d near-duplicates), %d paragraphs removed, %d documents skipped, in %s",
            self.run_id,
            stats.get("sieve/articles_stored", 0),
            stats.get("sieve/dedup/near_duplicates", 0),
            sum(v for k, v in stats.items() if k.startswith("sieve/paragraphs_removed/")),
            sum(v for k, v in stats.items() if k.startswith("sieve/skipped/")),
            self.shared.path,
        )
        self.shared.commit()
        errors = stats.get("sieve/errors/spider", 0) + stats.get("sieve/errors/pipeline", 0)
        status = "failed" if errors else ("finished" if reason == "finished" else reason)
        with database.write_transaction(self.shared.db) as db:
            db["runs"].update(
                self.run_id,
                {"finished_at": database.now(), "status": status, "stats": json.dumps(stats, default=str, sort_keys=True)},
            )
        self.shared.close()

    # The statements below run for every document, so they are written out
    # rather than built by sqlite-utils, which looks the table's columns up
    # again on every call (eight queries per upsert).
    ARTICLE_COLUMNS = (
        "url", "canonical_url", "source", "title", "author", "published", "language", "sitename",
        "text", "content_hash", "duplicate_of", "last_seen", "changed_at", "run_id",
    )  # fmt: skip
    INSERT_ARTICLE = (
        f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, first_seen) "
        f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}, ?)"
    )
    UPDATE_ARTICLE = f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_COLUMNS)} WHERE id = ?"
    INSERT_REMOVED = (
        "INSERT INTO removed (article_id, position, text, reason, match_position, match_article_id) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    UPSERT_FETCH = (
        "INSERT INTO fetches (url, etag, last_modified, body_hash, fetched_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
        "body_hash = excluded.body_hash, fetched_at = excluded.fetched_at"
    )
    UPSERT_SKIPPED = (
        "INSERT INTO skipped (url, reason, detail, run_id, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (url) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, "
        "run_id = excluded.run_id, at = excluded.at"
    )

    def _store_article(self, db: sqlite_utils.Database, article: Article) -> None:
        now = database.now()
        text = article.text
        digest = content_hash(text)
        values = (
            article.url, article.canonical_url, article.source, article.title, article.author, article.published,
            article.language, article.sitename, text, digest, article.duplicate_of, now, now, self.run_id,
        )  # fmt: skip
        self._record_fetch(db, article.url, article.fetch, now)
        index = CorpusIndex(db, self.min_words)
        article_id, stored_hash = index.article_version(article.url)
        if stored_hash == digest and not article.new_boilerplate:
            # The page changed, the article did not: nothing to rewrite.
            self._store_unchanged(db, Unchanged(article.url, "same-text"))
            return
        if article_id is not None:
            db.execute(self.UPDATE_ARTICLE, [*values, article_id])
            db.execute("DELETE FROM removed WHERE article_id = ?", [article_id])
            self.stats.inc_value("sieve/articles_updated")
        else:
            article_id = db.execute(self.INSERT_ARTICLE, [*values, now]).lastrowid
        self._insert_removals(db, article_id, article.removed)
        index.index_article(
            article_id,
            article.signature,
            [(p.position, p.text, article.paragraph_keys.get(p.position, [])) for p in article.paragraphs],
            replace=stored_hash is not None,
        )
        for found in article.new_boilerplate:
            index.add_boilerplate(article.source, found, self.run_id, now)
            for holder in found.holders:
                if index.drop_paragraph(holder):
                    removal = Removal(holder.position, holder.text, "site-boilerplate", found.position, article_id)
                    self._insert_removals(db, holder.article_id, [removal])
                    self.stats.inc_value("sieve/dedup/retroactive_removals")
        db.execute("DELETE FROM skipped WHERE url = ?", [article.url])
        self.stats.inc_value("sieve/articles_stored")

    def _insert_removals(self, db: sqlite_utils.Database, article_id: int, removals: list[Removal]) -> None:
        db.conn.executemany(
            self.INSERT_REMOVED,
            [(article_id, r.position, r.text, r.reason, r.match_position, r.match_article) for r in removals],
        )
        for r in removals:
            self.stats.inc_value(f"sieve/paragraphs_removed/{r.reason}")

    def _store_unchanged(self, db: sqlite_utils.Database, item: Unchanged) -> None:
        now = database.now()
        db.execute("UPDATE articles SET last_seen = ? WHERE url = ?", [now, item.url])
        self._record_fetch(db, item.url, item.fetch, now)
        db.execute("UPDATE fetches SET checked_at = ? WHERE url = ?", [now, item.url])
        self.stats.inc_value(f"sieve/unchanged/{item.why}")

    def _record_fetch(self, db: sqlite_utils.Database, url: str, fetch: Fetch | None, now: str) -> None:
        if fetch is not None:
            db.execute(self.UPSERT_FETCH, [url, fetch.etag, fetch.last_modified, fetch.body_hash, now])

    def _store_skipped(self, db: sqlite_utils.Database, item: Skipped) -> None:
        logger.info("Skipped %s (%s): %s", item.url, item.reason, item.detail)
        now = database.now()
        self._record_fetch(db, item.url, item.fetch, now)
        db.execute(self.UPSERT_SKIPPED, [item.url, item.reason, item.detail, self.run_id, now])
        self.stats.inc_value(f"sieve/skipped/{item.reason}")
