"""The schema of a Sieve database, and the migrations that build it.

Each migration moves the database from version N-1 to N (``PRAGMA
user_version``); :func:`crawler.storage.connection.migrate` runs them, each
inside the one write transaction, so a database is always at a whole
version. Migrations write literal values: they stay what they were when
they were written, whatever the code around them becomes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

#: PRAGMA application_id of a Sieve database ("SIEV"), set by migration 6.
APPLICATION_ID = 0x53494556
#: Tables every Sieve database has had since schema version 1.
SIEVE_TABLES = {"runs", "articles", "removed", "skipped"}

#: The columns of ``articles`` a stored article writes, in the order of the
#: statements that write them (``first_seen`` is written once, on insert).
ARTICLE_COLUMNS = (
    "url", "canonical_url", "source", "title", "author", "published", "language", "sitename",
    "text", "content_hash", "duplicate_of", "duplicate_rule", "duplicate_similarity", "last_seen", "changed_at",
    "run_id", "change_seq", "published_local", "authors", "description", "image", "section", "tags", "kind",
)  # fmt: skip
#: Columns of ``articles`` that hold a JSON array.
JSON_ARRAY_COLUMNS = ("authors", "tags")


def _v1_initial(db: sqlite_utils.Database) -> None:
    """articles, removed paragraphs, skipped documents and runs"""
    db["runs"].create(
        {
            "id": int,
            "spider": str,
            "args": str,  # JSON object of the spider arguments
            "started_at": str,
            "finished_at": str,
            "status": str,  # running, finished, or how it ended otherwise
            "stats": str,  # JSON object: the crawler's stats at the end
            "pid": int,
        },
        pk="id",
        not_null={"spider", "started_at", "status"},
    )
    db["articles"].create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "source": str,
            "title": str,
            "author": str,
            "published": str,
            "language": str,
            "sitename": str,
            "text": str,
            "content_hash": str,
            "duplicate_of": int,
            "first_seen": str,
            "last_seen": str,
            "run_id": int,
        },
        pk="id",
        not_null={"url", "source", "text", "content_hash", "first_seen", "last_seen"},
        foreign_keys=[("duplicate_of", "articles", "id"), ("run_id", "runs", "id")],
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["source"])
    db["articles"].create_index(["run_id"])
    db["articles"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True)
    db["removed"].create(
        {
            "id": int,
            "article_id": int,
            "position": int,
            "text": str,
            "reason": str,
            "match_position": int,
        },
        pk="id",
        not_null={"article_id", "position", "text", "reason"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["removed"].create_index(["article_id"])
    db["skipped"].create(
        {"url": str, "reason": str, "detail": str, "run_id": int, "at": str},
        pk="url",
        not_null={"reason", "at"},
        foreign_keys=[("run_id", "runs", "id")],
    )


def _v2_cross_document_dedup(db: sqlite_utils.Database) -> None:
    """cross-document dedup: kept paragraphs, LSH bands, site boilerplate, clean_articles"""
    db["removed"].add_column("match_article_id", int, fk="articles", fk_col="id")
    db["articles"].create_index(["duplicate_of"])
    db.execute("CREATE VIEW clean_articles AS SELECT * FROM articles WHERE duplicate_of IS NULL")
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["meta"].insert(
        {"key": "minhash_scheme", "value": "datasketch-affine32/seed1/xxh32/char5/perm128/articles20x6/paragraphs10x12"}
    )
    db.executescript(
        """
        CREATE TABLE paragraphs (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            keys BLOB NOT NULL,
            PRIMARY KEY (article_id, position)
        ) WITHOUT ROWID;
        CREATE TABLE paragraph_bands (
            key INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (key, article_id, position)
        ) WITHOUT ROWID;
        CREATE TABLE article_bands (
            key INTEGER NOT NULL,
            article_id INTEGER NOT NULL,
            PRIMARY KEY (key, article_id)
        ) WITHOUT ROWID;
        CREATE TABLE site_boilerplate (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            text TEXT NOT NULL,
            first_article_id INTEGER REFERENCES articles(id),
            first_position INTEGER,
            run_id INTEGER REFERENCES runs(id),
            found_at TEXT NOT NULL
        );
        CREATE INDEX site_boilerplate_source ON site_boilerplate(source);
        CREATE TABLE boilerplate_bands (
            key INTEGER NOT NULL,
            boilerplate_id INTEGER NOT NULL REFERENCES site_boilerplate(id),
            PRIMARY KEY (key, boilerplate_id)
        ) WITHOUT ROWID;
        """
    )
    db.execute("CREATE TABLE article_keys (article_id INTEGER PRIMARY KEY REFERENCES articles(id), keys BLOB NOT NULL)")
    # Articles stored by version 1 are indexed by the dedup code when it
    # first opens the database (crawler.storage.corpus.open_index).


def _v3_incremental(db: sqlite_utils.Database) -> None:
    """incremental runs: validators of each fetch, when content last changed"""
    db["articles"].add_column("changed_at", str)
    db.execute("UPDATE articles SET changed_at = last_seen")
    db["articles"].create_index(["changed_at"])
    db["fetches"].create(
        {
            "url": str,
            "etag": str,
            "last_modified": str,
            "body_hash": str,
            "fetched_at": str,  # last full download
            "checked_at": str,  # last time it was found unchanged
        },
        pk="url",
        not_null={"fetched_at"},
    )


def _v4_article_signatures(db: sqlite_utils.Database) -> None:
    """article signatures kept, so that clear near-duplicates need no exact comparison"""
    db.execute("ALTER TABLE article_keys ADD COLUMN signature BLOB")


def _v5_scheme_names_min_words(db: sqlite_utils.Database) -> None:
    """the MinHash scheme names SIEVE_REPEAT_MIN_WORDS, which decides paragraph keys"""
    # Every index built before this version used 8, the only value tested.
    db.execute("UPDATE meta SET value = value || '/minwords8' WHERE key = 'minhash_scheme'")


def _v6_application_id(db: sqlite_utils.Database) -> None:
    """the file says it is Sieve's (PRAGMA application_id)"""
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _v7_change_sequence(db: sqlite_utils.Database) -> None:
    """articles.change_seq: a counter that orders every change a reader can see"""
    db.execute("ALTER TABLE articles ADD COLUMN change_seq INTEGER")
    # Existing rows in the order they were written; a reader starts at 0.
    db.execute("UPDATE articles SET change_seq = id")
    db.execute("CREATE UNIQUE INDEX articles_change_seq ON articles(change_seq)")
    db.execute("INSERT INTO meta (key, value) VALUES ('change_seq', (SELECT coalesce(max(id), 0) FROM articles))")


