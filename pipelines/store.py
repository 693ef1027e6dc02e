"""Storage stage: articles, the paragraphs removed from them, the documents
skipped or found unchanged, and the dedup index go to the database, tagged
with the run that wrote them.

The statements are :mod:`crawler.storage.writes`'s; they run in the write
transaction of :class:`crawler.storage.database.Database`, which commits
them in batches; the ``runs`` row is :mod:`crawler.runs`'s.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured

from crawler.incremental import Incremental
from crawler.items import Article, ArticleRecord, Removal, Skipped, Unchanged
from crawler.runs import RunRecord
from crawler.storage import reads, writes
from crawler.storage.connection import now
from crawler.storage.corpus import CorpusIndex, open_index
from crawler.storage.database import Database
from pipelines.fingerprints import MinhashConfig

if TYPE_CHECKING:
    import sqlite_utils
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(
        self,
        database: Database,
        incremental: Incremental,
        run_record: RunRecord | None,
        config: MinhashConfig,
    ):
        self.database = database
        self.incremental = incremental
        self.run_record = run_record
        self.config = config

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        database = crawler.get_extension(Database)
        if database is None:
            raise NotConfigured("no database (SIEVE_DB is empty)")
        config = MinhashConfig.from_settings(crawler.settings)
        open_index(database, config)
        return cls(database, Incremental.of(crawler), crawler.get_extension(RunRecord), config)

    @property
    def run_id(self) -> int | None:
        return self.run_record.run_id if self.run_record is not None else None

    def process_item(self, item: Any) -> Any:
        """The record of a stored article, for Scrapy's feed exports; other
        documents, once recorded, go no further (dropped, logged at DEBUG)."""
        # A database error here, or in any stage, stops the crawl
        # (pipelines.workers, Database.fail).
        if isinstance(item, Article):
            stored = self._store_article(self.database.begin(), item)
            if stored is not None:
                return stored
            why = "unchanged: same-text"
        elif isinstance(item, Skipped):
            self._store_skipped(self.database.begin(), item)
            why = f"skipped: {item.reason}"
        elif isinstance(item, Unchanged):
            self._store_unchanged(self.database.begin(), item)
            why = f"unchanged: {item.reason}"
        else:
            return item
        raise DropItem(f"{item.url} {why}", log_level="DEBUG")

    def _store_article(self, db: sqlite_utils.Database, article: Article) -> ArticleRecord | None:
        stored = reads.stored_article(db, article.url)
        if not article.dedup.new_boilerplate and (unchanged := self.incremental.unchanged_text(article, stored)):
            # The page changed, the article did not: nothing to rewrite.
            self._store_unchanged(db, unchanged)
            return None
        at = now()
        row = writes.article_row(article, at=at, run_id=self.run_id, change=writes.next_change(db))
        writes.record_fetch(db, article.fetched_url or article.url, article.fetch, at)
        index = CorpusIndex(db, self.config)
        if stored is not None:
            article_id = stored.id
            writes.update_article(db, article_id, row)
            self.database.count("sieve/articles_updated")
        else:
            article_id = writes.insert_article(db, row, first_seen=at)
        self._insert_removals(db, article_id, article.removed)
        writes.record_article_urls(db, article_id, article, at)
        found = article.fingerprints
        index.index_article(
            article_id,
            found.signature if found else None,
            [(p.position, p.text, found.paragraph_keys.get(p.position, []) if found else []) for p in article.paragraphs],
            replace=stored is not None,
            article_keys=found.article_keys if found else None,
        )
        for copy in article.dedup.replaces:
            # A shorter copy stored first: this article takes its place as
            # its group's representative.
            if writes.replace_representative(db, copy.article_id, article_id, copy.rule, copy.similarity, at=at, run_id=self.run_id):
                self.database.count("sieve/dedup/representatives_replaced")
        for boilerplate in article.dedup.new_boilerplate:
            index.add_boilerplate(article.source, boilerplate, self.run_id, at)
            for holder in boilerplate.holders:
                if index.drop_paragraph(holder, self.run_id, at):
                    removal = Removal(holder.position, holder.text, "site-boilerplate", boilerplate.position, article_id)
                    self._insert_removals(db, holder.article_id, [removal])
                    self.database.count("sieve/dedup/retroactive_removals")
        writes.forget_skipped(db, article.url, article.fetched_url or article.url)
        self.database.count("sieve/articles_stored")
        return reads.article_record(db, article_id)

    def _insert_removals(self, db: sqlite_utils.Database, article_id: int, removals: list[Removal]) -> None:
        writes.insert_removals(db, article_id, removals)
        for r in removals:
            self.database.count(f"sieve/paragraphs_removed/{r.reason}")

    def _store_unchanged(self, db: sqlite_utils.Database, item: Unchanged) -> None:
        if item.reason == "same-text" and item.fetched_url is None:
            # Cleaned again with no download (scrapy crawl reclean): not met.
            self.database.count(f"sieve/unchanged/{item.reason}")
            return
        at = now()
        fetched = item.fetched_url or item.url
        writes.record_seen_again(db, item.url, fetched, item.requested_urls, at)
        writes.record_fetch(db, fetched, item.fetch, at)
        writes.record_checked(db, fetched, at)
        self.database.count(f"sieve/unchanged/{item.reason}")

    def _store_skipped(self, db: sqlite_utils.Database, item: Skipped) -> None:
        logger.info("Skipped %s (%s): %s", item.url, item.reason, item.detail)
        at = now()
        writes.record_fetch(db, item.url, item.fetch, at)
        writes.record_skipped(db, item.url, item.reason, item.detail, self.run_id, at)
        self.database.count(f"sieve/skipped/{item.reason}")
