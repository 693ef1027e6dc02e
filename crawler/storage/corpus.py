"""The corpus as the dedup stage sees it: kept paragraphs, LSH band keys and
site boilerplate, all in SQLite, so a run sees everything earlier runs
stored without loading an index into memory.

Lookups go through ``key IN (...)`` on ``WITHOUT ROWID`` tables whose
primary key starts with the key, so their cost grows with the logarithm of
the corpus, not with its size. The band number (and, for paragraphs, the
source) is folded into each key, so one table holds every band.

The index is only valid for the MinHash scheme that built it (an
:class:`IndexScheme`, which the dedup stage's config is): :func:`open_index`
records the scheme in ``meta`` and refuses a database indexed under another.
"""

from __future__ import annotations

import logging
import sqlite3
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from crawler.items import Holder, NewBoilerplate, content_hash
from crawler.storage.connection import DatabaseError
from crawler.storage.writes import next_change

if TYPE_CHECKING:
    import sqlite_utils

    from crawler.storage.database import Database

logger = logging.getLogger(__name__)


def pack_keys(keys: Sequence[int]) -> bytes:
    return array("q", keys).tobytes()


def unpack_keys(blob: bytes | None) -> list[int]:
    keys = array("q")
    keys.frombytes(blob or b"")
    return list(keys)


def signature_from_bytes(data: bytes) -> np.ndarray:
    """A signature stored with ``ndarray.tobytes()``."""
    return np.frombuffer(data, dtype=np.uint32)


