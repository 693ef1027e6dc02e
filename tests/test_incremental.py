"""crawler.incremental.Incremental: each reason a document is found unchanged."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.incremental import Incremental, body_hash, file_version
from crawler.items import Article, Fetch, Paragraph, content_hash
from crawler.storage import reads

URL = "https://gazette.example/news/library-reopens"
BODY = b"<html><body><p>The library reopened on Saturday.</p></body></html>"
FETCHED_AT = "2024-05-01T10:00:00.000Z"
TEXT = [
    "The Harbourside public library reopened on Saturday after an eighteen-month renovation of its roof.",
    "Volunteers spent the final week reshelving sixty thousand volumes by hand before the doors opened.",
]


def remember_fetch(database, url=URL, *, etag=None, body=BODY, fetched_at=FETCHED_AT):
    database.begin().execute(
        "INSERT INTO fetches (url, etag, body_hash, fetched_at) VALUES (?, ?, ?, ?)",
        [url, etag, body_hash(body), fetched_at],
    )


def store_text(database, paragraphs, url=URL):
    text = "\n\n".join(paragraphs)
    database.begin().execute(
        "INSERT INTO articles (url, source, text, content_hash, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
        [url, "gazette.example", text, content_hash(text), FETCHED_AT, FETCHED_AT],
    )


def article(paragraphs, url=URL):
    paragraphs = [Paragraph(i, text) for i, text in enumerate(paragraphs)]
    return Article(url=url, kind="html", source="gazette.example", paragraphs=paragraphs)


def response(status=200, body=BODY, url=URL):
    return HtmlResponse(url, status=status, body=body, request=Request(url))


@pytest.fixture
def incremental(fresh_db):
    return Incremental(enabled=True, database=fresh_db)


@pytest.fixture
def disabled(fresh_db):
    return Incremental(enabled=False, database=fresh_db)


def test_304_is_not_modified(incremental):
    unchanged = incremental.unchanged_response(response(status=304, body=b""), Fetch(body_hash=body_hash(b"")))
    assert (unchanged.url, unchanged.reason) == (URL, "not-modified")


def test_body_last_downloaded_is_same_body(incremental, fresh_db):
    remember_fetch(fresh_db)
    fetch = Fetch(etag='"v2"', body_hash=body_hash(BODY))
    unchanged = incremental.unchanged_response(response(), fetch)
    assert unchanged.reason == "same-body"
    assert unchanged.fetch is fetch  # the new validators are kept


def test_new_body_is_not_unchanged(incremental, fresh_db):
    remember_fetch(fresh_db)
    new_body = BODY.replace(b"Saturday", b"Sunday")
    assert incremental.unchanged_response(response(body=new_body), Fetch(body_hash=body_hash(new_body))) is None


def test_first_download_is_not_unchanged(incremental):
    assert incremental.unchanged_response(response(), Fetch(body_hash=body_hash(BODY))) is None


def test_entry_dated_before_last_fetch_is_listed_unchanged(incremental, fresh_db):
    remember_fetch(fresh_db)
    unchanged = incremental.unchanged_entry(URL, "2024-04-30T22:15:00Z")
    assert (unchanged.url, unchanged.reason) == (URL, "listed-unchanged")


def test_entry_dated_in_the_second_of_last_fetch_is_listed_unchanged(incremental, fresh_db):
    remember_fetch(fresh_db, fetched_at="2024-05-01T10:00:00.500Z")
    unchanged = incremental.unchanged_entry(URL, "2024-05-01T10:00:00Z")
    assert unchanged is not None and unchanged.reason == "listed-unchanged"


def test_entry_dated_after_last_fetch_is_not_unchanged(incremental, fresh_db):
    remember_fetch(fresh_db)
    assert incremental.unchanged_entry(URL, "2024-05-01T11:00:00Z") is None


def test_undated_entry_is_not_unchanged(incremental, fresh_db):
    remember_fetch(fresh_db)
    assert incremental.unchanged_entry(URL, None) is None


def test_entry_never_fetched_is_not_unchanged(incremental):
    assert incremental.unchanged_entry(URL, "2020-01-01T00:00:00Z") is None


def test_file_of_same_size_and_mtime_is_same_file(incremental, fresh_db):
    url = "file:///data/articles/library.txt"
    remember_fetch(fresh_db, url, etag=file_version(1200, 1714557600000000000))
    assert incremental.unchanged_file(url, file_version(1200, 1714557600000000000)).reason == "same-file"
    assert incremental.unchanged_file(url, file_version(1200, 1714557700000000000)) is None


def test_article_with_stored_text_is_same_text(incremental, fresh_db):
    store_text(fresh_db, TEXT)
    item = article(TEXT)
    item.fetch = Fetch(body_hash="new-page")
    unchanged = incremental.unchanged_text(item, reads.stored_article(fresh_db.open(), item.url))
    assert unchanged.reason == "same-text"
    assert unchanged.fetch is item.fetch


def test_article_with_edited_text_is_not_same_text(incremental, fresh_db):
    store_text(fresh_db, TEXT)
    edited = article([TEXT[0], TEXT[1].replace("sixty", "seventy")])
    assert incremental.unchanged_text(edited, reads.stored_article(fresh_db.open(), edited.url)) is None


def test_disabled_never_finds_fetch_level_unchanged(disabled, fresh_db):
    file_url = "file:///data/articles/library.txt"
    remember_fetch(fresh_db)
    remember_fetch(fresh_db, file_url, etag="1200-1")
    assert disabled.previous_fetch(URL) is None
    assert disabled.unchanged_response(response(), Fetch(body_hash=body_hash(BODY))) is None
    assert disabled.unchanged_entry(URL, "2020-01-01T00:00:00Z") is None
    assert disabled.unchanged_file(file_url, "1200-1") is None


def test_disabled_still_finds_same_text(disabled, fresh_db):
    store_text(fresh_db, TEXT)
    item = article(TEXT)
    assert disabled.unchanged_text(item, reads.stored_article(fresh_db.open(), item.url)).reason == "same-text"
