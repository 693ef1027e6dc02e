"""crawler.storage.database: the shared write transaction and its batches,
a commit that fails, a database that cannot be used at the start."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from crawler.storage.connection import DatabaseError
from crawler.storage.database import Database
from pipelines.worker_process import StatsDelta

ARTICLE = (
    "INSERT INTO articles (url, source, text, content_hash, first_seen, last_seen) "
    "VALUES (?, 'gazette', 'Some text.', ?, '2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00.000Z')"
)
FETCH = "INSERT INTO fetches (url, etag, last_modified, body_hash, fetched_at) VALUES (?, ?, ?, ?, ?)"
ARTICLE_URL = "INSERT INTO article_urls (url, article_id, how, seen_at) VALUES (?, ?, 'fetched', '2024-05-01T10:00:00.000Z')"


def count(database: Database, table: str) -> int:
    return database.open().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


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