def _v8_duplicate_rule(db: sqlite_utils.Database) -> None:
    """articles.duplicate_rule and duplicate_similarity: how a near-duplicate was linked"""
    db.execute("ALTER TABLE articles ADD COLUMN duplicate_rule TEXT")
    db.execute("ALTER TABLE articles ADD COLUMN duplicate_similarity REAL")
    # Every link made before this version was by Jaccard similarity; its value was not kept.
    db.execute("UPDATE articles SET duplicate_rule = 'resemblance' WHERE duplicate_of IS NOT NULL")


def _v9_article_urls(db: sqlite_utils.Database) -> None:
    """article_urls: every URL that led to an article, and where in a web archive it was read"""
    db.executescript(
        """
        CREATE TABLE article_urls (
            url TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            how TEXT NOT NULL,
            warc_file TEXT,
            warc_offset INTEGER,
            warc_record_id TEXT,
            seen_at TEXT NOT NULL
        );
        CREATE INDEX article_urls_article_id ON article_urls(article_id);
        """
    )
    db.execute(
        """INSERT INTO article_urls (url, article_id, how, seen_at)
           SELECT f.url, a.id, 'fetched', f.fetched_at FROM fetches f JOIN articles a ON a.url = f.url"""
    )
    # The other downloads led to an article stored under the canonical URL
    # they declared, or to none: earlier versions let a misdeclared canonical
    # overwrite another article. Forgotten, they are downloaded and stored
    # again, each where it belongs.
    db.execute(
        """DELETE FROM fetches WHERE url NOT IN (SELECT url FROM article_urls)
           AND url NOT IN (SELECT url FROM skipped)"""
    )


