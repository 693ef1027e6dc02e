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

from crawler.items import Article, Removal, Skipped
from pipelines import database
from pipelines.corpus import CorpusIndex, content_hash
from pipelines.database import SieveDatabase

if TYPE_CHECKING:
    import sqlite_utils
    from typing_extensions import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
        pipeline = cls(crawler, SieveDatabase.for_crawler(crawler), crawler.settings.getint("SIEVE_REPEAT_MIN_WORDS"))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        db = self.shared.open()
        spider = self.crawler.spider
        with database.write_transaction(db):
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

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article):
            self._store_article(self.shared.begin(), item)
        elif isinstance(item, Skipped):
            self._store_skipped(self.shared.begin(), item)
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
        with database.write_transaction(self.shared.db) as db:
            db["runs"].update(
                self.run_id,
                {
                    "finished_at": database.now(),
                    "status": "finished" if reason == "finished" else reason,
                    "stats": json.dumps(stats, default=str, sort_keys=True),
                },
            )
        self.shared.close()

    def _store_article(self, db: sqlite_utils.Database, article: Article) -> None:
        now = database.now()
        text = article.text
        record = {
            "url": article.url,
            "canonical_url": article.canonical_url,
            "source": article.source,
            "title": article.title,
            "author": article.author,
            "published": article.published,
            "language": article.language,
            "sitename": article.sitename,
            "text": text,
            "content_hash": content_hash(text),
            "duplicate_of": article.duplicate_of,
            "last_seen": now,
            "run_id": self.run_id,
        }
        index = CorpusIndex(db, self.min_words)
        article_id = index.article_id(article.url)
        if article_id is not None:
            db["articles"].update(article_id, record)
            db["removed"].delete_where("article_id = ?", [article_id])
            self.stats.inc_value("sieve/articles_updated")
        else:
            record["first_seen"] = now
            article_id = db["articles"].insert(record, alter=False).last_pk
        self._insert_removals(db, article_id, article.removed)
        index.index_article(
            article_id,
            article.article_keys,
            [(p.position, p.text, article.paragraph_keys.get(p.position, [])) for p in article.paragraphs],
        )
        for found in article.new_boilerplate:
            index.add_boilerplate(article.source, found, self.run_id, now)
            for holder in found.holders:
                if index.drop_paragraph(holder):
                    removal = Removal(holder.position, holder.text, "site-boilerplate", found.position, article_id)
                    self._insert_removals(db, holder.article_id, [removal])
                    self.stats.inc_value("sieve/dedup/retroactive_removals")
        db["skipped"].delete_where("url = ?", [article.url])
        self.stats.inc_value("sieve/articles_stored")

    def _insert_removals(self, db: sqlite_utils.Database, article_id: int, removals: list[Removal]) -> None:
        db["removed"].insert_all(
            (
                {
                    "article_id": article_id,
                    "position": r.position,
                    "text": r.text,
                    "reason": r.reason,
                    "match_position": r.match_position,
                    "match_article_id": r.match_article,
                }
                for r in removals
            ),
            alter=False,
        )
        for r in removals:
            self.stats.inc_value(f"sieve/paragraphs_removed/{r.reason}")

    def _store_skipped(self, db: sqlite_utils.Database, item: Skipped) -> None:
        logger.info("Skipped %s (%s): %s", item.url, item.reason, item.detail)
        db["skipped"].upsert(
            {"url": item.url, "reason": item.reason, "detail": item.detail, "run_id": self.run_id, "at": database.now()},
            pk="url",
            alter=False,
        )
        self.stats.inc_value(f"sieve/skipped/{item.reason}")
