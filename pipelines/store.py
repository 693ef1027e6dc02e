"""Storage stage: articles, the paragraphs removed from them and the
documents skipped go to the SQLite database (``SIEVE_DB``); each run is a
row in ``runs``.

Writes are grouped into transactions of up to ``SIEVE_STORE_BATCH`` items,
and no transaction stays open longer than ``SIEVE_STORE_FLUSH_SECONDS``, so a
second process writing to the same database never waits long.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.items import Article, Skipped
from pipelines import database

if TYPE_CHECKING:
    import sqlite_utils
    from typing_extensions import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StorePipeline:
    def __init__(self, crawler: Crawler, path: str, batch_size: int, flush_seconds: float):
        self.crawler = crawler
        self.stats = crawler.stats
        self.path = path
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.db: sqlite_utils.Database | None = None
        self.run_id: int | None = None
        self.pending = 0
        self.flush_timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        path = settings.get("SIEVE_DB")
        if not path:
            raise NotConfigured("SIEVE_DB is empty")
        pipeline = cls(
            crawler,
            path,
            batch_size=settings.getint("SIEVE_STORE_BATCH"),
            flush_seconds=settings.getfloat("SIEVE_STORE_FLUSH_SECONDS"),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.db = database.connect(self.path)
        spider = self.crawler.spider
        with database.write_transaction(self.db):
            self.run_id = (
                self.db["runs"]
                .insert(
                    {
                        "spider": spider.name,
                        "args": json.dumps(getattr(spider, "arguments", {}), sort_keys=True),
                        "started_at": database.now(),
                        "status": "running",
                        "pid": os.getpid(),
                    },
                    alter=False,
                )
                .last_pk
            )
        self.stats.set_value("sieve/run_id", self.run_id)
        logger.info("Run %d writing to %s", self.run_id, os.path.abspath(self.path))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article):
            self._begin()
            self._store_article(item)
        elif isinstance(item, Skipped):
            self._begin()
            self._store_skipped(item)
        else:
            return item
        self.pending += 1
        if self.pending >= self.batch_size:
            self._commit()
        return item

    def close_spider(self) -> None:
        self._commit()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.db is None:
            return
        stats = self.stats.get_stats()
        logger.info(
            "Sieve run %d: %d articles stored, %d paragraphs removed, %d documents skipped, in %s",
            self.run_id,
            stats.get("sieve/articles_stored", 0),
            sum(v for k, v in stats.items() if k.startswith("sieve/paragraphs_removed/")),
            sum(v for k, v in stats.items() if k.startswith("sieve/skipped/")),
            self.path,
        )
        with database.write_transaction(self.db):
            self.db["runs"].update(
                self.run_id,
                {
                    "finished_at": database.now(),
                    "status": "finished" if reason == "finished" else reason,
                    "stats": json.dumps(stats, default=str, sort_keys=True),
                },
            )
        self.db.close()
        self.db = None

    def _begin(self) -> None:
        assert self.db is not None
        if self.db.conn.in_transaction:
            return
        self.db.execute("BEGIN IMMEDIATE")
        self.flush_timer = asyncio.get_running_loop().call_later(self.flush_seconds, self._commit)

    def _commit(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        if self.db is not None and self.db.conn.in_transaction:
            self.db.commit()
        self.pending = 0

    def _store_article(self, article: Article) -> None:
        assert self.db is not None
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
            "last_seen": now,
            "run_id": self.run_id,
        }
        row = self.db.execute("SELECT id FROM articles WHERE url = ?", [article.url]).fetchone()
        if row:
            article_id = row[0]
            self.db["articles"].update(article_id, record)
            self.db["removed"].delete_where("article_id = ?", [article_id])
            self.stats.inc_value("sieve/articles_updated")
        else:
            record["first_seen"] = now
            article_id = self.db["articles"].insert(record, alter=False).last_pk
        self.db["removed"].insert_all(
            (
                {
                    "article_id": article_id,
                    "position": r.position,
                    "text": r.text,
                    "reason": r.reason,
                    "match_position": r.match_position,
                }
                for r in article.removed
            ),
            alter=False,
        )
        self.db["skipped"].delete_where("url = ?", [article.url])
        self.stats.inc_value("sieve/articles_stored")
        for r in article.removed:
            self.stats.inc_value(f"sieve/paragraphs_removed/{r.reason}")

    def _store_skipped(self, item: Skipped) -> None:
        assert self.db is not None
        logger.info("Skipped %s (%s): %s", item.url, item.reason, item.detail)
        self.db["skipped"].upsert(
            {"url": item.url, "reason": item.reason, "detail": item.detail, "run_id": self.run_id, "at": database.now()},
            pk="url",
            alter=False,
        )
        self.stats.inc_value(f"sieve/skipped/{item.reason}")
