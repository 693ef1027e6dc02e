"""Opening a Sieve database: connecting, checking that the file is Sieve's,
migrating it, the write transaction, and the time format every write
uses. Two processes opening a new file at once do not both create it: the
migrations run in one write transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from crawler.errors import SieveError
from crawler.storage.schema import APPLICATION_ID, MIGRATIONS, SIEVE_TABLES, index_new_articles

logger = logging.getLogger(__name__)


class DatabaseError(SieveError):
    """The database cannot be used; the message says why, in one line."""


class SchemaTooNew(DatabaseError):
    pass


class NotSieveDatabase(DatabaseError):
    """The file is an SQLite database of another program: left untouched."""

    exit_status = 2


def now() -> str:
    return stored_time(datetime.now(timezone.utc))


def stored_time(moment: datetime) -> str:
    """A time as the database stores it: UTC, ISO 8601, milliseconds."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def database_path(setting: str) -> str:
    """Where ``SIEVE_DB`` names: a relative path is from the project's root
    (the folder of ``scrapy.cfg``), so that a command run from a subfolder
    uses the same database, not a new one there."""
    from scrapy.utils.conf import closest_scrapy_cfg

    path = Path(setting).expanduser()
    if path.is_absolute():
        return str(path)
    config = closest_scrapy_cfg()
    return os.path.abspath(Path(config).parent / path if config else path)


def connect(path: str | Path, busy_timeout: float, *, writer: bool = True) -> sqlite_utils.Database:
    """Open the Sieve database at ``path``. A writer creates it if needed
    and migrates it to the current schema; a reader (``writer=False``)
    changes nothing and takes only a database at the current schema. A
    database of another program is refused before anything is written."""
    try:
        if writer:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The timeout is SQLite's busy handler: a writer waits this long for
        # another process's write transaction instead of failing at once.
        conn = sqlite3.connect(str(path), timeout=busy_timeout)
        version = check_is_sieve(conn, path)
        if writer:
            conn.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"cannot open the database {path}: {exc}") from None
    if not writer and version != len(MIGRATIONS):
        conn.close()
        if version > len(MIGRATIONS):
            raise SchemaTooNew(f"{path} is at schema version {version}, newer than this Sieve ({len(MIGRATIONS)}); upgrade Sieve to read it")
        raise DatabaseError(f"{path} is at schema version {version}; a crawl with this Sieve brings it to {len(MIGRATIONS)}")
    # In WAL mode NORMAL loses no committed data on a process crash, only
    # possibly the last transactions on power loss; it saves an fsync per commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # The LSH band tables take keys at random places in their B-trees: with
    # SQLite's default page cache, storing reads pages back on every insert,
    # more as the database grows. A cache of up to 64 MB, per connection.
    conn.execute("PRAGMA cache_size=-65536")
    db = sqlite_utils.Database(conn)
    if writer:
        migrate(db)
    return db


def check_is_sieve(conn: sqlite3.Connection, path: str | Path) -> int:
    """The schema version of a Sieve database (0: an empty file); raise
    :class:`NotSieveDatabase` for anything else. Reads only."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if application_id == APPLICATION_ID:
        return version
    if application_id == 0 and version == 0 and not tables:
        return 0
    # Sieve databases made before schema version 6 carry no application id.
    if application_id == 0 and version >= 1 and SIEVE_TABLES <= tables:
        return version
    raise NotSieveDatabase(
        f"{path} is not a Sieve database (application id {application_id}, schema version {version}, "
        f"tables: {', '.join(sorted(tables)) or 'none'}); left untouched. Give another path with -s SIEVE_DB=..."
    )


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None if there is none, or for
    a database in memory."""
    if path == ":memory:" or path.startswith("file:"):
        return None
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


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
        index_new_articles(db)
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
        if version == 0:
            logger.info("Creating the database tables (schema version %d)", len(MIGRATIONS))
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            # A new database takes every step: one line above says so.
            log = logger.debug if version == 0 else logger.info
            log("Migrating the database to schema version %d: %s", number, migration.__doc__)
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
