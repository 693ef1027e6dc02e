"""Sieve's SQLite database: how it is opened, its schema, and the migrations
that build that schema. The schema is defined here and nowhere else.

Each migration moves the database from version N-1 to N (``PRAGMA
user_version``) inside one write transaction, so a database is always at a
whole version, and two processes opening a new file at once do not both
create it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

logger = logging.getLogger(__name__)


class SchemaTooNew(RuntimeError):
    pass


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(path: str | Path, busy_timeout: float = 60.0) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the database at ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # The timeout is SQLite's busy handler: a writer waits this long for
    # another process's write transaction instead of failing at once.
    conn = sqlite3.connect(str(path), timeout=busy_timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses no committed data on a process crash, only
    # possibly the last transactions on power loss; it saves an fsync per commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A transaction that takes the write lock at BEGIN.

    A plain BEGIN that reads first and writes later can fail with "database
    is locked" without waiting, when another process wrote in between; BEGIN
    IMMEDIATE waits for the lock (up to the busy timeout) before reading.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.commit()


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> None:
    if schema_version(db) == len(MIGRATIONS):
        return
    with write_transaction(db):
        version = schema_version(db)
        if version > len(MIGRATIONS):
            raise SchemaTooNew(
                f"the database is at schema version {version}, newer than this "
                f"Sieve ({len(MIGRATIONS)}); upgrade Sieve to use it"
            )
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            logger.info("Migrating the database to schema version %d: %s", number, migration.__doc__)
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1_initial]
