"""crawler.database: migrations, the shared write transaction and its batches,
the lookups the incremental checks use, and a commit that fails."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlite_utils

from crawler.database import MIGRATIONS, Database, DatabaseError, SchemaTooNew, migrate, schema_version
from pipelines.fingerprints import MinhashConfig
from pipelines.worker_process import StatsDelta

ARTICLE = (
    "INSERT INTO articles (url, source, text, content_hash, first_seen, last_seen) "
    "VALUES (?, 'gazette', 'Some text.', ?, '2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00.000Z')"
)
FETCH = "INSERT INTO fetches (url, etag, last_modified, body_hash, fetched_at) VALUES (?, ?, ?, ?, ?)"
ARTICLE_URL = "INSERT INTO article_urls (url, article_id, how, seen_at) VALUES (?, ?, 'fetched', '2024-05-01T10:00:00.000Z')"


def count(database: Database, table: str) -> int:
    return database.open().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_fresh_database_is_at_the_last_migration(fresh_db):
    assert schema_version(fresh_db.open()) == len(MIGRATIONS)
    assert {"articles", "removed", "skipped", "runs", "fetches", "article_keys"} <= set(fresh_db.open().table_names())


def test_version_4_database_gets_min_words_8_in_its_scheme():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:4]:
        migration(db)
    db.execute("PRAGMA user_version = 4")

    migrate(db)

    assert schema_version(db) == len(MIGRATIONS)
    [scheme] = db.execute("SELECT value FROM meta WHERE key = 'minhash_scheme'").fetchone()
    assert scheme.endswith("/minwords8")
    # The article bands of the time; pipelines.corpus.open_index re-keys them.
    assert scheme == MinhashConfig(min_words=8, article_bands=20, article_rows=6).scheme


def test_database_newer_than_the_code_is_refused():
    db = sqlite_utils.Database(memory=True)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNew, match="upgrade Sieve"):
        migrate(db)
    assert schema_version(db) == len(MIGRATIONS) + 1
    assert db.table_names() == []


def test_begin_opens_one_transaction_that_commit_ends(fresh_db):
    db = fresh_db.begin()
    assert db.conn.in_transaction
    assert fresh_db.begin() is db  # a second begin joins the open transaction
    db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
    fresh_db.commit()
    assert not db.conn.in_transaction
    db.rollback()  # nothing left to roll back
    assert count(fresh_db, "articles") == 1


def test_uncommitted_writes_are_lost_on_rollback(fresh_db):
    db = fresh_db.begin()
    db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
    db.rollback()
    assert count(fresh_db, "articles") == 0


def test_first_document_of_a_run_is_committed_at_once():
    database = Database(":memory:", batch_size=3, flush_seconds=60, busy_timeout=1)
    try:
        db = database.begin()
        db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
        database.document_done()
        assert not db.conn.in_transaction
        assert count(database, "articles") == 1
    finally:
        database.close()


def test_document_done_commits_after_batch_size_documents():
    database = Database(":memory:", batch_size=3, flush_seconds=60, busy_timeout=1)
    try:
        database.document_done()  # the first, committed on its own
        db = database.begin()
        db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
        database.document_done()
        database.document_done()
        assert db.conn.in_transaction
        database.document_done()
        assert not db.conn.in_transaction
        assert count(database, "articles") == 1
    finally:
        database.close()


def test_transaction_is_committed_flush_seconds_after_it_began():
    database = Database(":memory:", batch_size=100, flush_seconds=0.01, busy_timeout=1)

    async def write_then_wait() -> bool:
        database.begin().execute(ARTICLE, ["https://example.org/a", "hash-a"])
        await asyncio.sleep(0.05)
        return database.open().conn.in_transaction

    try:
        assert asyncio.run(write_then_wait()) is False
        assert count(database, "articles") == 1
    finally:
        database.close()


def test_held_batch_is_committed_only_when_told():
    database = Database(":memory:", batch_size=1, flush_seconds=0.01, busy_timeout=1)
    database.hold_commits()

    async def write_then_wait() -> bool:
        database.begin().execute(ARTICLE, ["https://example.org/a", "hash-a"])
        database.document_done()  # past the batch size...
        await asyncio.sleep(0.05)  # ...and the flush time
        return database.open().conn.in_transaction

    try:
        assert asyncio.run(write_then_wait()) is True
        database.commit()
        assert count(database, "articles") == 1
    finally:
        database.close()


def test_held_batch_is_rolled_back_when_the_run_ends_before_committing_it(fresh_db):
    fresh_db.hold_commits()
    fresh_db.begin().execute(ARTICLE, ["https://example.org/a", "hash-a"])
    fresh_db.count("sieve/articles_stored")
    with fresh_db.transaction() as db:  # the run record's last write
        db.execute("UPDATE meta SET value = value WHERE key = 'change_seq'")
    assert count(fresh_db, "articles") == 0
    assert fresh_db.pending_counts == {}


def test_failed_meta_write_rolls_back_and_fails_the_run():
    stats = StatsDelta()
    database = Database(":memory:", batch_size=100, flush_seconds=60, busy_timeout=1, stats=stats)
    database.begin().execute("DROP TABLE meta")  # the write below cannot succeed
    with pytest.raises(sqlite3.OperationalError):
        database.set_meta("stream_applied", "1-0")
    assert database.failure == "could not write to :memory:: no such table: meta"
    assert stats.counts["sieve/errors/database"] == 1
    assert "meta" in {r[0] for r in database.open().execute("SELECT name FROM sqlite_master")}  # rolled back
    database.close()


def test_previous_fetch_returns_what_was_written(fresh_db):
    db = fresh_db.begin()
    modified = "Wed, 01 May 2024 09:00:00 GMT"
    db.execute(FETCH, ["https://example.org/amp/a", '"v1"', modified, "abc", "2024-05-01T10:00:00.000Z"])
    article_id = db.execute(ARTICLE, ["https://example.org/a", "hash-a"]).lastrowid
    db.execute(ARTICLE_URL, ["https://example.org/amp/a", article_id])
    db.execute(FETCH, ["https://example.org/skipped", None, None, "def", "2024-05-02T10:00:00.000Z"])

    previous = fresh_db.previous_fetch("https://example.org/amp/a")
    assert previous.fetch.etag == '"v1"'
    assert previous.fetch.last_modified == modified
    assert previous.fetch.body_hash == "abc"
    assert previous.fetched_at == "2024-05-01T10:00:00.000Z"
    assert previous.is_article
    assert fresh_db.previous_fetch("https://example.org/skipped").is_article is False
    assert fresh_db.previous_fetch("https://example.org/never") is None


def test_stored_article_returns_id_and_hash(fresh_db):
    db = fresh_db.begin()
    article_id = db.execute(ARTICLE, ["https://example.org/a", "hash-a"]).lastrowid

    stored = fresh_db.stored_article("https://example.org/a")
    assert (stored.id, stored.content_hash) == (article_id, "hash-a")
    assert fresh_db.stored_article("https://example.org/b") is None


def test_failed_commit_raises_rolls_back_and_counts_a_database_error():
    stats = StatsDelta()
    database = Database(":memory:", batch_size=100, flush_seconds=60, busy_timeout=1, stats=stats)
    try:
        db = database.begin()
        db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
        db.execute("PRAGMA defer_foreign_keys = ON")
        db.execute("INSERT INTO removed (article_id, position, text, reason) VALUES (9999, 0, 'Gone.', 'pattern')")

        with pytest.raises(sqlite3.IntegrityError):
            database.commit()

        assert not db.conn.in_transaction
        assert count(database, "articles") == 0
        assert count(database, "removed") == 0
        assert stats.counts["sieve/errors/database"] == 1
    finally:
        database.close()


def test_counts_reach_the_stats_only_when_committed():
    stats = StatsDelta()
    database = Database(":memory:", batch_size=100, flush_seconds=60, busy_timeout=1, stats=stats)
    database.begin()
    database.count("sieve/articles_stored", 2)
    assert stats.counts["sieve/articles_stored"] == 0
    database.commit()
    assert stats.counts["sieve/articles_stored"] == 2
    database.close()


def test_failed_write_drops_the_batch_counts_and_refuses_later_writes():
    stats = StatsDelta()
    database = Database(":memory:", batch_size=100, flush_seconds=60, busy_timeout=1, stats=stats)
    database.begin()
    database.count("sieve/articles_stored", 3)
    database.fail(sqlite3.OperationalError("database or disk is full"))
    database.commit()
    assert stats.counts["sieve/articles_stored"] == 0
    assert stats.counts["sieve/errors/database"] == 1
    assert database.failure == "could not write to :memory:: database or disk is full"
    with pytest.raises(DatabaseError):
        database.begin()
    database.close()


def test_new_database_says_it_is_sieves_in_its_header(fresh_db):
    from crawler.database import APPLICATION_ID

    assert fresh_db.open().execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_version_7_database_gets_duplicate_rule_columns_and_its_links_are_resemblance():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:7]:
        migration(db)
    db.execute("PRAGMA user_version = 7")
    db.execute(ARTICLE, ["https://example.org/a", "hash-a"])
    db.execute(ARTICLE, ["https://example.org/b", "hash-b"])
    db.execute("UPDATE articles SET duplicate_of = 1 WHERE id = 2")

    migrate(db)

    rows = db.execute("SELECT id, duplicate_rule, duplicate_similarity FROM articles ORDER BY id").fetchall()
    assert rows == [(1, None, None), (2, "resemblance", None)]


def test_version_8_database_keeps_the_urls_of_its_articles_and_forgets_downloads_that_led_to_none():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:8]:
        migration(db)
    db.execute("PRAGMA user_version = 8")
    db.execute(ARTICLE, ["https://example.org/news/", "hash-a"])
    db.execute("INSERT INTO skipped (url, reason, at) VALUES ('https://example.org/pdf', 'unsupported-type', '2024-05-01')")
    for url in ["https://example.org/news/", "https://example.org/story-2", "https://example.org/pdf"]:
        db.execute(FETCH, [url, None, None, "hash", "2024-05-01T10:00:00.000Z"])

    migrate(db)

    assert db.execute("SELECT url, article_id, how FROM article_urls").fetchall() == [("https://example.org/news/", 1, "fetched")]
    # story-2 was stored under the canonical URL it declared: fetched again next run.
    assert {row[0] for row in db.execute("SELECT url FROM fetches")} == {"https://example.org/news/", "https://example.org/pdf"}


def test_version_9_database_gets_sortable_published_its_local_form_and_authors_as_lists():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:9]:
        migration(db)
    db.execute("PRAGMA user_version = 9")
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


def test_database_locked_by_another_program_at_the_start_is_one_line_and_exit_1(tmp_path):
    import sqlite3

    from tests.helpers import REPO, scrapy_crawl

    db = tmp_path / "sieve.db"
    assert scrapy_crawl("files", db=db, args={"path": str(REPO / "examples" / "articles")}).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = scrapy_crawl("files", db=db, args={"path": str(REPO / "examples" / "articles")}, settings={"SIEVE_DB_BUSY_TIMEOUT": "0.2"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"scrapy crawl files: cannot use the database {db}: database is locked" in result.stderr
