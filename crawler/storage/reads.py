"""What the stages and spiders look up in the database while a crawl runs:
earlier downloads, stored articles, the URLs that led to them, ``meta``
values. Each takes the connection (``Database.open()``) and changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.items import Article, ArticleRecord, Fetch, Paragraph
from crawler.storage.schema import JSON_ARRAY_COLUMNS

if TYPE_CHECKING:
    import sqlite_utils

#: The fields of a stored article as readers get it, in order.
RECORD_FIELDS = [field.name for field in dataclasses.fields(ArticleRecord)]
#: Record fields that are not columns of ``articles``.
RECORD_URLS = (
    "(SELECT json_group_array(url) FROM (SELECT url FROM article_urls WHERE article_id = articles.id ORDER BY url)) AS urls"
)
RECORD_COLUMNS = ", ".join([*(f for f in RECORD_FIELDS if f not in ("paragraphs", "urls")), RECORD_URLS])


@dataclass
class PreviousFetch:
    fetch: Fetch
    fetched_at: str
    #: Whether the URL is stored as an article (rather than skipped).
    is_article: bool


@dataclass
class StoredArticle:
    id: int
    content_hash: str


def previous_fetches(db: sqlite_utils.Database, urls: list[str] | None = None) -> dict[str, PreviousFetch]:
    """How each of ``urls`` (None: every URL) was when last downloaded, for
    those that were."""
    query = """SELECT f.url, f.etag, f.last_modified, f.body_hash, f.fetched_at, u.url IS NOT NULL
               FROM fetches f LEFT JOIN article_urls u ON u.url = f.url"""
    if urls is None:
        rows = db.execute(query)
    else:
        # One URL is what every page request asks: a plain lookup, no JSON.
        where = "f.url = ?" if len(urls) == 1 else "f.url IN (SELECT value FROM json_each(?))"
        rows = db.execute(f"{query} WHERE {where}", urls if len(urls) == 1 else [json.dumps(urls)])
    return {row[0]: PreviousFetch(Fetch(row[1], row[2], row[3]), row[4], bool(row[5])) for row in rows}


def meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def stored_article(db: sqlite_utils.Database, url: str) -> StoredArticle | None:
    row = db.execute("SELECT id, content_hash FROM articles WHERE url = ?", [url]).fetchone()
    return StoredArticle(row[0], row[1]) if row else None


def borrower_of(db: sqlite_utils.Database, article_id: int, url: str) -> str | None:
    """The URL fetched that gave article ``article_id`` when that article is
    stored under ``url`` without having been fetched from it (it took
    ``url`` as its declared canonical URL); else None."""
    fetched = [
        row[0]
        for row in db.execute(
            "SELECT url FROM article_urls WHERE article_id = ? AND how = 'fetched' ORDER BY seen_at", [article_id]
        )
    ]
    return fetched[0] if fetched and url not in fetched else None


def article_url_led_to_by(db: sqlite_utils.Database, url: str) -> str | None:
    """The ``url`` of the article that a download of ``url`` gave last time."""
    row = db.execute(
        "SELECT a.url FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = ?", [url]
    ).fetchone()
    return row[0] if row else None


def running_runs(db: sqlite_utils.Database) -> list[tuple[int, int | None]]:
    """``(id, pid)`` of the runs still marked running."""
    return db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()


def article_records(db: sqlite_utils.Database, where: str = "", params: Sequence[Any] = (), order: str = "id") -> Iterator[dict[str, Any]]:
    """The stored articles as readers get them (the fields of
    :class:`~crawler.items.ArticleRecord`), one row at a time: memory stays
    flat however many there are. ``where``: an SQL condition on ``articles``."""
    rows = db.conn.execute(f"SELECT {RECORD_COLUMNS} FROM articles {'WHERE ' + where if where else ''} ORDER BY {order}", params)
    names = [d[0] for d in rows.description]
    for row in rows:
        record = dict(zip(names, row))
        record["paragraphs"] = record["text"].split("\n\n")
        for name in (*JSON_ARRAY_COLUMNS, "urls"):
            record[name] = json.loads(record[name] or "[]")
        yield {name: record[name] for name in RECORD_FIELDS}


def article_record(db: sqlite_utils.Database, article_id: int) -> ArticleRecord:
    return ArticleRecord(**next(article_records(db, "id = ?", [article_id])))


def last_change(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT value FROM meta WHERE key = 'change_seq'").fetchone()[0])


def last_run(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT max(id) FROM runs").fetchone()[0] or 0


def article_ids(db: sqlite_utils.Database, source: str | None = None) -> list[int]:
    """The ids of the stored articles (of ``source``, if given), in order."""
    where, params = ("WHERE source = ?", [source]) if source else ("", [])
    return [row[0] for row in db.execute(f"SELECT id FROM articles {where} ORDER BY id", params)]


#: What extraction gave an article, besides its paragraphs.
EXTRACTED_COLUMNS = (
    "id", "url", "kind", "source", "canonical_url", "title", "author", "authors", "published", "published_local",
    "language", "sitename", "description", "image", "section", "tags",
)  # fmt: skip


def articles_as_extracted(db: sqlite_utils.Database, ids: list[int]) -> list[Article]:
    """The articles ``ids`` as extraction gave them: every paragraph, kept
    or removed, in its place."""
    marks = ", ".join("?" * len(ids))
    paragraphs: dict[int, dict[int, str]] = {article_id: {} for article_id in ids}
    link_texts: dict[int, set[str]] = {article_id: set() for article_id in ids}
    for article_id, position, text in db.execute(
        f"SELECT article_id, position, text FROM paragraphs WHERE article_id IN ({marks})", ids
    ):
        paragraphs[article_id][position] = text
    for article_id, position, text, reason in db.execute(
        f"SELECT article_id, position, text, reason FROM removed WHERE article_id IN ({marks})", ids
    ):
        paragraphs[article_id].setdefault(position, text)
        if reason == "link":
            link_texts[article_id].add(text.casefold())
    articles = []
    for row in db.execute(f"SELECT {', '.join(EXTRACTED_COLUMNS)} FROM articles WHERE id IN ({marks}) ORDER BY id", ids):
        values = dict(zip(EXTRACTED_COLUMNS, row))
        article_id = values.pop("id")
        by_position = paragraphs[article_id]
        kind = values.pop("kind") or "html"
        if kind == "text" and values["title"]:
            # The cleaning stage takes a plain text's title out of its
            # paragraphs without recording it: the place left is the title's.
            gap = next((n for n in range(len(by_position) + 1) if n not in by_position), None)
            if gap is not None and gap <= max(by_position, default=-1):
                by_position[gap] = values["title"]
                values["title"] = None
        values["authors"] = json.loads(values["authors"] or "[]")
        values["tags"] = json.loads(values["tags"] or "[]")
        articles.append(
            Article(
                **values,
                kind=kind,
                paragraphs=[Paragraph(position, by_position[position]) for position in sorted(by_position)],
                link_texts=frozenset(link_texts[article_id]),
            )
        )
    return articles
