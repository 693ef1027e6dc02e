"""Every write of a crawl to the database, each a function of the connection
inside the open write transaction (``Database.begin()``): articles and the
paragraphs removed from them, the URLs and downloads behind them, documents
skipped or seen unchanged, runs, ``meta`` values.

These statements run for every document, so they are written out rather
than built by sqlite-utils, which looks the table's columns up again on
every call (eight queries per upsert).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crawler.items import Article, Fetch, Removal
from crawler.storage.schema import ARTICLE_COLUMNS

if TYPE_CHECKING:
    import sqlite_utils

INSERT_ARTICLE = (
    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}, first_seen) VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}, ?)"
)
UPDATE_ARTICLE = f"UPDATE articles SET {', '.join(f'{c} = ?' for c in ARTICLE_COLUMNS)} WHERE id = ?"
REPLACE_REPRESENTATIVE = (
    "UPDATE articles SET duplicate_of = ?, duplicate_rule = ?, duplicate_similarity = ?, changed_at = ?, "
    "run_id = ?, change_seq = ? WHERE id = ? AND duplicate_of IS NULL"
)
INSERT_REMOVED = (
    "INSERT INTO removed (article_id, position, text, reason, match_position, match_article_id) VALUES (?, ?, ?, ?, ?, ?)"
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


def next_change(db: sqlite_utils.Database) -> int:
    """The next value of ``articles.change_seq``. Taken inside the write
    transaction that makes the change: SQLite runs one write transaction at
    a time, so values become visible in the order they were taken, and a
    reader that asks for values above the last it saw misses none."""
    return int(db.execute("UPDATE meta SET value = value + 1 WHERE key = 'change_seq' RETURNING value").fetchone()[0])


def article_row(article: Article, *, at: str, run_id: int | None, change: int) -> list[Any]:
    """The values of :data:`~crawler.storage.schema.ARTICLE_COLUMNS` for ``article``."""
    original = article.dedup.original
    row = {
        "url": article.url, "canonical_url": article.canonical_url, "source": article.source,
        "title": article.title, "author": article.author, "published": article.published,
        "language": article.language, "sitename": article.sitename, "text": article.text,
        "content_hash": article.text_hash(), "duplicate_of": original.article_id if original else None,
        "duplicate_rule": original.rule if original else None,
        "duplicate_similarity": original.similarity if original else None,
        "last_seen": at, "changed_at": at, "run_id": run_id, "change_seq": change,
        "published_local": article.published_local, "authors": json.dumps(article.authors, ensure_ascii=False),
        "description": article.description, "image": article.image, "section": article.section,
        "tags": json.dumps(article.tags, ensure_ascii=False), "kind": article.kind,
    }  # fmt: skip
    return [row[column] for column in ARTICLE_COLUMNS]


def insert_article(db: sqlite_utils.Database, row: list[Any], *, first_seen: str) -> int:
    return db.execute(INSERT_ARTICLE, [*row, first_seen]).lastrowid


def update_article(db: sqlite_utils.Database, article_id: int, row: list[Any]) -> None:
    """Rewrite a stored article; the paragraphs removed from its old text go."""
    db.execute(UPDATE_ARTICLE, [*row, article_id])
    db.execute("DELETE FROM removed WHERE article_id = ?", [article_id])


def replace_representative(
    db: sqlite_utils.Database, copy_id: int, article_id: int, rule: str, similarity: float, *, at: str, run_id: int | None
) -> bool:
    """Make ``copy_id``, if still a representative, a near-duplicate of
    ``article_id`` (its members keep pointing at it)."""
    values = [article_id, rule, similarity, at, run_id, next_change(db), copy_id]
    return bool(db.execute(REPLACE_REPRESENTATIVE, values).rowcount)


def insert_removals(db: sqlite_utils.Database, article_id: int, removals: Iterable[Removal]) -> None:
    db.conn.executemany(
        INSERT_REMOVED, [(article_id, r.position, r.text, r.reason, r.match_position, r.match_article) for r in removals]
    )


def record_fetch(db: sqlite_utils.Database, url: str, fetch: Fetch | None, at: str) -> None:
    if fetch is not None:
        db.execute(UPSERT_FETCH, [url, fetch.etag, fetch.last_modified, fetch.body_hash, fetch.fetched_at or at])


def record_article_urls(db: sqlite_utils.Database, article_id: int, article: Article, at: str) -> None:
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
    db.conn.executemany(UPSERT_ARTICLE_URL, rows)


def record_seen_again(db: sqlite_utils.Database, url: str, fetched_url: str, requested_urls: Iterable[str], at: str) -> None:
    """A document found unchanged: the article it gave (stored under ``url``,
    or led to by ``fetched_url``), if any, was seen again ``at``."""
    row = db.execute(
        "SELECT id FROM articles WHERE url = ? UNION ALL SELECT article_id FROM article_urls WHERE url = ?",
        [url, fetched_url],
    ).fetchone()
    if row is not None:
        db.execute("UPDATE articles SET last_seen = ? WHERE id = ?", [at, row[0]])
        db.conn.executemany(
            SEEN_ARTICLE_URL, [(fetched_url, row[0], "fetched", at), *((u, row[0], "requested", at) for u in requested_urls)]
        )


def record_checked(db: sqlite_utils.Database, url: str, at: str) -> None:
    """A download of ``url`` found it unchanged ``at``."""
    db.execute("UPDATE fetches SET checked_at = ? WHERE url = ?", [at, url])


def record_skipped(db: sqlite_utils.Database, url: str, reason: str, detail: str, run_id: int | None, at: str) -> None:
    db.execute(UPSERT_SKIPPED, [url, reason, detail, run_id, at])


def forget_skipped(db: sqlite_utils.Database, *urls: str) -> None:
    """``urls`` led to an article: they are skipped no more."""
    db.execute(f"DELETE FROM skipped WHERE url IN ({', '.join('?' * len(urls))})", list(urls))


def move_article(db: sqlite_utils.Database, article_id: int, url: str) -> None:
    """Store article ``article_id`` under ``url`` (a change readers see)."""
    db.execute("UPDATE articles SET url = ?, change_seq = ? WHERE id = ?", [url, next_change(db), article_id])


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
    )


def start_run(db: sqlite_utils.Database, spider: str, arguments: dict[str, Any], at: str) -> int:
    """The ``runs`` row of a run starting now, in this process."""
    record = {
        "spider": spider,
        "args": json.dumps(arguments, sort_keys=True),
        "started_at": at,
        "status": "running",
        "pid": os.getpid(),
    }
    return db["runs"].insert(record, alter=False).last_pk


def end_run(db: sqlite_utils.Database, run_id: int, status: str, *, at: str | None = None, stats: dict[str, Any] | None = None) -> None:
    values: dict[str, Any] = {"status": status}
    if at is not None:
        values["finished_at"] = at
    if stats is not None:
        values["stats"] = json.dumps(stats, default=str, sort_keys=True)
    db["runs"].update(run_id, values)
