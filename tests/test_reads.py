"""crawler.storage.reads: what a crawl looks up in its database."""

from __future__ import annotations

from crawler.storage import reads

ARTICLE = (
    "INSERT INTO articles (url, source, text, content_hash, first_seen, last_seen) "
    "VALUES (?, 'gazette', 'Some text.', ?, '2024-05-01T10:00:00.000Z', '2024-05-01T10:00:00.000Z')"
)
FETCH = "INSERT INTO fetches (url, etag, last_modified, body_hash, fetched_at) VALUES (?, ?, ?, ?, ?)"
ARTICLE_URL = "INSERT INTO article_urls (url, article_id, how, seen_at) VALUES (?, ?, 'fetched', '2024-05-01T10:00:00.000Z')"



def test_previous_fetch_returns_what_was_written(fresh_db):
    db = fresh_db.begin()
    modified = "Wed, 01 May 2024 09:00:00 GMT"
    db.execute(FETCH, ["https://example.org/amp/a", '"v1"', modified, "abc", "2024-05-01T10:00:00.000Z"])
    article_id = db.execute(ARTICLE, ["https://example.org/a", "hash-a"]).lastrowid
    db.execute(ARTICLE_URL, ["https://example.org/amp/a", article_id])
    db.execute(FETCH, ["https://example.org/skipped", None, None, "def", "2024-05-02T10:00:00.000Z"])

    previous = reads.previous_fetches(fresh_db.open(), ["https://example.org/amp/a"]).get("https://example.org/amp/a")
    assert previous.fetch.etag == '"v1"'
    assert previous.fetch.last_modified == modified
    assert previous.fetch.body_hash == "abc"
    assert previous.fetched_at == "2024-05-01T10:00:00.000Z"
    assert previous.is_article
    assert reads.previous_fetches(fresh_db.open(), ["https://example.org/skipped"]).get("https://example.org/skipped").is_article is False
    assert reads.previous_fetches(fresh_db.open(), ["https://example.org/never"]).get("https://example.org/never") is None


def test_stored_article_returns_id_and_hash(fresh_db):
    db = fresh_db.begin()
    article_id = db.execute(ARTICLE, ["https://example.org/a", "hash-a"]).lastrowid

    stored = reads.stored_article(fresh_db.open(), "https://example.org/a")
    assert (stored.id, stored.content_hash) == (article_id, "hash-a")
    assert reads.stored_article(fresh_db.open(), "https://example.org/b") is None
