"""crawler.storage.schema and its migrations, as crawler.storage.connection
runs them: a new database, an old one brought up to date, one too new."""

from __future__ import annotations

import pytest
import sqlite_utils

from crawler.storage.connection import SchemaTooNew, migrate, schema_version
from crawler.storage.schema import APPLICATION_ID, MIGRATIONS
from pipelines.fingerprints import MinhashConfig

ARTICLE = (
    "INSERT INTO articles (url, source, text, content_hash, first_seen, last_seen) "
    "VALUES (?, 'gazette', 'Some text.', ?, '2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00.000Z')"
)
FETCH = "INSERT INTO fetches (url, etag, last_modified, body_hash, fetched_at) VALUES (?, ?, ?, ?, ?)"
ARTICLE_URL = "INSERT INTO article_urls (url, article_id, how, seen_at) VALUES (?, ?, 'fetched', '2024-05-01T10:00:00.000Z')"


def database_at_version(version: int) -> sqlite_utils.Database:
    """A database in memory as a Sieve at schema ``version`` left it."""
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:version]:
        migration(db)
    db.execute(f"PRAGMA user_version = {version}")
    return db


def test_fresh_database_is_at_the_last_migration(fresh_db):
    assert schema_version(fresh_db.open()) == len(MIGRATIONS)
    assert {"articles", "removed", "skipped", "runs", "fetches", "article_keys"} <= set(fresh_db.open().table_names())


def test_version_4_database_gets_min_words_8_in_its_scheme():
    db = database_at_version(4)

    migrate(db)

    assert schema_version(db) == len(MIGRATIONS)
    [scheme] = db.execute("SELECT value FROM meta WHERE key = 'minhash_scheme'").fetchone()
    assert scheme.endswith("/minwords8")
    # The article bands of the time; crawler.storage.corpus.open_index re-keys them.
    assert scheme == MinhashConfig(min_words=8, article_bands=20, article_rows=6).scheme


def test_database_newer_than_the_code_is_refused():
    db = sqlite_utils.Database(memory=True)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNew, match="upgrade Sieve"):
        migrate(db)
    assert schema_version(db) == len(MIGRATIONS) + 1
    assert db.table_names() == []


def test_new_database_says_it_is_sieves_in_its_header(fresh_db):

    assert fresh_db.open().execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_version_7_database_gets_duplicate_rule_columns_and_its_links_are_resemblance():
    db = database_at_version(7)
    db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
    db.execute(ARTICLE, ["https://example.org/b", "hash-b"])
    db.execute("UPDATE articles SET duplicate_of = 1 WHERE id = 2")

    migrate(db)

    rows = db.execute("SELECT id, duplicate_rule, duplicate_similarity FROM articles ORDER BY id").fetchall()
    assert rows == [(1, None, None), (2, "resemblance", None)]


def test_version_8_database_keeps_the_urls_of_its_articles_and_forgets_downloads_that_led_to_none():
    db = database_at_version(8)
    db.execute(ARTICLE, ["https://example.org/news/", "hash-a"])
    db.execute("INSERT INTO skipped (url, reason, at) VALUES ('https://example.org/pdf', 'unsupported-type', '2024-05-01')")
    for url in ["https://example.org/news/", "https://example.org/story-2", "https://example.org/pdf"]:
        db.execute(FETCH, [url, None, None, "hash", "2024-05-01T10:00:00.000Z"])

    migrate(db)

    assert db.execute("SELECT url, article_id, how FROM article_urls").fetchall() == [("https://example.org/news/", 1, "fetched")]
    # story-2 was stored under the canonical URL it declared: fetched again next run.
    assert {row[0] for row in db.execute("SELECT url FROM fetches")} == {"https://example.org/news/", "https://example.org/pdf"}


