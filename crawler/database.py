"""Sieve's SQLite database: the :class:`Database` extension that owns the
connection and the write transaction of a crawl, how a database is opened,
its schema, and the migrations that build that schema. The schema is defined
here and nowhere else.

Each migration moves the database from version N-1 to N (``PRAGMA
user_version``) inside one write transaction, so a database is always at a
whole version, and two processes opening a new file at once do not both
create it. Migrations write literal values: they stay what they were when
they were written, whatever the code around them becomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils
from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.errors import SieveError
from crawler.items import Fetch

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


class DatabaseError(SieveError):
    """The database cannot be used; the message says why, in one line."""


class SchemaTooNew(DatabaseError):
    pass


class NotSieveDatabase(DatabaseError):
    """The file is an SQLite database of another program: left untouched."""

    exit_status = 2


#: PRAGMA application_id of a Sieve database ("SIEV"), set by migration 6.
APPLICATION_ID = 0x53494556
#: Tables every Sieve database has had since schema version 1.
SIEVE_TABLES = {"runs", "articles", "removed", "skipped"}


@dataclass
class PreviousFetch:
    fetch: Fetch
    fetched_at: str
    #: Whether the URL is stored as an article (rather than skipped).
    is_article: bool


def now() -> str:
    return stored_time(datetime.now(timezone.utc))


def stored_time(moment: datetime) -> str:
    """A time as the database stores it: UTC, ISO 8601, milliseconds."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    # SQLite's default 2 MB page cache, storing read back pages on every
    # insert (0.15-0.3 ms of each article on the benchmark, more as the
    # database grows). A cache of up to 64 MB, per connection.
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
    except BaseException:
        db.rollback()
        raise
    db.commit()


def next_change(db: sqlite_utils.Database) -> int:
    """The next value of ``articles.change_seq``. Taken inside the write
    transaction that makes the change: SQLite runs one write transaction at
    a time, so values become visible in the order they were taken, and a
    reader that asks for values above the last it saw misses none."""
    return int(db.execute("UPDATE meta SET value = value + 1 WHERE key = 'change_seq' RETURNING value").fetchone()[0])


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
    # first opens the database (pipelines.corpus.open_index).


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
]



@dataclass
class StoredArticle:
    id: int
    content_hash: str