def _v10_metadata(db: sqlite_utils.Database) -> None:
    """articles: published in UTC (sortable) and as the page gave it, authors as a list, description, image, section, tags, kind"""
    for column in ("published_local", "authors", "description", "image", "section", "tags", "kind"):
        db.execute(f"ALTER TABLE articles ADD COLUMN {column} TEXT")
    db.execute("UPDATE articles SET published_local = published")
    # How the document was read, which re-cleaning needs; the files spider
    # reads .txt and .text files as plain text, and nearly all else is HTML.
    db.execute(
        "UPDATE articles SET kind = CASE WHEN url LIKE '%.txt' OR url LIKE '%.txt.gz' OR url LIKE '%.text' "
        "OR url LIKE '%.text.gz' THEN 'text' ELSE 'html' END"
    )
    rows = db.execute("SELECT id, published, author FROM articles WHERE published IS NOT NULL OR author IS NOT NULL").fetchall()
    for article_id, published, author in rows:
        authors = json.dumps([a for a in (author or "").split("; ") if a], ensure_ascii=False)
        db.execute("UPDATE articles SET authors = ? WHERE id = ?", [authors, article_id])
        if not published or len(published) == 10:
            continue
        try:
            moment = datetime.fromisoformat(published)
        except ValueError:
            continue
        if moment.tzinfo is None:
            sortable = moment.date().isoformat()
        else:
            sortable = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A reader following change_seq sees the new form.
        db.execute(
            "UPDATE articles SET published = ?, change_seq = "
            "(SELECT value + 1 FROM meta WHERE key = 'change_seq') WHERE id = ?",
            [sortable, article_id],
        )
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'change_seq'")


def _v11_search_index_on_text_changes(db: sqlite_utils.Database) -> None:
    """articles_fts: kept in step when an article's title or text changes, not on every update of the row"""
    # sqlite-utils' trigger fires on any UPDATE: a recrawl's last_seen, a new
    # duplicate_of or change_seq re-indexed the whole text each time.
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles BEGIN
             INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
             INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
           END"""
    )


def _v12_search_index_by_batch(db: sqlite_utils.Database) -> None:
    """articles_fts: new articles indexed when their batch commits, all in one statement"""
    # FTS5 writes a new segment (and merges segments) for each statement that
    # inserts into it: through a per-row trigger, one per article. New
    # articles wait in articles_fts_pending until index_new_articles().
    db.execute("CREATE TABLE articles_fts_pending (article_id INTEGER PRIMARY KEY)")
    for trigger in ("articles_ai", "articles_au", "articles_ad"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute(
        """CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
             INSERT INTO articles_fts_pending (article_id) VALUES (new.id);
           END"""
    )
    # A pending article is not in the index yet: index_new_articles() takes
    # its title and text as they are then.
    db.execute(
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles
           WHEN old.id NOT IN (SELECT article_id FROM articles_fts_pending) BEGIN
             INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
             INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
           END"""
    )
    db.execute(
        """CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
             INSERT INTO articles_fts (articles_fts, rowid, title, text)
               SELECT 'delete', old.rowid, old.title, old.text WHERE old.id NOT IN (SELECT article_id FROM articles_fts_pending);
             DELETE FROM articles_fts_pending WHERE article_id = old.id;
           END"""
    )


def index_new_articles(db: sqlite_utils.Database) -> None:
    """Add the articles inserted since the last call to the search index, in
    the open transaction: every commit of a writer calls this first."""
    db.execute(
        "INSERT INTO articles_fts (rowid, title, text) "
        "SELECT a.id, a.title, a.text FROM articles_fts_pending p JOIN articles a ON a.id = p.article_id"
    )
    db.execute("DELETE FROM articles_fts_pending")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_initial,
    _v2_cross_document_dedup,
    _v3_incremental,
    _v4_article_signatures,
    _v5_scheme_names_min_words,
    _v6_application_id,
    _v7_change_sequence,
    _v8_duplicate_rule,
    _v9_article_urls,
    _v10_metadata,
    _v11_search_index_on_text_changes,
    _v12_search_index_by_batch,
]
