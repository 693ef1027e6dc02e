"""Storage stage: articles, the paragraphs removed from them, the documents
skipped or found unchanged, and the dedup index go to the database, tagged
with the run that wrote them.

Writes go into the write transaction of :class:`crawler.database.Database`,
which commits them in batches; the ``runs`` row is :mod:`crawler.runs`'s.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured

from crawler.database import Database, next_change, now
from crawler.incremental import Incremental
from crawler.items import Article, ArticleRecord, Fetch, Removal, Skipped, Unchanged
from crawler.runs import RunRecord
from pipelines.corpus import CorpusIndex, open_index
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
            why = f"unchanged: {item.why}"
        else:
            return item
        raise DropItem(f"{item.url} {why}", log_level="DEBUG")

    # The statements below run for every document, so they are written out
    # rather than built by sqlite-utils, which looks the table's columns up
    # again on every call (eight queries per upsert).
    ARTICLE_COLUMNS = (
        "url", "canonical_url", "source", "title", "author", "published", "language", "sitename",
        "text", "content_hash", "duplicate_of", "duplicate_rule", "duplicate_similarity", "last_seen", "changed_at",
        "run_id", "change_seq", "published_local", "authors", "description", "image", "section", "tags", "kind",
    )  # fmt: skip
    INSERT_ARTICLE = (
        f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, first_seen) "
        f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}, ?)"
    )
    UPDATE_ARTICLE = f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_COLUMNS)} WHERE id = ?"
    REPLACE_REPRESENTATIVE = (
        "UPDATE articles SET duplicate_of = ?, duplicate_rule = ?, duplicate_similarity = ?, changed_at = ?, "
        "run_id = ?, change_seq = ? WHERE id = ? AND duplicate_of IS NULL"
    )
    INSERT_REMOVED = (
        "INSERT INTO removed (article_id, position, text, reason, match_position, match_article_id) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    UPSERT_FETCH = (
        "INSERT INTO fetches (url, etag, last_modified, body_hash, fetched_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
        "body_hash = excluded.body_hash, fetched_at = excluded.fetched_at"
    )
    UPSERT_ARTICLE_URL = (
        "INSERT INTO article_urls (url, article_id, how, warc_file, warc_offset, warc_record_id, seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET article_id = excluded.article_id, "
        "how = excluded.how, warc_file = excluded.warc_file, warc_offset = excluded.warc_offset, "
        "warc_record_id = excluded.warc_record_id, seen_at = excluded.seen_at"
    )
    # Seen again, unchanged: where it was archived, if it was, still holds.
    SEEN_ARTICLE_URL = (
        "INSERT INTO article_urls (url, article_id, how, seen_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (url) DO UPDATE SET article_id = excluded.article_id, seen_at = excluded.seen_at"
    )
    UPSERT_SKIPPED = (
        "INSERT INTO skipped (url, reason, detail, run_id, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (url) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, "
        "run_id = excluded.run_id, at = excluded.at"
    )

    def _store_article(self, db: sqlite_utils.Database, article: Article) -> ArticleRecord | None:
        stored = self.database.stored_article(article.url)
        if not article.new_boilerplate and (unchanged := self.incremental.unchanged_text(article, stored)):
            # The page changed, the article did not: nothing to rewrite.
            self._store_unchanged(db, unchanged)
            return None
        at = now()
        change = next_change(db)
        values = (
            article.url, article.canonical_url, article.source, article.title, article.author, article.published,
            article.language, article.sitename, article.text, article.text_hash(), article.duplicate_of,
            article.duplicate_rule, article.duplicate_similarity, at, at, self.run_id, change, article.published_local,
            json.dumps(article.authors, ensure_ascii=False), article.description, article.image, article.section,
            json.dumps(article.tags, ensure_ascii=False), article.kind,
        )  # fmt: skip
        self._record_fetch(db, article.fetched_url or article.url, article.fetch, at)
        index = CorpusIndex(db, self.config)
        article_id = stored.id if stored else None
        if article_id is not None:
            db.execute(self.UPDATE_ARTICLE, [*values, article_id])
            db.execute("DELETE FROM removed WHERE article_id = ?", [article_id])
            self.database.count("sieve/articles_updated")
        else:
            article_id = db.execute(self.INSERT_ARTICLE, [*values, at]).lastrowid
        self._insert_removals(db, article_id, article.removed)
        self._record_urls(db, article_id, article, at)
        index.index_article(
            article_id,
            article.signature,
            [(p.position, p.text, article.paragraph_keys.get(p.position, [])) for p in article.paragraphs],
            replace=stored is not None,
        )
        for copy in article.replaces:
            # A shorter copy stored first: this article takes its place as
            # its group's representative (its members keep pointing at it).
            values = [article_id, copy.rule, copy.similarity, at, self.run_id, next_change(db), copy.article_id]
            if db.execute(self.REPLACE_REPRESENTATIVE, values).rowcount:
                self.database.count("sieve/dedup/representatives_replaced")
        for found in article.new_boilerplate:
            index.add_boilerplate(article.source, found, self.run_id, at)
            for holder in found.holders:
                if index.drop_paragraph(holder, self.run_id, at):
                    removal = Removal(holder.position, holder.text, "site-boilerplate", found.position, article_id)
                    self._insert_removals(db, holder.article_id, [removal])
                    self.database.count("sieve/dedup/retroactive_removals")
        db.execute("DELETE FROM skipped WHERE url IN (?, ?)", [article.url, article.fetched_url or article.url])
        self.database.count("sieve/articles_stored")
        first_seen = db.execute("SELECT first_seen FROM articles WHERE id = ?", [article_id]).fetchone()[0]
        return ArticleRecord(
            id=article_id,
            url=article.url,
            canonical_url=article.canonical_url,
            source=article.source,
            sitename=article.sitename,
            title=article.title,
            author=article.author,
            authors=article.authors,
            published=article.published,
            published_local=article.published_local,
            language=article.language,
            description=article.description,
            image=article.image,
            section=article.section,
            tags=article.tags,
            text=article.text,
            paragraphs=[p.text for p in article.paragraphs],
            duplicate_of=article.duplicate_of,
            duplicate_rule=article.duplicate_rule,
            duplicate_similarity=article.duplicate_similarity,
            run_id=self.run_id,
            first_seen=first_seen,
            changed_at=at,
            change_seq=change,
            urls=[row[0] for row in db.execute("SELECT url FROM article_urls WHERE article_id = ? ORDER BY url", [article_id])],
        )

    def _record_urls(self, db: sqlite_utils.Database, article_id: int, article: Article, at: str) -> None:
        """Every URL that led to the article: the one fetched, with the WARC
        record it was read from, and those that redirected to it or named it
        with tracking parameters. An article not fetched in this run (``scrapy
        crawl reclean``) has none to add."""
        if article.fetched_url is None:
            return
        record = article.archive_record
        warc = (record.file, record.offset, record.record_id) if record else (None, None, None)
        rows = [(article.fetched_url, article_id, "fetched", *warc, at)]
        rows += [(url, article_id, "requested", None, None, None, at) for url in article.requested_urls]
        db.conn.executemany(self.UPSERT_ARTICLE_URL, rows)

    def _insert_removals(self, db: sqlite_utils.Database, article_id: int, removals: list[Removal]) -> None:
        db.conn.executemany(
            self.INSERT_REMOVED,
            [(article_id, r.position, r.text, r.reason, r.match_position, r.match_article) for r in removals],
        )
        for r in removals:
            self.database.count(f"sieve/paragraphs_removed/{r.reason}")

    def _store_unchanged(self, db: sqlite_utils.Database, item: Unchanged) -> None:
        at = now()
        fetched = item.fetched_url or item.url
        if item.why == "same-text" and item.fetched_url is None:
            # Cleaned again with no download (scrapy crawl reclean): not met.
            self.database.count(f"sieve/unchanged/{item.why}")
            return
        row = db.execute(
            "SELECT id FROM articles WHERE url = ? UNION ALL SELECT article_id FROM article_urls WHERE url = ?",
            [item.url, fetched],
        ).fetchone()
        if row is not None:
            db.execute("UPDATE articles SET last_seen = ? WHERE id = ?", [at, row[0]])
            db.conn.executemany(
                self.SEEN_ARTICLE_URL,
                [(fetched, row[0], "fetched", at), *((url, row[0], "requested", at) for url in item.requested_urls)],
            )
        self._record_fetch(db, fetched, item.fetch, at)
        db.execute("UPDATE fetches SET checked_at = ? WHERE url = ?", [at, fetched])
        self.database.count(f"sieve/unchanged/{item.why}")

    def _record_fetch(self, db: sqlite_utils.Database, url: str, fetch: Fetch | None, at: str) -> None:
        if fetch is not None:
            db.execute(self.UPSERT_FETCH, [url, fetch.etag, fetch.last_modified, fetch.body_hash, fetch.fetched_at or at])

    def _store_skipped(self, db: sqlite_utils.Database, item: Skipped) -> None:
        logger.info("Skipped %s (%s): %s", item.url, item.reason, item.detail)
        at = now()
        self._record_fetch(db, item.url, item.fetch, at)
        db.execute(self.UPSERT_SKIPPED, [item.url, item.reason, item.detail, self.run_id, at])
        self.database.count(f"sieve/skipped/{item.reason}")