def test_version_9_database_gets_sortable_published_its_local_form_and_authors_as_lists():
    db = database_at_version(9)
    for n, published in enumerate(["2024-03-10T01:00:00+02:00", "2024-03-10T09:00:00", "2024-03-10", None]):
        db.execute(ARTICLE, [f"https://example.org/{n}", f"hash-{n}"])
        db.execute("UPDATE articles SET published = ?, author = 'A One; B Two', change_seq = ? WHERE id = ?", [published, n + 1, n + 1])
    db.execute("UPDATE meta SET value = 4 WHERE key = 'change_seq'")

    migrate(db)

    rows = db.execute("SELECT published, published_local, authors, change_seq FROM articles ORDER BY id").fetchall()
    assert rows == [
        ("2024-03-09T23:00:00Z", "2024-03-10T01:00:00+02:00", '["A One", "B Two"]', 5),
        ("2024-03-10", "2024-03-10T09:00:00", '["A One", "B Two"]', 6),
        ("2024-03-10", "2024-03-10", '["A One", "B Two"]', 3),
        (None, None, '["A One", "B Two"]', 4),
    ]
    assert db.execute("SELECT value FROM meta WHERE key = 'change_seq'").fetchone()[0] == "6"


def fts_segments(db) -> int:
    return db.execute("SELECT count(*) FROM articles_fts_data").fetchone()[0]


def test_version_10_database_keeps_its_search_index_in_step_with_text_changes_only():
    db = database_at_version(10)
    db.execute(ARTICLE, ["https://example.org/1", "hash-1"])

    migrate(db)

    segments = fts_segments(db)
    db.execute("UPDATE articles SET last_seen = '2024-06-01T10:00:00.000Z', change_seq = 7 WHERE id = 1")
    assert fts_segments(db) == segments  # nothing re-indexed
    db.execute("UPDATE articles SET text = 'Other words entirely.' WHERE id = 1")
    search = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
    assert db.execute(search, ["entirely"]).fetchall() == [(1,)]
    assert db.execute(search, ["some"]).fetchall() == []
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")


SEARCH = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"


def test_articles_of_a_batch_are_searchable_once_it_commits_as_they_were_then(fresh_db):
    db = fresh_db.begin()
    for n in (1, 2, 3):
        db.execute(ARTICLE, [f"https://example.org/{n}", f"hash-{n}"])
    db.execute("UPDATE articles SET text = 'Changed before the commit.' WHERE id = 2")
    db.execute("DELETE FROM articles WHERE id = 3")

    fresh_db.commit()

    assert db.execute(SEARCH, ["some"]).fetchall() == [(1,)]
    assert db.execute(SEARCH, ["changed"]).fetchall() == [(2,)]
    assert db.execute("SELECT count(*) FROM articles_fts_pending").fetchone() == (0,)
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")


def test_indexed_article_changed_or_deleted_in_a_later_batch_leaves_the_index_in_step(fresh_db):
    db = fresh_db.begin()
    for n in (1, 2):
        db.execute(ARTICLE, [f"https://example.org/{n}", f"hash-{n}"])
    fresh_db.commit()
    db = fresh_db.begin()
    db.execute("UPDATE articles SET text = 'Changed later.' WHERE id = 1")
    db.execute("DELETE FROM articles WHERE id = 2")
    fresh_db.commit()

    assert db.execute(SEARCH, ["some"]).fetchall() == []
    assert db.execute(SEARCH, ["later"]).fetchall() == [(1,)]
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")


def test_batch_of_new_articles_is_one_write_to_the_search_index(fresh_db):
    db = fresh_db.begin()
    before = fts_segments(db)
    for n in range(20):
        db.execute(ARTICLE, [f"https://example.org/{n}", f"hash-{n}"])
    fresh_db.commit()
    assert fts_segments(db) - before <= 2  # a segment and its structure record, not one a row


def test_columns_an_article_writes_and_readers_get_are_columns_of_articles(fresh_db):
    from crawler.storage.reads import EXTRACTED_COLUMNS, RECORD_FIELDS
    from crawler.storage.schema import ARTICLE_COLUMNS

    columns = set(fresh_db.open()["articles"].columns_dict)
    assert set(ARTICLE_COLUMNS) <= columns
    assert set(EXTRACTED_COLUMNS) <= columns
    assert set(RECORD_FIELDS) - columns == {"paragraphs", "urls"}
