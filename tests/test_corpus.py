"""crawler.storage.corpus: the MinHash scheme an index is built with, and indexing
articles stored before there was an index."""

from __future__ import annotations

import pytest

from crawler.items import content_hash
from crawler.storage.connection import now
from crawler.storage.corpus import CorpusIndex, SchemeMismatch, open_index
from pipelines.fingerprints import MinhashConfig
from tests.test_cross_dedup import BUS, LIBRARY

EIGHT = MinhashConfig(min_words=8)
TEN = MinhashConfig(min_words=10)


def recorded_scheme(database) -> str | None:
    row = database.open().execute("SELECT value FROM meta WHERE key = 'minhash_scheme'").fetchone()
    return row[0] if row else None


def store_unindexed(database, url: str, paragraphs: list[str]) -> int:
    """An article as schema version 1 stored it: a row, no index entries."""
    text = "\n\n".join(paragraphs)
    with database.transaction() as db:
        return db.execute(
            "INSERT INTO articles (url, source, text, content_hash, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
            [url, "gazette", text, content_hash(text), now(), now()],
        ).lastrowid


def reopen_index(database, config: MinhashConfig) -> None:
    """:func:`open_index` as the next crawl's Database does: the first
    opening in a crawl is the only one."""
    database.index_scheme = None
    open_index(database, config)


def count(database, table: str) -> int:
    return database.open().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_open_index_records_the_scheme_on_an_empty_database(fresh_db):
    fresh_db.open().execute("DELETE FROM meta")
    open_index(fresh_db, TEN)
    assert recorded_scheme(fresh_db) == TEN.scheme


def test_empty_index_adopts_a_new_scheme(fresh_db):
    open_index(fresh_db, EIGHT)
    reopen_index(fresh_db, TEN)
    assert recorded_scheme(fresh_db) == TEN.scheme
    assert recorded_scheme(fresh_db).endswith("/minwords10")


def test_index_built_with_other_min_words_is_refused(fresh_db):
    open_index(fresh_db, EIGHT)
    store_unindexed(fresh_db, "https://gazette.example/library", LIBRARY)
    reopen_index(fresh_db, EIGHT)  # indexes it
    assert count(fresh_db, "article_keys") == 1

    with pytest.raises(SchemeMismatch, match="SIEVE_REPEAT_MIN_WORDS"):
        reopen_index(fresh_db, TEN)
    assert recorded_scheme(fresh_db) == EIGHT.scheme
    assert not fresh_db.open().conn.in_transaction


def test_index_unindexed_indexes_articles_without_keys(fresh_db):
    open_index(fresh_db, EIGHT)
    library = store_unindexed(fresh_db, "https://gazette.example/library", LIBRARY)
    bus = store_unindexed(fresh_db, "https://gazette.example/bus", BUS)

    reopen_index(fresh_db, EIGHT)

    db = fresh_db.open()
    assert {row[0] for row in db.execute("SELECT article_id FROM article_keys")} == {library, bus}
    index = CorpusIndex(db, EIGHT)
    assert index.paragraphs_of(library) == list(enumerate(LIBRARY))
    signature = EIGHT.article_signature(LIBRARY)
    assert [row[0] for row in index.similar_articles(EIGHT.article_keys(signature), exclude=None)] == [library]


def test_index_unindexed_leaves_indexed_articles_alone(fresh_db):
    open_index(fresh_db, EIGHT)
    store_unindexed(fresh_db, "https://gazette.example/library", LIBRARY)
    reopen_index(fresh_db, EIGHT)
    paragraphs = count(fresh_db, "paragraphs")

    reopen_index(fresh_db, EIGHT)

    assert count(fresh_db, "paragraphs") == paragraphs == len(LIBRARY)


def test_index_with_the_old_article_bands_is_rekeyed_from_its_signatures(fresh_db):
    old = MinhashConfig(min_words=8, article_bands=20, article_rows=6)
    open_index(fresh_db, old)
    library = store_unindexed(fresh_db, "https://gazette.example/library", LIBRARY)
    reopen_index(fresh_db, old)  # indexes it under the old bands

    reopen_index(fresh_db, EIGHT)

    assert recorded_scheme(fresh_db) == EIGHT.scheme
    assert count(fresh_db, "article_bands") == EIGHT.article_bands
    index = CorpusIndex(fresh_db.open(), EIGHT)
    keys = EIGHT.article_keys(EIGHT.article_signature(LIBRARY))
    assert [row[0] for row in index.similar_articles(keys, exclude=None)] == [library]


def test_lookup_with_more_keys_than_sqlite_takes_in_one_statement_finds_every_match(fresh_db):
    import sqlite3

    open_index(fresh_db, EIGHT)
    library = store_unindexed(fresh_db, "https://gazette.example/library", LIBRARY)
    db = fresh_db.open()
    keyed = [(position, text, EIGHT.paragraph_keys(text, "gazette")) for position, text in enumerate(LIBRARY)]
    with fresh_db.transaction():
        CorpusIndex(db, EIGHT).index_article(library, EIGHT.article_signature(LIBRARY), keyed, replace=False)
    # A long article's keys, most matching nothing; its own come last.
    keys = [*range(1, 500), *(key for _, _, paragraph_keys in keyed for key in paragraph_keys)]
    expected = sorted(CorpusIndex(db, EIGHT).paragraph_candidates(keys, exclude=None))

    db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)

    found = sorted(CorpusIndex(db, EIGHT).paragraph_candidates(keys, exclude=None))
    assert found == expected
    assert {(article, position) for _, article, position, _, _ in found} == {(library, p) for p in range(len(LIBRARY))}
    assert CorpusIndex(db, EIGHT).known_boilerplate(keys) == []


def test_index_is_opened_once_per_crawl_whichever_stages_ask(fresh_db):
    open_index(fresh_db, EIGHT)  # cross-document dedup, as it is built
    store_unindexed(fresh_db, "https://gazette.example/library", LIBRARY)

    open_index(fresh_db, EIGHT)  # the store stage: no second transaction, no second scan

    assert count(fresh_db, "article_keys") == 0