class IndexScheme(Protocol):
    """What the index needs of a MinHash scheme (``pipelines.fingerprints.MinhashConfig``)."""

    scheme: str

    def same_but_article_bands(self, other: str) -> bool: ...
    def article_signature(self, paragraphs: Sequence[str]) -> np.ndarray | None: ...
    def article_keys(self, signature: np.ndarray | None) -> list[int]: ...
    def paragraph_keys(self, text: str, source: str) -> list[int]: ...


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _chunks(keys: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


class SchemeMismatch(DatabaseError):
    """The settings make signatures that the stored index cannot be compared with."""

    exit_status = 2


def open_index(database: Database, config: IndexScheme) -> None:
    """Check that the database was indexed with ``config`` (an empty index
    takes it; one whose scheme differs in the article bands alone is
    re-keyed), and index the articles stored before there was an index.
    Run as the stages are built: a database that cannot be written then
    (locked by another program past the busy timeout) stops the crawl before
    it starts, in one line."""
    if database.index_scheme == config.scheme:
        return  # opened already, by the other stage that uses it
    try:
        _open_index(database, config)
        database.index_scheme = config.scheme
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot use the database {database.path}: {exc}") from None


def _open_index(database: Database, config: IndexScheme) -> None:
    with database.transaction() as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'minhash_scheme'").fetchone()
        if row is None or row[0] != config.scheme:
            indexed = db.execute("SELECT EXISTS (SELECT 1 FROM article_keys)").fetchone()[0]
            if row is not None and indexed and config.same_but_article_bands(row[0]):
                CorpusIndex(db, config).rekey_articles(row[0])
            elif row is not None and indexed:
                raise SchemeMismatch(
                    f"the database is indexed with the MinHash scheme {row[0]!r}, but these settings make "
                    f"{config.scheme!r}; their signatures cannot be compared. Use the settings that built it "
                    "(SIEVE_REPEAT_MIN_WORDS) or a new database."
                )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('minhash_scheme', ?)", [config.scheme])
        CorpusIndex(db, config).index_unindexed()


class CorpusIndex:
    def __init__(self, db: sqlite_utils.Database, config: IndexScheme):
        self.db = db
        self.config = config
        # An article's paragraph keys grow with its length; SQLite's limit
        # on the ``?`` of one statement does not (32,766 by default, one
        # kept for the article excluded).
        self.keys_per_lookup = db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 1

    # --- lookups ------------------------------------------------------------

    def similar_articles(
        self, keys: Sequence[int], exclude: int | None
    ) -> list[tuple[int, int | None, str, np.ndarray | None]]:
        """``(id, duplicate_of, content_hash, signature)`` of the articles
        sharing an LSH band: no text, as most of them are ruled out by their
        signature."""
        if not keys:
            return []
        rows = self.db.execute(
            f"""SELECT a.id, a.duplicate_of, a.content_hash, k.signature FROM articles a
                LEFT JOIN article_keys k ON k.article_id = a.id
                WHERE a.id IN (SELECT DISTINCT article_id FROM article_bands WHERE key IN ({_marks(keys)}))
                AND a.id IS NOT ? ORDER BY a.id""",
            [*keys, exclude],
        ).fetchall()
        return [(i, dup, text_hash, signature_from_bytes(sig) if sig else None) for i, dup, text_hash, sig in rows]

    def text_of(self, article_id: int) -> str:
        return self.db.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()[0]

    def paragraph_candidates(
        self, keys: Sequence[int], exclude: int | None
    ) -> list[tuple[int, int, int, str, int | None]]:
        """``(key, article_id, position, text, duplicate_of)`` for every stored
        paragraph sharing one of ``keys``."""
        return [
            row
            for chunk in _chunks(keys, self.keys_per_lookup)
            for row in self.db.execute(
                f"""SELECT b.key, b.article_id, b.position, p.text, a.duplicate_of
                    FROM paragraph_bands b
                    JOIN paragraphs p ON p.article_id = b.article_id AND p.position = b.position
                    JOIN articles a ON a.id = b.article_id
                    WHERE b.key IN ({_marks(chunk)}) AND b.article_id IS NOT ?""",
                [*chunk, exclude],
            )
        ]

    def known_boilerplate(self, keys: Sequence[int]) -> list[tuple[int, int, str, int, int]]:
        """``(key, id, text, first_article_id, first_position)`` of recorded
        site boilerplate sharing a key."""
        return [
            row
            for chunk in _chunks(keys, self.keys_per_lookup)
            for row in self.db.execute(
                f"""SELECT b.key, s.id, s.text, s.first_article_id, s.first_position FROM boilerplate_bands b
                    JOIN site_boilerplate s ON s.id = b.boilerplate_id
                    WHERE b.key IN ({_marks(chunk)})""",
                list(chunk),
            )
        ]

    def paragraphs_of(self, article_id: int) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT position, text FROM paragraphs WHERE article_id = ? ORDER BY position", [article_id]
        ).fetchall()

    # --- writes ---------------------------------------------------------------

    def rekey_articles(self, old_scheme: str) -> None:
        """Rebuild the article LSH keys from the stored signatures, for a
        database indexed under ``old_scheme``, which differs in the article
        bands alone: signatures and paragraph keys stay valid."""
        rows = self.db.execute("SELECT article_id, signature FROM article_keys").fetchall()
        logger.info("Re-keying %d articles from %s to %s", len(rows), old_scheme, self.config.scheme)
        self.db.execute("DELETE FROM article_bands")
        for article_id, signature in rows:
            if signature is None:  # indexed before signatures were kept (schema version 4)
                paragraphs = [text for _, text in self.paragraphs_of(article_id)]
                self._set_signature(article_id, self.config.article_signature(paragraphs), replace=False)
            else:
                self._set_signature(article_id, signature_from_bytes(signature), replace=False)

    def index_unindexed(self) -> None:
        """Index the articles stored before the index existed (schema version
        1). Their paragraph positions are their order in the stored text:
        version 1 kept no other."""
        unindexed = self.db.execute(
            "SELECT id, source, text FROM articles WHERE id NOT IN (SELECT article_id FROM article_keys)"
        ).fetchall()
        for article_id, source, text in unindexed:
            texts = text.split("\n\n")
            paragraphs = [(i, t, self.config.paragraph_keys(t, source)) for i, t in enumerate(texts)]
            self.index_article(article_id, self.config.article_signature(texts), paragraphs, replace=False)

    def index_article(
        self,
        article_id: int,
        signature: np.ndarray | None,
        paragraphs: Iterable[tuple[int, str, Sequence[int]]],
        *,
        replace: bool,
        article_keys: Sequence[int] | None = None,
    ) -> None:
        """Index an article: its kept paragraphs ``(position, text, keys)`` and
        its signature, with its LSH keys if computed already. ``replace``:
        the article was indexed before."""
        if replace:
            self.unindex_article(article_id)
        rows = [(article_id, position, text, pack_keys(keys)) for position, text, keys in paragraphs]
        self.db.conn.executemany("INSERT INTO paragraphs (article_id, position, text, keys) VALUES (?, ?, ?, ?)", rows)
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO paragraph_bands (key, article_id, position) VALUES (?, ?, ?)",
            [(key, article_id, position) for _, position, _, blob in rows for key in unpack_keys(blob)],
        )
        self._set_signature(article_id, signature, replace=False, keys=article_keys)

    def unindex_article(self, article_id: int) -> None:
        for position, blob in self.db.execute(
            "SELECT position, keys FROM paragraphs WHERE article_id = ?", [article_id]
        ).fetchall():
            self._delete_paragraph_bands(article_id, position, unpack_keys(blob))
        self.db.execute("DELETE FROM paragraphs WHERE article_id = ?", [article_id])
        self._set_signature(article_id, None, replace=True)

    def add_boilerplate(
        self, source: str, found: NewBoilerplate, run_id: int | None, at: str
    ) -> int:
        record = {
            "source": source,
            "text": found.text,
            "first_article_id": found.first_article,
            "first_position": found.first_position,
            "run_id": run_id,
            "found_at": at,
        }
        boilerplate_id = self.db["site_boilerplate"].insert(record, alter=False).last_pk
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO boilerplate_bands (key, boilerplate_id) VALUES (?, ?)",
            [(key, boilerplate_id) for key in found.keys],
        )
        return boilerplate_id

    def drop_paragraph(self, holder: Holder, run_id: int | None, at: str) -> bool:
        """Take a paragraph out of a stored article: out of the index, and out
        of the article's text, which is then a change that run made (readers
        see it). False if the article no longer holds it."""
        row = self.db.execute(
            "SELECT keys FROM paragraphs WHERE article_id = ? AND position = ?", [holder.article_id, holder.position]
        ).fetchone()
        if row is None:
            return False
        self._delete_paragraph_bands(holder.article_id, holder.position, unpack_keys(row[0]))
        self.db.execute(
            "DELETE FROM paragraphs WHERE article_id = ? AND position = ?", [holder.article_id, holder.position]
        )
        texts = [text for _, text in self.paragraphs_of(holder.article_id)]
        text = "\n\n".join(texts)
        self.db.execute(
            "UPDATE articles SET text = ?, content_hash = ?, changed_at = ?, run_id = ?, change_seq = ? WHERE id = ?",
            [text, content_hash(text), at, run_id, next_change(self.db), holder.article_id],
        )
        self._set_signature(holder.article_id, self.config.article_signature(texts), replace=True)
        return True

    def _delete_paragraph_bands(self, article_id: int, position: int, keys: Sequence[int]) -> None:
        self.db.conn.executemany(
            "DELETE FROM paragraph_bands WHERE key = ? AND article_id = ? AND position = ?",
            [(key, article_id, position) for key in keys],
        )

    def _set_signature(
        self, article_id: int, signature: np.ndarray | None, *, replace: bool, keys: Sequence[int] | None = None
    ) -> None:
        """Record an article's signature and its LSH keys, in place of the old ones."""
        if replace:
            row = self.db.execute("SELECT keys FROM article_keys WHERE article_id = ?", [article_id]).fetchone()
            if row:
                self.db.conn.executemany(
                    "DELETE FROM article_bands WHERE key = ? AND article_id = ?",
                    [(key, article_id) for key in unpack_keys(row[0])],
                )
        if keys is None:
            keys = self.config.article_keys(signature)
        self.db.execute(
            "INSERT OR REPLACE INTO article_keys (article_id, keys, signature) VALUES (?, ?, ?)",
            [article_id, pack_keys(keys), None if signature is None else signature.tobytes()],
        )
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO article_bands (key, article_id) VALUES (?, ?)", [(key, article_id) for key in keys]
        )