class Database:
    """The extension that owns the crawl's database (``SIEVE_DB``): one
    connection, opened when the crawler is built, so that a database that
    cannot be used stops the crawl before it starts, in one line; and one
    write transaction at a time, which the stages that read and then write
    (dedup, then store) share, so that what dedup read is still true when
    store writes.

    The transaction is committed after ``SIEVE_STORE_BATCH`` documents have
    left the pipeline, or ``SIEVE_STORE_FLUSH_SECONDS`` after it began,
    whichever comes first, so another process writing to the same database
    waits at most about that long. Counters of what was written
    (:meth:`count`) reach the crawl's stats only once it is committed.

    A write or commit that fails (a full disk, a file made read-only) rolls
    back the batch, is counted (``sieve/errors/database``, which fails the
    run), and stops the crawl: nothing more could be stored. ``failure``
    then says why, in one line.

    Components reach it with ``crawler.get_extension(Database)``; it is None
    when ``SIEVE_DB`` is empty.
    """

    def __init__(
        self,
        path: str,
        *,
        batch_size: int,
        flush_seconds: float,
        busy_timeout: float,
        stats: Any = None,
        crawler: Crawler | None = None,
    ):
        self.path = path
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.busy_timeout = busy_timeout
        self.stats = stats
        self.crawler = crawler
        self.db: sqlite_utils.Database | None = None
        self.pending = 0
        self.documents_done = 0
        self.pending_counts: Counter[str] = Counter()
        self.flush_timer: asyncio.TimerHandle | None = None
        self.failure: str | None = None
        #: False when the crawl commits by itself (:meth:`hold_commits`).
        self.auto_commit = True
        #: The file's (device, inode) when opened: a file removed or replaced
        #: under the run would take every later commit with it, unseen.
        self.file_identity: tuple[int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.get("SIEVE_DB"):
            raise NotConfigured("SIEVE_DB is empty")
        database = cls(
            settings.get("SIEVE_DB"),
            batch_size=settings.getint("SIEVE_STORE_BATCH"),
            flush_seconds=settings.getfloat("SIEVE_STORE_FLUSH_SECONDS"),
            busy_timeout=settings.getfloat("SIEVE_DB_BUSY_TIMEOUT"),
            stats=crawler.stats,
            crawler=crawler,
        )
        database.open()
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(database.document_done, signal=signal)
        crawler.signals.connect(database.close, signal=signals.engine_stopped)
        return database

    def open(self) -> sqlite_utils.Database:
        if self.db is None:
            self.db = connect(self.path, busy_timeout=self.busy_timeout)
            self.file_identity = file_identity(self.path)
        return self.db

    def check_file(self) -> None:
        """Raise if the file opened is no longer at ``path``: what is
        committed would go to a file nobody can read."""
        if self.file_identity is None:
            return
        now_there = file_identity(self.path)
        if now_there != self.file_identity:
            happened = "removed" if now_there is None else "replaced by another file"
            raise sqlite3.DatabaseError(f"the database file was {happened} during the run")

    def begin(self) -> sqlite_utils.Database:
        """The connection, inside a write transaction."""
        if self.failure is not None:
            raise DatabaseError(f"nothing more is written after a failed write: {self.failure}")
        db = self.open()
        if not db.conn.in_transaction:
            db.execute("BEGIN IMMEDIATE")
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None and self.auto_commit:
                self.flush_timer = loop.call_later(self.flush_seconds, self._commit_quietly)
        return db

    def hold_commits(self) -> None:
        """Commit only when :meth:`commit` is called: the cluster writer
        commits each batch together with its place in the stream."""
        self.auto_commit = False

    def count(self, key: str, count: int = 1) -> None:
        """Count something written in the open transaction, once committed."""
        self.pending_counts[key] += count

    def document_done(self, *args: Any, **kwargs: Any) -> None:
        """One more document has left the pipeline (a signal handler)."""
        self.pending += 1
        self.documents_done += 1
        # The first document is committed at once: whoever watches the
        # database (or a benchmark) sees the run at work without waiting a batch.
        if self.auto_commit and (self.pending >= self.batch_size or self.documents_done == 1):
            self._commit_quietly()

    def commit(self) -> None:
        """Commit the open transaction; on failure, :meth:`fail` and raise."""
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        self.pending = 0
        if self.db is not None and self.db.conn.in_transaction:
            try:
                self.check_file()
                self.db.commit()
            except sqlite3.Error as exc:
                self.fail(exc)
                raise
        if self.stats is not None:
            for key, count in self.pending_counts.items():
                self.stats.inc_value(key, count)
        self.pending_counts.clear()

    def finish_batch(self) -> None:
        """End the open batch, before a write of another kind or the end:
        commit it, or, when the crawl commits by itself (:meth:`hold_commits`),
        roll it back: the cluster writer commits a batch only with its place
        in the stream, and what it did not commit stays pending there."""
        if self.auto_commit:
            self.commit()
            return
        if self.db is not None and self.db.conn.in_transaction:
            self.db.rollback()
            logger.info("Rolled back a batch the crawl did not commit (%d documents)", self.pending)
        self.pending = 0
        self.pending_counts.clear()

    def _commit_quietly(self) -> None:
        # Signal handlers and timers only log what they raise; fail() has
        # recorded it where the run record reads it.
        try:
            self.finish_batch()
        except sqlite3.Error:
            pass

    def fail(self, error: Exception) -> None:
        """A write failed: the batch is lost, the run fails, the crawl stops."""
        lost = self.pending_counts.get("sieve/articles_stored", 0)
        self.pending_counts.clear()
        if self.db is not None and self.db.conn.in_transaction:
            self.db.rollback()
        if self.failure is not None:
            return
        self.failure = f"could not write to {self.path}: {error}"
        logger.error("%s; the %d articles of the open batch are not stored; stopping", self.failure, lost)
        if self.stats is not None:
            self.stats.inc_value("sieve/errors/database")
        if self.crawler is not None:
            asyncio.ensure_future(self._stop_crawl())

    async def _stop_crawl(self) -> None:
        try:
            await self.crawler.engine.close_spider_async(reason="database-error")  # type: ignore[union-attr]
        except (AttributeError, RuntimeError):
            pass  # not open yet, or closed already: nothing to stop

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction of its own, committed at once (after the
        pending batch)."""
        self.finish_batch()
        try:
            with write_transaction(self.open()) as db:
                yield db
                self.check_file()
        except sqlite3.Error as exc:
            self.fail(exc)
            raise

    def previous_fetch(self, url: str) -> PreviousFetch | None:
        """How ``url`` was when last downloaded, if it was."""
        return self.previous_fetches([url]).get(url)

    def previous_fetches(self, urls: list[str] | None = None) -> dict[str, PreviousFetch]:
        """:meth:`previous_fetch` of each of ``urls`` that has one (None: all)."""
        query = """SELECT f.url, f.etag, f.last_modified, f.body_hash, f.fetched_at, u.url IS NOT NULL
                   FROM fetches f LEFT JOIN article_urls u ON u.url = f.url"""
        db = self.open()
        if urls is None:
            rows = db.execute(query)
        else:
            # One URL is what every page request asks: a plain lookup, no JSON.
            where = "f.url = ?" if len(urls) == 1 else "f.url IN (SELECT value FROM json_each(?))"
            rows = db.execute(f"{query} WHERE {where}", urls if len(urls) == 1 else [json.dumps(urls)])
        return {row[0]: PreviousFetch(Fetch(row[1], row[2], row[3]), row[4], bool(row[5])) for row in rows}

    def meta(self, key: str) -> str | None:
        row = self.open().execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``meta`` value in the open write transaction; on failure,
        :meth:`fail` and raise."""
        try:
            self.begin().execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
            )
        except sqlite3.Error as exc:
            self.fail(exc)
            raise

    def stored_article(self, url: str) -> StoredArticle | None:
        row = self.open().execute("SELECT id, content_hash FROM articles WHERE url = ?", [url]).fetchone()
        return StoredArticle(row[0], row[1]) if row else None

    def borrower_of(self, article_id: int, url: str) -> str | None:
        """The URL fetched that gave article ``article_id`` when that
        article is stored under ``url`` without having been fetched from it
        (it took ``url`` as its declared canonical URL); else None."""
        fetched = [
            row[0]
            for row in self.open().execute(
                "SELECT url FROM article_urls WHERE article_id = ? AND how = 'fetched' ORDER BY seen_at", [article_id]
            )
        ]
        return fetched[0] if fetched and url not in fetched else None

    def article_url_led_to_by(self, url: str) -> str | None:
        """The ``url`` of the article that a download of ``url`` gave last time."""
        row = self.open().execute(
            "SELECT a.url FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = ?", [url]
        ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        try:
            self._commit_quietly()
        finally:
            if self.db is not None:
                self.db.close()
                self.db = None
